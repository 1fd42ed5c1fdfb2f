"""Refuse JSON nested deeper than a limit, before any parser recurses into it.

The parsers and converters that read a request (the standard library's
``json``, the proto3 JSON mapping, the violation renderer) recurse once or
more per level: a body of 5,000 nested arrays ends in ``RecursionError``, a
500. Every JSON path measures the depth first, without parsing, and answers
a 400 that names the limit.
"""

from __future__ import annotations

import re

from microlib.core.errors import FieldViolation, InvalidArgument

__all__ = ["MAX_JSON_DEPTH", "check_json_depth"]

MAX_JSON_DEPTH = 64
"""The default limit: deep enough for any document an API means, far below
the interpreter's recursion limit (1,000 frames) whatever a level costs."""

# A JSON string (its brackets do not count); an unterminated one is left in,
# which only ever counts more brackets than there are.
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")


def check_json_depth(raw: bytes, limit: int, *, where: str = "body") -> None:
    """Refuse ``raw`` if its arrays and objects nest deeper than ``limit``.

    Args:
        raw: A JSON document (it need not be valid: a parser judges that).
        limit: The deepest nesting allowed (``[[1]]`` is 2).
        where: What ``raw`` is, for the message and the violation's field.

    Raises:
        InvalidArgument: with reason ``JSON_TOO_DEEP``, naming the limit.
    """
    # Cheap and usually enough: fewer brackets than the limit cannot nest deeper.
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return
    depth = 0
    for bracket in _BRACKET.finditer(_STRING.sub(b"", raw)):
        if bracket.group() in (b"[", b"{"):
            depth += 1
            if depth > limit:
                description = f"JSON nested deeper than {limit} levels (the limit)"
                raise InvalidArgument(
                    f"{where}: {description}",
                    reason="JSON_TOO_DEEP",
                    domain="microlib",
                    metadata={"limit": str(limit)},
                    violations=[FieldViolation(where, description, "max_depth")],
                )
        else:
            depth -= 1
