"""The HTTP edge's per-request records: what the chain may see, and the matched routes."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace
from starlette.routing import Mount
from starlette.types import Scope

UNMATCHED = "unmatched"
"""The route label of a request no route matched."""


@dataclass(slots=True)
class _Exchange:
    """What the edge knows about the request in flight, shared with the chain."""

    span: trace.Span
    request_id: str
    # The chain's ``service/method``, set on the span with the edge's own
    # attributes when it ends (one attribute update instead of two).
    method: str = ""
    status: int = 0
    sent: int = 0
    received: int = 0


_edge: contextvars.ContextVar[_Exchange | None] = contextvars.ContextVar("microlib_http_edge", default=None)


class _RouteRecorder(dict[str, Any]):
    """The request scope, remembering every route Starlette matched on the way down.

    Routers assign ``scope["route"]`` at each level (a Mount, then the route
    inside it), so the full template is the recorded paths joined.
    """

    __slots__ = ("routes",)

    def __init__(self, scope: Scope) -> None:
        super().__init__(scope)
        self.routes: list[Any] = []

    def __setitem__(self, key: str, value: Any) -> None:
        if key == "route":
            self.routes.append(value)
        super().__setitem__(key, value)

    def template(self) -> str:
        routes = self.routes
        if len(routes) == 1 and not isinstance(routes[0], Mount):
            # The common case: one route of the app's own router.
            path = getattr(routes[0], "path", None)
            return path if isinstance(path, str) else UNMATCHED
        paths = [path for path in (getattr(r, "path", None) for r in self.routes) if isinstance(path, str)]
        if not paths:
            return UNMATCHED
        # A Mount matched last hands the rest of the path to an opaque app.
        suffix = "/{path}" if isinstance(self.routes[-1], Mount) else ""
        return "".join(paths) + suffix
