"""String formats checked as JSON Schema defines them, before pydantic converts the value.

pydantic is lax about the types the model generator picks for formats, even
in strict mode: a ``date`` takes ``"86400"`` (a Unix time) and
``"2024-01-01T00:00:00Z"``, a ``date-time`` takes ``"0"`` and ``"2024-01-01"``,
a ``UUID`` takes 32 hex digits without dashes. A document says
``format: date`` and means RFC 3339's full-date. So each model's own JSON
Schema (which names the format of each such field) is compiled once into a
plan of where formatted strings sit, and the received values there are
checked as written, identically for every parameter location, an HTTP body
and a message's payload.
``uri`` is left to pydantic, whose type for it is strict. ``email`` and
``idn-email`` are checked here whatever the type: generated models type them
``str`` (pydantic's ``EmailStr`` would import email-validator, which reads
neither RFC's mailbox), and a hand-written ``EmailStr`` still takes a
display name (``Bob <bob@b.example>``) and keeps the mailbox inside it.
"""

from __future__ import annotations

import datetime
import functools
import ipaddress
import json
import re
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.errors import PydanticInvalidForJsonSchema

from microlib.core.errors import FieldViolation

__all__ = ["FormatPlan", "format_plan", "refuses"]

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIME = r"[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
_FULL_TIME = re.compile(_TIME)
_DATE_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt]" + _TIME)
# RFC 3339 appendix A: weeks alone, or date and time parts, each with at least one number.
_DURATION = re.compile(
    r"P(?:[0-9]+W|(?=[0-9]|T[0-9])(?:[0-9]+Y)?(?:[0-9]+M)?(?:[0-9]+D)?"
    r"(?:T(?=[0-9])(?:[0-9]+H)?(?:[0-9]+M)?(?:[0-9]+S)?)?)"
)
_IPV4_LITERAL = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _date(text: str) -> bool:
    if not _DATE.fullmatch(text):
        return False
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _time(text: str) -> bool:
    if not _FULL_TIME.fullmatch(text):
        return False
    try:
        datetime.time.fromisoformat(text.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _date_time(text: str) -> bool:
    return bool(_DATE_TIME.fullmatch(text)) and _date(text[:10]) and _time(text[11:])


@functools.cache
def _mailbox_pattern(utf8: bool) -> re.Pattern[str]:
    """RFC 5321's Mailbox (section 4.1.2); with ``utf8``, RFC 6531's (section 3.3), whose atoms,
    quoted strings and labels also take every non-ASCII character. Compiled at its first
    check: most services declare no email."""
    # A negated class: a positive one of a million code points takes sre 20 ms to compile.
    # The surrogates are left out: no UTF-8 text holds one.
    wide = r"|[^\x00-\x7f\ud800-\udfff]" if utf8 else ""
    atom = rf"(?:[A-Za-z0-9!#$%&'*+/=?^_`{{|}}~-]{wide})+"
    quoted = rf'"(?:[ !#-\[\]-~]{wide}|\\[ -~])*"'
    let_dig, ldh = rf"(?:[A-Za-z0-9]{wide})", rf"(?:[A-Za-z0-9-]{wide})"
    label = rf"{let_dig}(?:{ldh}{{0,61}}{let_dig})?"
    return re.compile(
        rf"(?P<local>{atom}(?:\.{atom})*|{quoted})@"
        rf"(?:(?P<domain>{label}(?:\.{label})*)|\[(?P<literal>[^\[\]]*)\])"
    )


def _mailbox(utf8: bool) -> Callable[[str], bool]:
    def check(text: str) -> bool:
        found = _mailbox_pattern(utf8).fullmatch(text)
        # Section 4.5.3.1: 64 octets of local part, 256 of path ("<" and ">" included),
        # which leaves the domain's 255 no room to matter.
        if found is None or len(text.encode()) > 254 or len(found["local"].encode()) > 64:
            return False
        literal = found["literal"]
        if literal is None:
            return found["domain"].isascii() or _u_labels(found["domain"])
        # Section 4.1.3: the only standardized tag of a general address literal is IPv6.
        if literal[:5].lower() == "ipv6:":
            return _ipv6(literal[5:])
        return bool(_IPV4_LITERAL.fullmatch(literal)) and all(int(n) < 256 for n in literal.split("."))

    return check


def _u_labels(domain: str) -> bool:
    """Whether each non-ASCII label of ``domain`` is an IDNA2008 U-label (RFC 6531 section 3.3,
    RFC 5890 section 2.3.2.1): code points, normalization, hyphens, joiners and direction.

    ``idna`` loads at the first such domain, so a service with no ``idn-email`` never pays
    for its tables.
    """
    import idna

    try:
        for label in domain.split("."):
            if not label.isascii():
                idna.alabel(label)
    except UnicodeError:  # idna.IDNAError is one
        return False
    return True


def _address(kind: Callable[[str], Any]) -> Callable[[str], bool]:
    def check(text: str) -> bool:
        # A zone index (fe80::1%eth0) is no part of RFC 4291's text form.
        if "%" in text:
            return False
        try:
            kind(text)
        except ValueError:
            return False
        return True

    return check


_ipv6 = _address(ipaddress.IPv6Address)

_CHECKS: dict[str, Callable[[str], bool]] = {
    "date": _date,
    "date-time": _date_time,
    "time": _time,
    "duration": lambda text: bool(_DURATION.fullmatch(text)),
    "uuid": lambda text: bool(_UUID.fullmatch(text)),
    "ipv4": _address(ipaddress.IPv4Address),
    "ipv6": _ipv6,
    "email": _mailbox(utf8=False),
    "idn-email": _mailbox(utf8=True),
}
_EXAMPLES = {
    "date": "2024-02-29",
    "date-time": "2024-02-29T10:00:00Z",
    "time": "10:00:00Z",
    "duration": "P1DT2H",
    "uuid": "6a4c6b4e-3b1c-4c2d-9d47-8f5b2f3f4a11",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "email": "bob@b.example",
    "idn-email": "jörg@b.example",
}


def refuses(fmt: str, text: str) -> bool:
    """Whether a served value ``text`` breaks ``fmt`` as microlib holds it: the formats checked
    here, and ``uri`` by the strict type the models give it (pydantic's ``AnyUrl``). A format
    microlib does not check refuses nothing."""
    if fmt == "uri":
        try:
            _uri().validate_python(text, strict=True)
        except ValidationError:
            return True
        return False
    check = _CHECKS.get(fmt)
    return check is not None and not check(text)


@functools.cache
def _uri() -> TypeAdapter[Any]:
    # Built at the first check (codegen's, of a default): a service that loads this module would
    # otherwise build pydantic's URL schema, and import pydantic.networks, at every start.
    from pydantic import AnyUrl

    return TypeAdapter(AnyUrl)


# A compiled schema: a format name; ("object", properties, additional); ("array", items);
# ("ref", name), resolved at check time so recursive schemas compile; or None (nothing to check).
_Node = Any


class FormatPlan:
    """Where the formatted strings of one model's input are, and their formats."""

    def __init__(self, root: _Node, defs: Mapping[str, _Node]) -> None:
        self._root = root
        self._defs = defs

    def violations(
        self,
        data: Any,
        root: str,
        names: Mapping[str, str] | None = None,
        besides: Collection[FieldViolation] = (),
    ) -> list[FieldViolation]:
        """The values of ``data`` that break their format.

        Args:
            data: The input as received (decoded JSON, or a location's parameters).
            root: The name of the document: ``body``, or the location (``query``).
            names: Top-level key -> declared parameter name, for a location.
            besides: What pydantic reported when it refused ``data``: a field named there
                is not reported again, so one answer names every bad field once.

        Returns:
            One violation per bad value, named by path (``body.dates[1]``, ``header.X-Trace-Id``).
        """
        out = []
        reported = {v.field for v in besides}
        for path, fmt, value in self._walk(self._root, data, (), 0):
            head, rest = (path[0], path[1:]) if path else ("", ())
            if names is not None and isinstance(head, str):
                head = names.get(head, head)
            parts = ([head] if path else []) + list(rest)
            text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)
            if f"{root}{text}" in reported:
                continue
            shown = repr(value)[:80]
            out.append(
                FieldViolation(
                    f"{root}{text}",
                    f"Input should be a valid {fmt} as JSON Schema defines it, such as "
                    f"{_EXAMPLES[fmt]!r} (received {shown})",
                    f"format.{fmt}",
                )
            )
        return out

    def refused_json_violations(
        self, raw: bytes, root: str, besides: Collection[FieldViolation]
    ) -> list[FieldViolation]:
        """``violations`` of JSON text that pydantic refused, reported ``besides``: none when
        the text is no JSON at all."""
        try:
            data = json.loads(raw)
        except ValueError:
            return []
        return self.violations(data, root, besides=besides)

    def _walk(
        self, node: _Node, value: Any, path: tuple[str | int, ...], depth: int
    ) -> Iterator[tuple[tuple[str | int, ...], str, Any]]:
        while isinstance(node, tuple) and node[0] == "ref":
            node = self._defs.get(node[1])
        if node is None or depth > 200:
            return
        if isinstance(node, str):
            if isinstance(value, str) and not _CHECKS[node](value):
                yield path, node, value
        elif node[0] == "object" and isinstance(value, dict):
            _, properties, additional = node
            for key, item in value.items():
                inner = properties.get(key, additional if key not in properties else None)
                yield from self._walk(inner, item, (*path, key), depth + 1)
        elif node[0] == "array" and isinstance(value, list):
            for index, item in enumerate(value):
                yield from self._walk(node[1], item, (*path, index), depth + 1)


@functools.cache
def format_plan(model: Any) -> FormatPlan | None:
    """The plan of ``model``'s input, or None when it has no format microlib checks.

    Made at the first request that needs it, then remembered: a model's
    JSON Schema costs pydantic more to write than the rest of an
    operation's set-up, which every process start would otherwise pay for
    every operation.

    Args:
        model: A generated model (a body, a parameter location's, a message's
            payload), or another type pydantic validates.
    """
    if isinstance(model, type) and issubclass(model, BaseModel):
        schema = model.model_json_schema()
    else:
        try:
            schema = TypeAdapter(model).json_schema()
        except PydanticInvalidForJsonSchema:
            return None  # a type no JSON Schema describes declares no format either
    defs = {name: _compile(sub) for name, sub in schema.get("$defs", {}).items()}
    root = _compile(schema)
    # The definitions that hold a formatted string, however deep (a fixed point: schemas recurse).
    live: set[str] = set()
    while True:
        more = {name for name, node in defs.items() if name not in live and _holds(node, live)}
        if not more:
            break
        live |= more
    if not _holds(root, live):
        return None
    return FormatPlan(root, {name: defs[name] for name in live})


def _holds(node: _Node, live: set[str]) -> bool:
    if node is None or isinstance(node, str):
        return node is not None
    if node[0] == "ref":
        return bool(node[1] in live)
    if node[0] == "array":
        return _holds(node[1], live)
    return any(_holds(n, live) for n in node[1].values()) or _holds(node[2], live)


def _compile(schema: Any) -> _Node:
    if not isinstance(schema, dict):
        return None
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return ("ref", ref.removeprefix("#/$defs/"))
    fmt = schema.get("format")
    if isinstance(fmt, str) and fmt in _CHECKS:
        return fmt
    members: list[Any] = schema.get("anyOf") or schema.get("oneOf") or []
    if members:
        # A union: checked only where one member alone holds the formatted strings
        # (`date | null`); with several, pydantic picks the member.
        found = [b for b in map(_compile, members) if b is not None]
        plain = any(_is_plain_string(s) for s in members)
        return found[0] if len(found) == 1 and not plain else None
    properties = {k: _compile(v) for k, v in (schema.get("properties") or {}).items()}
    additional = _compile(schema.get("additionalProperties"))
    if any(properties.values()) or additional is not None:
        return ("object", {k: v for k, v in properties.items() if v is not None}, additional)
    items = _compile(schema.get("items"))
    if items is not None:
        return ("array", items)
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return _compile(schema["allOf"][0])
    return None


def _is_plain_string(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("type") == "string" and "format" not in schema
