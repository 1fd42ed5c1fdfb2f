"""Deserialize OpenAPI parameters by style and explode.

Each location's raw strings are turned into the shape the parameter's schema
declares (a scalar, a list, an object) and scalars are cast by their
declared type, so the generated location model validates real values. A
value that cannot be cast is reported with the parameter's path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from microlib.core.errors import FieldViolation

if TYPE_CHECKING:
    from microlib.http.openapi import Parameter

__all__ = ["cast", "parse_location", "split_cookies"]

_INT = re.compile(r"-?[0-9]+")
_SEPARATORS = {"spaceDelimited": " ", "pipeDelimited": "|"}
# The spellings openapi-core (and most clients) accept for a boolean parameter.
_TRUE = frozenset({"true", "t", "yes", "y", "on", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "off", "0"})


class _Bad(Exception):
    def __init__(self, field: str, value: str, scalar: str, rule: str = "type") -> None:
        super().__init__(field)
        self.violation = FieldViolation(field, f"Input should be a valid {scalar} (received {value!r})", rule)


def cast(value: str, scalar: str, field: str) -> Any:
    """Cast one raw string to the JSON type ``scalar``.

    Args:
        value: The raw text.
        scalar: ``integer``, ``number``, ``boolean``, ``string`` or ``""``.
        field: The parameter path, for the error.

    Returns:
        The cast value (the string itself for strings and unknown types).

    Raises:
        _Bad: The text is not a value of that type.
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
    raise _Bad(field, value, scalar)


def _pairs(items: Sequence[str], p: Parameter, field: str) -> dict[str, Any]:
    if len(items) % 2:
        raise _Bad(field, ",".join(items), "object")
    return {
        k: cast(v, p.properties.get(k, ""), f"{field}.{k}")
        for k, v in zip(items[::2], items[1::2], strict=True)
    }


def _kv(items: Sequence[str], p: Parameter, field: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        k, sep, v = item.partition("=")
        if not sep:
            raise _Bad(field, item, "object")
        out[k] = cast(v, p.properties.get(k, ""), f"{field}.{k}")
    return out


def _simple(raw: str, p: Parameter, field: str) -> Any:
    """``simple`` (path, header) and the value part of ``label``/``matrix``."""
    if p.shape == "primitive":
        return cast(raw, p.scalar, field)
    items = raw.split(",") if raw else []
    if p.shape == "array":
        return [cast(v, p.scalar, f"{field}[{i}]") for i, v in enumerate(items)]
    return _kv(items, p, field) if p.explode else _pairs(items, p, field)


def _path_value(raw: str, p: Parameter, field: str) -> Any:
    if p.style == "label":
        parts = raw[1:].split(".") if p.explode else raw[1:].split(",")
        if p.shape == "primitive":
            return cast(raw[1:], p.scalar, field)
        if p.shape == "array":
            return [cast(v, p.scalar, f"{field}[{i}]") for i, v in enumerate(parts)]
        return _kv(parts, p, field) if p.explode else _pairs(parts, p, field)
    if p.style == "matrix":
        chunks = raw[1:].split(";")
        if p.shape == "object" and p.explode:
            return _kv(chunks, p, field)
        values = [c.partition("=")[2] for c in chunks if c.partition("=")[0] == p.name]
        if not values:
            raise _Bad(field, raw, p.shape if p.shape != "primitive" else p.scalar)
        if p.shape == "array" and p.explode:
            return [cast(v, p.scalar, f"{field}[{i}]") for i, v in enumerate(values)]
        return _simple(values[0], p, field)
    return _simple(raw, p, field)


def _query_value(query: Mapping[str, list[str]], p: Parameter, field: str, used: set[str]) -> Any:
    if p.style == "deepObject":
        prefix = p.name + "["
        found = {k[len(prefix) : -1]: v for k, v in query.items() if k.startswith(prefix) and k.endswith("]")}
        if not found:
            return _MISSING
        used.update(f"{p.name}[{k}]" for k in found)
        return {k: cast(v[-1], p.properties.get(k, ""), f"{field}.{k}") for k, v in found.items()}
    if p.shape == "object" and p.explode:
        found = {k: v for k, v in query.items() if k in p.properties}
        if not found:
            return _MISSING
        used.update(found)
        return {k: cast(v[-1], p.properties[k], f"{field}.{k}") for k, v in found.items()}
    values = query.get(p.name)
    if values is None:
        return _MISSING
    used.add(p.name)
    if not p.allow_empty and "" in values:
        raise _Bad(field, "", "non-empty value", rule="empty")
    if p.shape == "array":
        items = values
        if not p.explode:
            items = values[-1].split(_SEPARATORS.get(p.style, ",")) if values[-1] else []
        return [cast(v, p.scalar, f"{field}[{i}]") for i, v in enumerate(items)]
    return _simple(values[-1], p, field)


_MISSING = object()


def split_cookies(header: str) -> dict[str, str]:
    """Parse a ``Cookie`` header into name -> value (the first one wins).

    Args:
        header: The header's value.

    Returns:
        The cookies.
    """
    out: dict[str, str] = {}
    for chunk in header.split(";"):
        name, sep, value = chunk.strip().partition("=")
        if sep and name not in out:
            out[name] = value.strip('"')
    return out


def parse_location(
    location: str,
    params: Sequence[Parameter],
    raw: Mapping[str, Any],
    violations: list[FieldViolation],
    used: set[str] | None = None,
) -> dict[str, Any]:
    """Deserialize the parameters of one location into the model's input.

    Args:
        location: ``path``, ``query``, ``header`` or ``cookie``.
        params: That location's parameters.
        raw: Path values, the query multi-dict (name -> values), lower-cased
            headers, or cookies.
        violations: Where cast errors are appended.
        used: For the query, collects the keys consumed (strict mode).

    Returns:
        Input for the location model, keyed as the model's aliases.
    """
    out: dict[str, Any] = {}
    for p in params:
        field = f"{location}.{p.name}"
        try:
            if location == "query":
                value = _query_value(raw, p, field, used if used is not None else set())
            else:
                key = p.name.lower() if location == "header" else p.name
                text = raw.get(key)
                if text is None:
                    continue
                value = _path_value(text, p, field) if location == "path" else _simple(text, p, field)
        except _Bad as exc:
            violations.append(exc.violation)
            continue
        if value is not _MISSING:
            out[p.name.lower() if location == "header" else p.name] = value
    return out
