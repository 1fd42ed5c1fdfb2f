"""Deserialize OpenAPI parameters by style and explode.

Each location's raw strings are turned into the shape the parameter's schema
declares (a scalar, a list, an object) and scalars are cast by their
declared type, so the generated location model validates real values. A
value that cannot be cast is reported with the parameter's path.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, unquote_plus

from microlib.core.errors import FieldViolation
from microlib.http._path_escapes import escape_violation

if TYPE_CHECKING:
    from microlib.http._openapi_model import Parameter

__all__ = ["CastError", "cast", "parse_location", "parse_query"]

_INT = re.compile(r"-?[0-9]+")
_COMMA = re.compile(",")
# A space can only travel encoded; a pipe may come either way.
_SEPARATORS = {"spaceDelimited": re.compile(r"%20|\+| "), "pipeDelimited": re.compile(r"\||%7[cC]")}
Decode = Callable[[str], str]
# The spellings openapi-core (and most clients) accept for a boolean parameter.
_TRUE = frozenset({"true", "t", "yes", "y", "on", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "off", "0"})


class CastError(Exception):
    """A value that is not of its declared type; ``violation`` names it."""

    def __init__(self, field: str, value: str, expected: str, rule: str = "type") -> None:
        super().__init__(field)
        self.violation = FieldViolation(field, f"Input should be {expected} (received {value!r})", rule)


def cast(value: str, scalar: str, field: str) -> Any:
    """Cast one raw string to the JSON type ``scalar``.

    Args:
        value: The raw text.
        scalar: ``integer``, ``number``, ``boolean``, ``string`` or ``""``.
        field: The parameter path, for the error.

    Returns:
        The cast value (the string itself for strings and unknown types).

    Raises:
        CastError: The text is not a value of that type.
    """
    if scalar == "integer":
        if _INT.fullmatch(value):
            return int(value)
    elif scalar == "number":
        try:
            number = float(value)
        except ValueError:
            pass
        else:
            if number == number and number not in (float("inf"), float("-inf")):
                return int(value) if _INT.fullmatch(value) else number
    elif scalar == "boolean":
        lowered = value.lower()
        if lowered in _TRUE or lowered in _FALSE:
            return lowered in _TRUE
    else:
        return value
    raise CastError(field, value, f"a valid {scalar}")


def _pairs(items: Sequence[str], p: Parameter, field: str, dec: Decode) -> dict[str, Any]:
    if len(items) % 2:
        raise CastError(field, dec(",".join(items)), "a valid object")
    out: dict[str, Any] = {}
    for k, v in zip(items[::2], items[1::2], strict=True):
        key = dec(k)
        out[key] = cast(dec(v), p.properties.get(key, ""), f"{field}.{key}")
    return out


def _kv(items: Sequence[str], p: Parameter, field: str, dec: Decode) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        k, sep, v = item.partition("=")
        if not sep:
            raise CastError(field, dec(item), "a valid object")
        key = dec(k)
        out[key] = cast(dec(v), p.properties.get(key, ""), f"{field}.{key}")
    return out


def _items(items: Sequence[str], p: Parameter, field: str, dec: Decode) -> list[Any]:
    return [cast(dec(v), p.scalar, f"{field}[{i}]") for i, v in enumerate(items)]


def _simple(raw: str, p: Parameter, field: str, dec: Decode) -> Any:
    """``simple`` (path, header) and the value part of ``label``/``matrix``.

    Values are split on the raw delimiter before they are decoded, so an
    encoded ``%2C`` stays inside one item (RFC 6570).
    """
    if p.shape == "primitive":
        return cast(dec(raw), p.scalar, field)
    items = raw.split(",") if raw else []
    if p.shape == "array":
        return _items(items, p, field, dec)
    return _kv(items, p, field, dec) if p.explode else _pairs(items, p, field, dec)


def _path_value(raw: str, p: Parameter, field: str) -> Any:
    dec = unquote
    if p.style == "label":
        if p.shape == "primitive":
            return cast(dec(raw[1:]), p.scalar, field)
        parts = raw[1:].split(".") if p.explode else raw[1:].split(",")
        if p.shape == "array":
            return _items(parts, p, field, dec)
        return _kv(parts, p, field, dec) if p.explode else _pairs(parts, p, field, dec)
    if p.style == "matrix":
        chunks = raw[1:].split(";")
        if p.shape == "object" and p.explode:
            return _kv(chunks, p, field, dec)
        values = [c.partition("=")[2] for c in chunks if dec(c.partition("=")[0]) == p.name]
        if not values:
            raise CastError(field, dec(raw), f"a valid {p.shape if p.shape != 'primitive' else p.scalar}")
        if p.shape == "array" and p.explode:
            return _items(values, p, field, dec)
        return _simple(values[0], p, field, dec)
    return _simple(raw, p, field, dec)


def parse_query(query_string: bytes) -> dict[str, list[str]]:
    """Split a query string into decoded names and still-encoded values.

    Args:
        query_string: The raw query string of the request.

    Returns:
        Name -> raw values, in order.
    """
    out: dict[str, list[str]] = {}
    for pair in query_string.decode("latin-1").split("&"):
        if not pair:
            continue
        name, _sep, value = pair.partition("=")
        out.setdefault(unquote_plus(name), []).append(value)
    return out


def _query_value(query: Mapping[str, list[str]], p: Parameter, field: str, used: set[str]) -> Any:
    dec = unquote_plus
    if p.style == "deepObject":
        prefix = p.name + "["
        found = {k[len(prefix) : -1]: v for k, v in query.items() if k.startswith(prefix) and k.endswith("]")}
        if not found:
            return _MISSING
        used.update(f"{p.name}[{k}]" for k in found)
        return {k: cast(dec(v[-1]), p.properties.get(k, ""), f"{field}.{k}") for k, v in found.items()}
    if p.shape == "object" and p.explode:
        last = {k: v[-1] for k, v in query.items() if k in p.properties}
        used.update(last)
        return _exploded_object(last, p, field, dec)
    values = query.get(p.name)
    if values is None:
        return _MISSING
    used.add(p.name)
    if p.shape == "array":
        if p.explode:
            return _items(values, p, field, dec)
        # "name=" is an empty array.
        items = _SEPARATORS.get(p.style, _COMMA).split(values[-1]) if values[-1] else []
        return _items(items, p, field, dec)
    if not p.allow_empty and values[-1] == "":
        raise CastError(field, "", "a valid non-empty value", rule="empty")
    return _simple(values[-1], p, field, dec)


def _exploded_object(values: Mapping[str, str], p: Parameter, field: str, dec: Decode) -> Any:
    """An exploded object: each property a pair of its own (`R=100&G=200` in a query; in a cookie,
    `R=100; G=200`, as OpenAPI 3.2's `cookie` style writes it and its clients send `form`)."""
    found = {k: v for k, v in values.items() if k in p.properties}
    if not found:
        return _MISSING
    return {k: cast(dec(v), p.properties[k], f"{field}.{k}") for k, v in found.items()}


_MISSING = object()


def parse_location(
    location: str,
    params: Sequence[Parameter],
    raw: Mapping[str, Any],
    violations: list[FieldViolation],
    used: set[str] | None = None,
) -> dict[str, Any]:
    """Deserialize the parameters of one location into the model's input.

    Args:
        location: ``path``, ``query``, ``header`` or ``cookie``; or ``body``
            for a form body's fields, read as a query.
        params: That location's parameters.
        raw: Path values, the query (or form) multi-dict (name -> values),
            lower-cased headers, or cookies.
        violations: Where cast errors are appended.
        used: For the query, collects the keys consumed (strict mode).

    Returns:
        Input for the location model, keyed as the model's aliases.
    """
    out: dict[str, Any] = {}
    for p in params:
        field = f"{location}.{p.name}"
        try:
            if location == "query" or location == "body":
                value = _query_value(raw, p, field, used if used is not None else set())
            elif location == "cookie" and p.shape == "object" and p.explode:
                value = _exploded_object(raw, p, field, str)
            else:
                key = p.name.lower() if location == "header" else p.name
                text = raw.get(key)
                if text is None:
                    continue
                if location == "path":
                    if "%" in text and (refused := escape_violation(field, text)) is not None:
                        violations.append(refused)
                        continue
                    value = _path_value(text, p, field)
                else:
                    value = _simple(text, p, field, str)
        except CastError as exc:
            violations.append(exc.violation)
            continue
        if value is not _MISSING:
            out[p.name.lower() if location == "header" else p.name] = value
    return out
