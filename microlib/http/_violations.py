"""Turn pydantic validation errors into FieldViolations with request paths.

Parameters are named by location and declared name (``query.limit``,
``header.X-Trace``); body errors by their JSON path (``body.items[2].sku``).
pydantic's ``loc`` also holds union-member and discriminator tags; walking
the received document along it keeps only the real keys and indexes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from microlib.core.errors import FieldViolation

__all__ = ["body_violations", "param_violations"]

_MAX_VALUE = 80


def _received(error: Mapping[str, Any]) -> str:
    if error["type"] == "missing":
        return ""
    text = repr(error.get("input"))
    return f" (received {text[:_MAX_VALUE]}{'...' if len(text) > _MAX_VALUE else ''})"


def _path(loc: Sequence[int | str], document: Any) -> str:
    out = []
    node = document
    last = len(loc) - 1
    for i, part in enumerate(loc):
        if isinstance(node, list) and isinstance(part, int):
            out.append(f"[{part}]")
            node = node[part] if part < len(node) else None
        elif isinstance(node, dict) and isinstance(part, str) and (part in node or i == last):
            out.append(f".{part}")
            node = node.get(part)
        # Anything else is a union member or a discriminator tag, not a key.
    return "".join(out)


def body_violations(exc: ValidationError, raw: bytes | Any) -> list[FieldViolation]:
    """Violations of a request body, named by JSON path under ``body``.

    Args:
        exc: The error pydantic raised.
        raw: The body as received (bytes of JSON) or already decoded.

    Returns:
        One violation per error.
    """
    try:
        document = json.loads(raw) if isinstance(raw, bytes | bytearray) else raw
    except ValueError:
        document = None
    out = []
    for error in exc.errors(include_url=False):
        if error["type"] == "json_invalid":
            out.append(FieldViolation("body", f"Malformed JSON: {error['msg']}", "json"))
            continue
        path = _path(error["loc"], document)
        out.append(FieldViolation(f"body{path}", f"{error['msg']}{_received(error)}", error["type"]))
    return out


def param_violations(exc: ValidationError, location: str, names: Mapping[str, str]) -> list[FieldViolation]:
    """Violations of one parameter location's model.

    Args:
        exc: The error pydantic raised.
        location: ``path``, ``query``, ``header`` or ``cookie``.
        names: Model key (alias) -> the parameter's declared name.

    Returns:
        One violation per error.
    """
    out = []
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        head = names.get(str(loc[0]), str(loc[0])) if loc else ""
        rest = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc[1:])
        field = f"{location}.{head}{rest}"
        if error["type"] == "extra_forbidden":
            description = f"Unknown {location} parameter"
        else:
            description = f"{error['msg']}{_received(error)}"
        out.append(FieldViolation(field, description, error["type"]))
    return out
