"""The HTTP edge's per-request record, shared with the chain interceptors."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass

from opentelemetry import trace


@dataclass(slots=True)
class _Exchange:
    """What the edge knows about the request in flight, shared with the chain."""

    span: trace.Span
    request_id: str
    status: int = 0
    sent: int = 0
    received: int = 0


_edge: contextvars.ContextVar[_Exchange | None] = contextvars.ContextVar("microlib_http_edge", default=None)
