"""The HTTP edge: one ASGI middleware that sees every request on the wire.

Only the edge knows the route template Starlette matched, the status line
and the body sizes, and only it sees requests that never reach the shared
chain (404s, raw routes). So for HTTP it owns the server span, the
``http_server_*`` metrics, the access log line, the ``X-Request-ID`` header
and the last-resort 500; the chain's tracing, metrics and logging
interceptors see that the edge is active and only enrich what it records.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import structlog
from opentelemetry import context as otel_context
from opentelemetry import trace
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from microlib.core.errors import Internal
from microlib.http.errors import PROBLEM_CONTENT_TYPE, problem_body
from microlib.observability._exchange import UNMATCHED, _edge, _Exchange, _RouteRecorder
from microlib.observability._lean_span import FrameworkAttributes
from microlib.observability.identity import _bind_identity, _unbind_identity
from microlib.observability.logging import _field_var
from microlib.observability.requestid import new_request_id, valid_request_id
from microlib.observability.tracing import _bind_tracer, _unbind_tracer

if TYPE_CHECKING:
    from microlib.observability.stack import Observability

__all__ = ["HttpTelemetryMiddleware"]

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})
_PROPAGATION_HEADERS = frozenset({b"traceparent", b"tracestate", b"baggage"})

_LOGGER = "microlib.http"
log = structlog.get_logger(_LOGGER)


class HttpTelemetryMiddleware:
    """Spans, metrics, access log, request id and last-resort 500 for every HTTP request.

    Metrics (labels bounded: method, route template, status):
    ``http_server_requests_total``, ``http_server_request_duration_seconds``,
    ``http_server_requests_in_flight`` (method only),
    ``http_server_request_size_bytes``, ``http_server_response_size_bytes``.

    Args:
        app: The ASGI app to wrap (usually the Starlette router).
        observability: The service's observability.
        untraced_paths: Paths that are counted but neither traced nor
            access-logged (probes, ``/metrics``).
    """

    def __init__(
        self, app: ASGIApp, *, observability: Observability, untraced_paths: Iterable[str] = ()
    ) -> None:
        self.app = app
        self._obs = observability
        self._untraced = frozenset(untraced_paths)
        self._tracer = observability.tracing.tracer
        self._tracing = observability.tracing.enabled
        metrics = observability.metrics
        labels = ("method", "route", "status")
        self._count = metrics.counter("http_server_requests_total", "HTTP requests completed.", labels)
        self._duration = metrics.histogram(
            "http_server_request_duration_seconds",
            "HTTP request duration, from the first byte received to the last byte sent.",
            labels,
            buckets=observability.settings.metrics.duration_buckets,
        )
        self._in_flight = metrics.gauge(
            "http_server_requests_in_flight", "HTTP requests in progress.", ["method"]
        )
        self._req_size = metrics.size_histogram(
            "http_server_request_size_bytes", "HTTP request body size.", ("method", "route")
        )
        self._resp_size = metrics.size_histogram(
            "http_server_response_size_bytes", "HTTP response body size.", ("method", "route")
        )
        # The label sets here are bounded, so their children are cached: one
        # lookup finds all four (and multi-process mode's prometheus-client
        # metrics validate and lock in every labels() call).
        self._children: dict[tuple[str, str, str], tuple[Any, Any, Any, Any]] = {}
        self._gauges: dict[str, Any] = {}
        # Bound once: the module's lazy proxy would build a logger per line.
        self._log = log.bind()
        # Asked before the line's fields are gathered: at WARNING and above
        # (the usual production level) the access line costs one level check.
        self._access_enabled = logging.getLogger(_LOGGER).isEnabledFor
        self._request_id_var = _field_var("request_id")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection scope; non-HTTP scopes pass through."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        method = scope["method"] if scope["method"] in _METHODS else "_OTHER"
        carrier: dict[str, str] = {}
        request_id = ""
        user_agent = ""
        for name, value in scope["headers"]:
            if name in _PROPAGATION_HEADERS:
                carrier[name.decode("latin-1")] = value.decode("latin-1")
            elif name == b"x-request-id":
                request_id = value.decode("latin-1")
            elif name == b"user-agent":
                user_agent = value.decode("latin-1")
        if not valid_request_id(request_id):
            headers = scope["headers"]
            if request_id:
                headers = [h for h in headers if h[0] != b"x-request-id"]
            request_id = new_request_id()
            # The chain reads the request id from the request headers.
            scope["headers"] = [*headers, (b"x-request-id", request_id.encode())]
        observed = scope["path"] not in self._untraced
        traced = self._tracing and observed
        parent = None
        if traced:
            parent = self._obs.tracing.extract(carrier) if carrier else None
            span = self._tracer.start_span(
                method,
                context=parent,
                kind=trace.SpanKind.SERVER,
                attributes=_request_attributes(scope, method, user_agent),
            )
        else:
            span = trace.INVALID_SPAN
        exchange = _Exchange(span, request_id)
        scope = _RouteRecorder(scope)
        gauge = self._gauge(method)
        gauge.inc()
        tokens = (
            # The caller's baggage stays in the context, for outgoing calls to carry on.
            otel_context.attach(trace.set_span_in_context(span, parent)) if traced else None,
            _edge.set(exchange),
            _bind_identity(self._obs.identity),
            _bind_tracer(self._tracer),
        )
        bound = self._request_id_var.set(request_id)
        failure: BaseException | None = None
        try:
            await self.app(scope, _counting_receive(receive, exchange), _stamping_send(send, exchange))
        except Exception as exc:
            failure = exc
            await self._recover(exc, exchange, send)
        finally:
            route = scope.template()
            status = exchange.status or 500
            elapsed = time.perf_counter() - start
            count, duration, req_size, resp_size = self._child(method, route, str(status))
            count.inc()
            duration.observe(elapsed)
            req_size.observe(exchange.received)
            resp_size.observe(exchange.sent)
            gauge.dec()
            if traced:
                _finish_span(span, method, route, status, failure, exchange.method)
            if observed and self._obs.settings.logging.access_log and self._access_enabled(logging.INFO):
                self._log.info(
                    "http request",
                    method=method,
                    path=scope["path"],
                    route=route,
                    status=status,
                    duration_ms=round(elapsed * 1000, 3),
                    request_size=exchange.received,
                    response_size=exchange.sent,
                )
            self._request_id_var.reset(bound)
            _unbind_tracer(tokens[3])
            _unbind_identity(tokens[2])
            _edge.reset(tokens[1])
            if tokens[0] is not None:
                otel_context.detach(tokens[0])

    async def _recover(self, exc: Exception, exchange: _Exchange, send: Send) -> None:
        context = exchange.span.get_span_context()
        correlation = format(context.trace_id, "032x") if context.is_valid else exchange.request_id
        log.error("unhandled exception", correlation_id=correlation, exc_info=exc)
        if exchange.status:
            # Part of the response is on the wire: only the server can abort it.
            raise exc
        problem = problem_body(Internal("internal error"), correlation_id=correlation)
        body = json.dumps(problem, separators=(",", ":")).encode()
        exchange.status = 500
        exchange.sent = len(body)
        await send(
            {
                "type": "http.response.start",
                "status": 500,
                "headers": [
                    (b"content-type", PROBLEM_CONTENT_TYPE.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"x-request-id", exchange.request_id.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _gauge(self, method: str) -> Any:
        gauge = self._gauges.get(method)
        if gauge is None:
            gauge = self._gauges[method] = self._in_flight.labels(method)
        return gauge

    def _child(self, method: str, route: str, status: str) -> tuple[Any, Any, Any, Any]:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                self._count.labels(method, route, status),
                self._duration.labels(method, route, status),
                self._req_size.labels(method, route),
                self._resp_size.labels(method, route),
            )
        return children


def _counting_receive(receive: Receive, exchange: _Exchange) -> Receive:
    async def counting() -> Message:
        message = await receive()
        if message["type"] == "http.request":
            exchange.received += len(message.get("body", b""))
        return message

    return counting


def _stamping_send(send: Send, exchange: _Exchange) -> Send:
    async def stamping(message: Message) -> None:
        if message["type"] == "http.response.start":
            exchange.status = message["status"]
            headers = message.get("headers", ())
            for name, _ in headers:
                if name.lower() == b"x-request-id":
                    break
            else:
                message = {**message, "headers": [*headers, (b"x-request-id", exchange.request_id.encode())]}
        elif message["type"] == "http.response.body":
            exchange.sent += len(message.get("body", b""))
        await send(message)

    return stamping


def _request_attributes(scope: Scope, method: str, user_agent: str) -> FrameworkAttributes:
    attributes = FrameworkAttributes(
        {
            "http.request.method": method,
            "url.path": scope["path"],
            "url.scheme": scope.get("scheme", "http"),
            "network.protocol.version": scope.get("http_version", "1.1"),
        }
    )
    server = scope.get("server")
    if server:
        attributes["server.address"] = server[0]
        if server[1] is not None:
            attributes["server.port"] = server[1]
    client = scope.get("client")
    if client:
        attributes["client.address"] = client[0]
    if user_agent:
        attributes["user_agent.original"] = user_agent
    return attributes


def _finish_span(
    span: trace.Span,
    method: str,
    route: str,
    status: int,
    failure: BaseException | None,
    chain_method: str,
) -> None:
    attributes = FrameworkAttributes({"microlib.method": chain_method} if chain_method else {})
    if route != UNMATCHED:
        span.update_name(f"{method} {route}")
        attributes["http.route"] = route
    attributes["http.response.status_code"] = status
    span.set_attributes(attributes)
    if failure is not None:
        span.record_exception(failure)
    if status >= 500:
        span.set_status(
            trace.StatusCode.ERROR, f"HTTP {status}" if failure is None else type(failure).__name__
        )
    span.end()
