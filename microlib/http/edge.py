"""The HTTP edge: the first thing every request meets, and the last.

Only the edge sees every request on the wire, the ones that never reach the
chain included (404s, raw routes, the body limit's 413), with its route
template, status line and body sizes. So it reads the request id and the
caller's trace context, has :class:`~microlib.observability.http_server.HttpServerTelemetry`
record the request (server span, ``http_server_*`` metrics, access line) in
one step at each end, stamps ``X-Request-ID`` on the response, and answers
the last-resort 500; the chain's tracing, metrics and logging interceptors
see that the edge is active and only enrich what it records.

In a service's app the edge also runs the built-in steps that follow it
(the starting gate, security headers, body limit, timeout, gzip) inline,
each through its own ``fuse``: one layer instead of six, the same answers.
"""

from __future__ import annotations

import asyncio
from asyncio import current_task
from collections.abc import Iterable, Sequence
from time import monotonic
from typing import TYPE_CHECKING, Any

import structlog
from starlette.middleware import Middleware
from starlette.routing import Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from microlib.core.errors import Error, Internal
from microlib.core.lifecycle import RETRY_AFTER_SECONDS, shutting_down
from microlib.http.errors import send_problem
from microlib.observability._exchange import _NO_STAMPS, _Exchange, _Stamps
from microlib.observability.http_server import HttpServerTelemetry
from microlib.observability.requestid import new_request_id, valid_request_id

if TYPE_CHECKING:
    from microlib.observability.stack import Observability

__all__ = ["HttpEdge", "edge_middleware", "record_route"]

_PROPAGATION_HEADERS = frozenset({b"traceparent", b"tracestate", b"baggage"})
# Every header the edge reads.
_READ = _PROPAGATION_HEADERS | {
    b"x-request-id",
    b"user-agent",
    b"content-length",
    b"transfer-encoding",
    b"accept-encoding",
}
# Where the edge leaves the request's record for the router to name its route.
EXCHANGE = "microlib.exchange"

log = structlog.get_logger("microlib.http")


class HttpEdge:
    """Request id, telemetry and last-resort 500 for every HTTP request of ``app``.

    Args:
        app: The ASGI app to serve (the service's middleware and router).
        observability: The service's observability.
        untraced_paths: Paths that are counted but neither traced nor
            access-logged (probes, ``/metrics``).
        routed: ``app`` is microlib's router, which names the route it
            matched itself; any other app's routers are watched for it.
        fused: Middleware to run inline, in this order (each has ``fuse``).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        observability: Observability,
        untraced_paths: Iterable[str] = (),
        routed: bool = False,
        fused: Sequence[Any] = (),
    ) -> None:
        self.app = app
        untraced = (*untraced_paths, observability.settings.metrics.path)
        untraced += (observability.settings.logging.admin.path,)
        self._telemetry = HttpServerTelemetry(observability, untraced_paths=untraced)
        self._routed = routed
        # Set by the fused middleware: the starting gate, the security
        # headers, the body limit and the timeout.
        self.gate: Any = None
        self.gate_health: Any = None
        self.headers: list[tuple[bytes, bytes]] = []
        self.limit: Any = None
        self.timeout: Any = None
        self.watchdog: Any = None
        self.gzip: Any = None
        for middleware in fused:
            middleware.fuse(self)
        self._stamps = _Stamps(self.headers, frozenset(name for name, _ in self.headers))
        self._refusal: type[Error] = self.limit.refusal if self.limit else _Never

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection scope; non-HTTP scopes pass through."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        carrier: dict[str, str] = {}
        request_id = ""
        user_agent = ""
        declared: bytes | None = None
        chunked = False
        app = self.app
        for name, value in scope["headers"]:
            if name not in _READ:
                continue  # most headers: one lookup rather than a comparison with each name below
            if name in _PROPAGATION_HEADERS:
                carrier[name.decode("latin-1")] = value.decode("latin-1")
            elif name == b"x-request-id":
                request_id = value.decode("latin-1")
            elif name == b"user-agent":
                user_agent = value.decode("latin-1")
            elif name == b"content-length" and value.isdigit():
                declared = value
            elif name == b"transfer-encoding":
                chunked = True
            elif name == b"accept-encoding" and self.gzip is not None and b"gzip" in value.lower():
                app = self.gzip
        if not request_id or not valid_request_id(request_id):
            headers = scope["headers"]
            if request_id:
                headers = [h for h in headers if h[0] != b"x-request-id"]
            request_id = new_request_id()
            # The chain reads the request id from the request headers.
            scope["headers"] = [*headers, (b"x-request-id", request_id.encode())]
        exchange = self._telemetry.begin(scope, request_id, carrier, user_agent)
        if self._routed:
            scope[EXCHANGE] = exchange
        else:
            scope = _recording(scope, exchange)
        failure: BaseException | None = None
        exchange.wire_receive, exchange.wire_send, exchange.stamps = receive, send, self._stamps
        length = int(declared) if declared is not None else None
        limit = self.limit
        if chunked or length is None or (limit is not None and length > limit.limit):
            # Only a chunked body, one declared too large, or none declared may need watching;
            # its size is what the app reads of it.
            receive = exchange.receive
            if limit is not None:
                receive = limit.watching(length, chunked, scope, receive)
        else:
            # The body's size is in the head (its Content-Length, which OpenTelemetry's
            # http.server.request.body.size reads): the server's receive, as it is.
            exchange.received = length
        timeout, task, cancelling = self.timeout, None, 0
        if timeout is not None:
            task = current_task()
            if task is not None:
                # TimeoutMiddleware.watch, without its frame, nor the watchdog's while its
                # check is scheduled on this task's loop.
                cancelling = task.cancelling()
                watchdog = self.watchdog
                if task.get_loop() is watchdog.armed_on:
                    watchdog.watched[task] = monotonic() + watchdog.seconds
                else:
                    watchdog.watch(task)
        try:
            refused = None
            if self.gate is not None and self.gate_health.waiting_for is not None:
                refused = self.gate.closed(scope)
            if refused is not None:
                # The gate's refusal goes out before anything else, without the security headers.
                exchange.stamps = _NO_STAMPS
                await self.gate.refuse(exchange.send, refused)
            else:
                await app(scope, receive, exchange.send)
        except self._refusal as exc:
            # The body limit's refusal, from an app that does not render errors itself.
            if not exchange.status:
                await send_problem(exchange.send, exc)
        except Exception as exc:
            failure = exc
            await _recover(exc, exchange)
        except asyncio.CancelledError as exc:
            if task is not None and timeout.expired(task, cancelling):
                timeout.release(task)
                if not exchange.status:
                    await timeout.answer(scope, exchange.send)
            else:
                # The server gave up on the request (its drain's budget ended).
                failure = exc
                await _abandon(scope, exchange)
                raise
        finally:
            # Released without a frame unless the budget ran out (its cancellation to withdraw).
            if task is not None and self.watchdog.watched.pop(task, None) is None:
                self.watchdog.release(task)
            self._telemetry.end(exchange, failure)
            # The scope holds the record, the record the server's receive and send, which
            # hold the server's connection, which holds the scope: let go of them, or every
            # request's connection objects would wait for the cyclic collector.
            exchange.wire_receive = exchange.wire_send = None


def edge_middleware(observability: Observability, *, untraced_paths: Iterable[str] = ()) -> Middleware:
    """The edge as Starlette middleware, to put first in a Starlette app of your own.

    A :class:`~microlib.Service` puts its edge in front of its HTTP app
    itself; this is for a bare Starlette app served with a service's
    :class:`~microlib.observability.Observability`.

    Args:
        observability: The observability that records the requests.
        untraced_paths: Paths counted in metrics but neither traced nor
            access-logged; ``metrics.path`` is always one of them.
    """
    return Middleware(HttpEdge, observability=observability, untraced_paths=tuple(untraced_paths))


def record_route(scope: Scope, route: Any) -> Scope:
    """Tell the edge that ``route`` (a route or a mount) matched; the scope to pass on.

    Under a mount, the scope passed on also records the routes the mounted
    app's own routers match, so the label is the whole template.
    """
    exchange: _Exchange | None = scope.get(EXCHANGE)
    if exchange is None:
        return scope
    _record(exchange, route)
    if isinstance(route, Mount):
        return _recording(scope, exchange)
    return scope


def record_leaf(scope: Scope, path: str) -> None:
    """:func:`record_route` for a route that is no mount, by its path template: nothing to
    wrap, so a generated route's request skips the lookups a mount needs."""
    exchange: _Exchange | None = scope.get(EXCHANGE)
    if exchange is not None:
        exchange.routes.append(path)
        exchange.opaque = False


def _record(exchange: _Exchange, route: Any) -> None:
    path = getattr(route, "path", None)
    if isinstance(path, str):
        exchange.routes.append(path)
    # A Mount matched last hands the rest of the path to an opaque app.
    exchange.opaque = isinstance(route, Mount)


class _RouteRecorder(dict[str, Any]):
    """The request scope, recording every route a Starlette router matches on the way down.

    Routers assign ``scope["route"]`` at each level (a Mount, then the route
    inside it), so the full template is the recorded paths joined. Made by
    :func:`_recording`.
    """

    __slots__ = ("exchange",)
    exchange: _Exchange

    def __setitem__(self, key: str, value: Any) -> None:
        # Every key a layer sets passes here: dict's own set, not super()'s, on each.
        if key == "route":
            _record(self.exchange, value)
        _dict_set(self, key, value)


_dict_set = dict.__setitem__


def _recording(scope: Scope, exchange: _Exchange) -> _RouteRecorder:
    """``scope``, copied into a :class:`_RouteRecorder` for ``exchange``."""
    # The copy made by dict's own __init__, with no __init__ of ours called from C around it.
    recorder = _RouteRecorder(scope)
    recorder.exchange = exchange
    return recorder


async def _recover(exc: Exception, exchange: _Exchange) -> None:
    correlation = exchange.correlation_id()
    log.error("unhandled exception", correlation_id=correlation, exc_info=exc)
    if exchange.status:
        # Part of the response is on the wire: only the server can abort it.
        raise exc
    # The last resort's answer goes out without the security headers.
    exchange.stamps = _NO_STAMPS
    await send_problem(exchange.send, Internal("internal error"), correlation_id=correlation)


async def _abandon(scope: Scope, exchange: _Exchange) -> None:
    # One line, no traceback: the cancellation is the server's decision, not a fault here.
    correlation = exchange.correlation_id()
    log.error(
        "request cancelled by shutdown",
        method=scope["method"],
        path=scope["path"],
        correlation_id=correlation,
    )
    if exchange.status:
        return  # part of the response is on the wire: the connection's end tells the client
    retry = (b"retry-after", str(RETRY_AFTER_SECONDS).encode())
    exchange.stamps = _NO_STAMPS
    await send_problem(exchange.send, shutting_down(), headers=[retry], correlation_id=correlation)


class _Never(Error):
    """Raised by nothing: what the edge catches as the body limit's refusal when it has none."""
