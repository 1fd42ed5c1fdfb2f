"""The record of one HTTP request in flight: what the edge fills in and the chain may see."""

from __future__ import annotations

from collections.abc import Awaitable, MutableMapping
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, NamedTuple

from opentelemetry import trace

from microlib.observability.identity import ServiceIdentity, _current

UNMATCHED = "unmatched"
"""The route label of a request no route matched."""


class _Stamps(NamedTuple):
    """The headers the edge adds to responses, and their names."""

    headers: list[tuple[bytes, bytes]]
    names: frozenset[bytes]


_NO_STAMPS = _Stamps([], frozenset())
_REQUEST_ID = b"x-request-id"
_name = itemgetter(0)


@dataclass(slots=True)
class _Exchange:
    """What the edge knows about the request in flight, shared with the chain.

    Bound for the request as the service handling it (its identity and
    tracer, as a ``_Serving``): the one context variable the edge sets for
    itself. :func:`_edge` finds it, and log lines read the request id from
    it (``_structlog_private.call_fields``).
    """

    span: trace.Span
    request_id: str
    identity: ServiceIdentity
    tracer: trace.Tracer
    # The HTTP method label, the request path and when it arrived
    # (``perf_counter_ns``); given with the fields above, in order (a
    # positional call costs less).
    verb: str = ""
    path: str = ""
    start: int = 0
    # Counted only, or also traced and access-logged.
    observed: bool = True
    # The chain's ``service/method``, set on the span with the edge's own
    # attributes when it ends (one attribute update instead of two).
    method: str = ""
    status: int = 0
    sent: int = 0
    received: int = 0
    # The path template of each route matched on the way down (a mount, then
    # the route inside it), and whether the last one hands the rest of the
    # path to an opaque app.
    routes: list[str] = field(default_factory=list)
    opaque: bool = False
    # The context variables bound for the request, reset when it ends.
    tokens: tuple[Any, ...] = ()
    # The server's ASGI receive and send, which :meth:`receive` and :meth:`send`
    # wrap, and the headers :meth:`send` stamps on the response; set by the
    # edge. Methods of the record rather than closures made per request: the
    # edge passes them on without building a function each.
    wire_receive: Any = None
    wire_send: Any = None
    stamps: _Stamps = _NO_STAMPS

    async def receive(self) -> MutableMapping[str, Any]:
        """The server's receive, counting the request body's bytes."""
        message: MutableMapping[str, Any] = await self.wire_receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
        return message

    def send(self, message: MutableMapping[str, Any]) -> Awaitable[None]:
        """The server's send, recording the status and sizes, with the stamps (the
        security headers), then ``X-Request-ID``, on the response where it does not
        set them itself: what ``with_headers(message, [*stamps.headers, (b"x-request-id", id)])``
        answers.

        Returns the server's own awaitable for the message: no coroutine of the record's
        own between the app and the server, per message sent.
        """
        kind = message["type"]
        if kind == "http.response.body":
            self.sent += len(message.get("body", b""))
        elif kind == "http.response.start":
            self.status = message["status"]
            added, names = self.stamps
            own = message.get("headers", ())
            # The names the response sets, found without a loop of Python steps.
            present = set(map(bytes.lower, map(_name, own)))
            if present.isdisjoint(names):
                headers = [*own, *added]
            else:
                headers = [*own, *[header for header in added if header[0] not in present]]
            if _REQUEST_ID not in present:
                headers.append((_REQUEST_ID, self.request_id.encode()))
            message = {**message, "headers": headers}
        return self.wire_send(message)  # type: ignore[no-any-return]

    def correlation_id(self) -> str:
        """The id a caller can quote: the trace id, or the request id when untraced."""
        context = self.span.get_span_context()
        return context.trace_id.to_bytes(16).hex() if context.is_valid else self.request_id

    def template(self) -> str:
        """The route label: the matched templates joined, or ``unmatched``."""
        routes = self.routes
        if not routes:
            return UNMATCHED
        joined = routes[0] if len(routes) == 1 else "".join(routes)
        return joined + "/{path}" if self.opaque else joined


def _edge() -> _Exchange | None:
    """The HTTP edge's record of the request being served, if any."""
    bound = _current.get()
    return bound if isinstance(bound, _Exchange) else None
