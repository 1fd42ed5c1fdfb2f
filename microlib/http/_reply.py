"""The explicit response a handler may return instead of a bare model."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Reply"]


@dataclass(slots=True)
class Reply:
    """A response with an explicit status, headers or media type.

    Args:
        body: A model, bytes, text, or None for no content.
        status: The HTTP status (default: the operation's first 2xx).
        headers: Extra response headers.
        media_type: Overrides the documented media type.
    """

    body: Any = None
    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    media_type: str | None = None
