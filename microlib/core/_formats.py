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
``uri`` is left to pydantic, whose type for it is strict, and so is an
``email``'s syntax but for the display name pydantic would take and drop.
"""

from __future__ import annotations

import datetime
import functools
import ipaddress
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.errors import PydanticInvalidForJsonSchema

from microlib.core.errors import FieldViolation

__all__ = ["FormatPlan", "format_plan"]

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIME = r"[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
_FULL_TIME = re.compile(_TIME)
_DATE_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt]" + _TIME)
# RFC 3339 appendix A: weeks alone, or date and time parts, each with at least one number.
_DURATION = re.compile(
    r"P(?:[0-9]+W|(?=[0-9]|T[0-9])(?:[0-9]+Y)?(?:[0-9]+M)?(?:[0-9]+D)?"
    r"(?:T(?=[0-9])(?:[0-9]+H)?(?:[0-9]+M)?(?:[0-9]+S)?)?)"
)
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


_CHECKS: dict[str, Callable[[str], bool]] = {
    "date": _date,
    "date-time": _date_time,
    "time": _time,
    "duration": lambda text: bool(_DURATION.fullmatch(text)),
    "uuid": lambda text: bool(_UUID.fullmatch(text)),
    "ipv4": _address(ipaddress.IPv4Address),
    "ipv6": _address(ipaddress.IPv6Address),
    # RFC 5321's mailbox, not RFC 5322's address: pydantic takes "Bob <bob@b.example>" and keeps
    # the mailbox inside the brackets; the rest of the mailbox's syntax is left to email-validator.
    "email": lambda text: "<" not in text,
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
}

# A compiled schema: a format name; ("object", properties, additional); ("array", items);
# ("ref", name), resolved at check time so recursive schemas compile; or None (nothing to check).
_Node = Any


class FormatPlan:
    """Where the formatted strings of one model's input are, and their formats."""

    def __init__(self, root: _Node, defs: Mapping[str, _Node]) -> None:
        self._root = root
        self._defs = defs

    def violations(
        self, data: Any, root: str, names: Mapping[str, str] | None = None
    ) -> list[FieldViolation]:
        """The values of ``data`` that break their format.

        Args:
            data: The input as received (decoded JSON, or a location's parameters).
            root: The name of the document: ``body``, or the location (``query``).
            names: Top-level key -> declared parameter name, for a location.

        Returns:
            One violation per bad value, named by path (``body.dates[1]``, ``header.X-Trace-Id``).
        """
        out = []
        for path, fmt, value in self._walk(self._root, data, (), 0):
            head, rest = (path[0], path[1:]) if path else ("", ())
            if names is not None and isinstance(head, str):
                head = names.get(head, head)
            parts = ([head] if path else []) + list(rest)
            text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)
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
    every operation. Ask for it before the model first validates: it also
    lets email-validator accept special-use domains.

    Args:
        model: A generated model (a body, a parameter location's, a message's
            payload), or another type pydantic validates.
    """
    # Builds a deferred model: its EmailStr imports email-validator.
    if isinstance(model, type) and issubclass(model, BaseModel):
        schema = model.model_json_schema()
    else:
        try:
            schema = TypeAdapter(model).json_schema()
        except PydanticInvalidForJsonSchema:
            return None  # a type no JSON Schema describes declares no format either
    _allow_special_use_domains()
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


def _allow_special_use_domains() -> None:
    """JSON Schema's ``email`` is RFC 5321's mailbox: ``a@b.test`` is one. email-validator
    (behind pydantic's EmailStr) also refuses special-use domains unless this list is
    emptied, as its documentation says to.

    Done when a model that declares an email has loaded email-validator (pydantic imports
    it where a model uses EmailStr), before that model validates anything (the plan is
    made first); importing it otherwise would cost every service's start its regular
    expressions, about half a bare Starlette app's start.
    """
    loaded = sys.modules.get("email_validator")
    if loaded is not None:
        loaded.SPECIAL_USE_DOMAIN_NAMES = []  # type: ignore[attr-defined]


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
