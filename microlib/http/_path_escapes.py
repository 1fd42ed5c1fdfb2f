"""Percent-escapes in a path value: a ``%`` not followed by two hex digits, or escapes whose bytes
are not UTF-8, are the client's mistake, refused with a 400 naming the segment (as grpc-gateway
answers ``malformed path escape``), not kept as literal text or decoded to U+FFFD for the handler
to look up.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from microlib.core.errors import FieldViolation

__all__ = ["escape_violation"]

_MALFORMED = re.compile(r"%(?![0-9A-Fa-f]{2})")


def escape_violation(field: str, raw: str) -> FieldViolation | None:
    """What is wrong with the still-encoded path value ``raw`` of ``field``: its first malformed
    percent-escape (``%ZZ``, ``%4``, a lone ``%``) and the segment holding it, else the first
    segment whose escapes decode to bytes that are not UTF-8 (``%FF``); None if neither."""
    if "%" not in raw:
        return None
    found = _MALFORMED.search(raw)
    if found is not None:
        at = found.start()
        escape = raw[at : at + 3]
        segment = raw[raw.rfind("/", 0, at) + 1 :].partition("/")[0]
        return FieldViolation(
            field, f"malformed percent-escape {escape!r} in path segment {segment!r}", "percent_escape"
        )
    for segment in raw.split("/"):
        try:
            unquote_to_bytes(segment).decode()
        except UnicodeDecodeError:
            return FieldViolation(
                field, f"percent-escapes in path segment {segment!r} are not UTF-8", "percent_escape"
            )
    return None
