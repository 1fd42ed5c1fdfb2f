"""Turn pydantic errors about a JSON document into FieldViolations with JSON paths.

Each transport names the document's root: ``body`` for an HTTP request body
(``body.items[2].sku``), ``payload`` for a message (``payload.lines[0].quantity``).
pydantic's ``loc`` also holds union-member and discriminator tags; walking
the received document along it keeps only the real keys and indexes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from microlib.core.errors import FieldViolation

__all__ = ["described", "document_path", "document_violations"]

_MAX_VALUE = 80
# How pydantic quotes an enum member, `<VehicleKind.CAR: 'car'>`: a discriminated union whose tags
# are enum members (`Literal[VehicleKind.CAR]`, the models' type for a discriminator property typed by
# an enum) lists its expected tags so.
_MEMBER = re.compile(r"<\w+(?:\.\w+)+: ('(?:[^'\\]|\\.)*'|-?\d+)>")


def described(error: Mapping[str, Any]) -> str:
    """pydantic's message of ``error`` as a client reads it, an enum member written as its value
    (``expected tags: 'car', 'bike'``), and the offending value."""
    return _MEMBER.sub(r"\1", error["msg"]) + _received(error)


def _received(error: Mapping[str, Any]) -> str:
    """`` (received 'bad')``: the offending value, shortened; empty for a missing one."""
    if error["type"] == "missing":
        return ""
    text = repr(error.get("input"))
    return f" (received {text[:_MAX_VALUE]}{'...' if len(text) > _MAX_VALUE else ''})"


def document_path(loc: Sequence[int | str], document: Any) -> str:
    """The JSON path (``.items[2].sku``) of an error's ``loc`` in ``document``, tags left out."""
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


def document_violations(exc: ValidationError, raw: bytes | Any, root: str) -> list[FieldViolation]:
    """Violations of a JSON document, named by JSON path under ``root``.

    Args:
        exc: The error pydantic raised.
        raw: The document as received (bytes of JSON) or already decoded.
        root: The name of the document itself (``body``, ``payload``).

    Returns:
        One violation per distinct error, in pydantic's order; malformed JSON is ``root`` with
        rule ``json``. A union trying each member reports a field every member misses once per
        member: the same field, rule and message is said once.
    """
    try:
        document = json.loads(raw) if isinstance(raw, bytes | bytearray) else raw
    except ValueError:
        document = None
    out = []
    for error in exc.errors(include_url=False):
        if error["type"] == "json_invalid":
            out.append(FieldViolation(root, f"Malformed JSON: {error['msg']}", "json"))
            continue
        path = document_path(error["loc"], document)
        out.append(FieldViolation(f"{root}{path}", described(error), error["type"]))
    return list(dict.fromkeys(out))
