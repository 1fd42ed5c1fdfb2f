"""What the service records of each HTTP request it serves, in one step at each end.

The HTTP edge (``microlib.http.edge``) sees the request on the wire and calls
:meth:`HttpServerTelemetry.begin` once the headers are read and
:meth:`HttpServerTelemetry.end` once the response is sent; between them the
chain's interceptors find the request's record in a context variable and
only enrich it. So one request costs one span, one set of metric updates
and at most one access line, however many layers answer it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.util import types

from microlib.observability._exchange import UNMATCHED, _edge, _Exchange
from microlib.observability._families import ServedRecorder, served_recorder
from microlib.observability._lean_span import FrameworkAttributes, LeanSpan
from microlib.observability._lean_tracer import LeanTracer
from microlib.observability._lean_tracer import attach as _attach
from microlib.observability._otel_private import CURRENT_CONTEXT as _CURRENT
from microlib.observability._otlp_wire import span_attribute_entries
from microlib.observability._structlog_private import ABSENT, field_var
from microlib.observability.identity import _current as _serving_var
from microlib.observability.identity import _Serving
from microlib.observability.logging import AccessLog

if TYPE_CHECKING:
    from microlib.observability.stack import Observability

__all__ = ["UNMATCHED", "HttpServerTelemetry", "current_correlation_id"]

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})

_LOGGER = "microlib.http"

# The span attributes of a request a server gives every detail of, in _request_attributes' order.
_ALL_REQUEST_ATTRIBUTES = (
    "http.request.method",
    "url.path",
    "url.scheme",
    "network.protocol.version",
    "server.address",
    "server.port",
    "client.address",
    "user_agent.original",
)
_REQUEST_ATTRIBUTES = len(_ALL_REQUEST_ATTRIBUTES)
_PORT = _ALL_REQUEST_ATTRIBUTES.index("server.port")
# How many encodings of request attributes are kept (paths may be many).
_WIRE_CACHE_LIMIT = 4096


class HttpServerTelemetry:
    """The server span, ``http_server_*`` metrics and access line of HTTP requests.

    Metrics (labels bounded: method, route template, status):
    ``http_server_requests_total``, ``http_server_request_duration_seconds``,
    ``http_server_requests_in_flight`` (method only),
    ``http_server_request_size_bytes``, ``http_server_response_size_bytes``.

    Args:
        observability: The service's observability.
        untraced_paths: Paths that are counted but neither traced nor
            access-logged (probes, ``/metrics``).
    """

    def __init__(self, observability: Observability, *, untraced_paths: Iterable[str] = ()) -> None:
        self._obs = observability
        self._untraced = frozenset(untraced_paths)
        self._tracer = observability.tracing.tracer
        self._lean = self._tracer if isinstance(self._tracer, LeanTracer) else None
        self._tracing = observability.tracing.enabled
        self._serving = _Serving(observability.identity, self._tracer)
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
        # lookup finds all four and the span name (and multi-process mode's prometheus-client
        # metrics validate and lock in every labels() call).
        self._children: dict[tuple[str, str, int], tuple[ServedRecorder, str | None]] = {}
        self._gauges: dict[str, Any] = {}
        # Its level asked before the line's fields are gathered: at WARNING and
        # above (the usual production level) the access line costs one level check.
        self._access = AccessLog(_LOGGER)
        self._request_id_var = field_var("request_id")
        # The OTLP encodings of the spans' attributes (when exported so): at the start by their
        # values, at the end with the attributes themselves, by chain method, route and status.
        self._request_wires: dict[tuple[types.AttributeValue, ...], bytes] = {}
        self._endings: dict[tuple[str, str, int], tuple[FrameworkAttributes, bytes | None]] = {}

    def begin(
        self, scope: Mapping[str, Any], request_id: str, carrier: Mapping[str, str], user_agent: str
    ) -> _Exchange:
        """Open the request's record: its span (with the caller's trace context), the in-flight gauge,
        and the record bound for every log line and span inside it (request id, identity, tracer).

        Args:
            scope: The request's ASGI scope (method, path, addresses).
            request_id: The request id the edge accepted or minted.
            carrier: The caller's ``traceparent``, ``tracestate`` and ``baggage``.
            user_agent: The ``User-Agent`` header, or ``""``.

        Returns:
            The record to pass to :meth:`end`, whatever happens in between.
        """
        # In nanoseconds: the access line's milliseconds are then rounded in integers (see end).
        start = time.perf_counter_ns()
        method = scope["method"] if scope["method"] in _METHODS else "_OTHER"
        path = scope["path"]
        observed = path not in self._untraced
        traced = self._tracing and observed
        parent = None
        context = None
        if traced:
            parent = self._obs.tracing.extract(carrier) if carrier else None
            attributes = _request_attributes(scope, method, user_agent)
            if self._lean is not None:
                wire = self._request_wire(attributes, user_agent) if self._lean.processors.wired else None
                span, context = self._lean.start_server_span(method, parent, attributes, wire=wire)
            else:
                span = self._tracer.start_span(
                    method,
                    context=parent,
                    kind=trace.SpanKind.SERVER,
                    attributes=FrameworkAttributes(attributes),
                )
                # The caller's baggage stays in the context, for outgoing calls to carry on.
                context = trace.set_span_in_context(span, parent)
        else:
            span = trace.INVALID_SPAN
        serving = self._serving
        identity, tracer = serving.identity, serving.tracer
        exchange = _Exchange(span, request_id, identity, tracer, method, path, start, observed)
        gauge = self._gauges.get(method)
        if gauge is None:
            gauge = self._gauges[method] = self._in_flight.labels(method)
        gauge.inc()
        exchange.tokens = (
            _attach(context) if context is not None else None,
            # The record is the service handling the request: identity and tracer, one variable;
            # log lines read the request id from it too (call_fields).
            _serving_var.set(exchange),
            # Unless a request id is bound around the request: bound over it, as it always was.
            None if self._request_id_var.get(ABSENT) is ABSENT else self._request_id_var.set(request_id),
        )
        return exchange

    def _request_wire(self, attributes: dict[str, types.AttributeValue], user_agent: str) -> bytes:
        # The span's first attributes, encoded for OTLP once per combination of values: a
        # connection sends the same ones (only the path and method vary, over few values).
        values = tuple(attributes.values())
        # Kept by values for _request_attributes' literal only, whose keys the count tells: eight
        # with a user agent, seven without (wrk and many health checkers send none); with an int
        # port (sixth in both), as True == 1 (every other value is a string). Keyed by the items
        # instead, the usual request would pay for building them.
        literal = _REQUEST_ATTRIBUTES if user_agent else _REQUEST_ATTRIBUTES - 1
        if len(values) != literal or values[_PORT].__class__ is not int:
            return span_attribute_entries(attributes)
        wire = self._request_wires.get(values)
        if wire is None:
            wire = span_attribute_entries(attributes)
            if len(self._request_wires) < _WIRE_CACHE_LIMIT:
                self._request_wires[values] = wire
        return wire

    def _ending(self, chain_method: str, route: str, status: int) -> tuple[FrameworkAttributes, bytes | None]:
        # The attributes a span of this route gets at its end, and their encoding when it is used.
        attributes = FrameworkAttributes(
            {"microlib.method": chain_method, "http.route": route, "http.response.status_code": status}
        )
        wire = span_attribute_entries(attributes) if self._lean and self._lean.processors.wired else None
        ending = self._endings[chain_method, route, status] = (attributes, wire)
        return ending

    def end(self, exchange: _Exchange, failure: BaseException | None) -> None:
        """Close the record: metrics, the span's route, status and end, the access line; unbind.

        Args:
            exchange: What :meth:`begin` returned, its status, sizes and routes filled in.
            failure: What the request raised, if anything.
        """
        method = exchange.verb
        routes = exchange.routes
        route = routes[0] if len(routes) == 1 and not exchange.opaque else exchange.template()
        status = exchange.status or 500
        taken = time.perf_counter_ns() - exchange.start
        elapsed = taken / 1e9
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            label = str(status)
            recorder = served_recorder(
                self._count.labels(method, route, label),
                self._duration.labels(method, route, label),
                self._req_size.labels(method, route),
                self._resp_size.labels(method, route),
                self._gauges[method],
            )
            # The span's name for the route, made once.
            children = self._children[key] = (recorder, f"{method} {route}" if route != UNMATCHED else None)
        recorder, name = children
        recorder.record(elapsed, exchange.received, exchange.sent)
        tokens = exchange.tokens
        if tokens[0] is not None:
            span, chain_method = exchange.span, exchange.method
            usual = chain_method and name is not None and failure is None and status < 500
            if usual and type(span) is LeanSpan:
                # The usual ending: rename, set and end under one lock.
                ending = self._endings.get((chain_method, route, status))
                if ending is None:
                    ending = self._ending(chain_method, route, status)
                span.finish(name, ending[0], framework=True, wire=ending[1])
            else:
                _finish_span(span, name, route, status, failure, chain_method)
        # A 5xx is a server fault whoever answered it (a handler, the timeout, the drain).
        fault = status >= 500
        # The level first: at WARNING a success is decided there, the settings left unread.
        if (
            exchange.observed
            and self._access.enabled(logging.ERROR if fault else logging.INFO)
            and self._obs.settings.logging.access_log
        ):
            fields = {
                "method": method,
                "path": exchange.path,
                "route": route,
                "status": status,
                # round(ms, 3) of the same duration: whole microseconds rounded half to even, exactly,
                # then the nearest float to their thousandth; a float's round(x, 3) costs four times it.
                "duration_ms": round(taken, -3) / 1e6,
                "request_size": exchange.received,
                "response_size": exchange.sent,
            }
            self._access.write("error" if fault else "info", "http request", fields)
        if tokens[2] is not None:
            self._request_id_var.reset(tokens[2])
        _serving_var.reset(tokens[1])
        if tokens[0] is not None:
            if _CURRENT is not None:
                try:
                    _CURRENT.reset(tokens[0])
                except ValueError:
                    # Made in another context: the API's detach logs it, as it would have.
                    otel_context.detach(tokens[0])
            else:
                otel_context.detach(tokens[0])


def current_correlation_id() -> str:
    """The correlation id of the HTTP request being served ("" outside the edge).

    For the layers that answer a request themselves (the timeout's 504), so
    their problem carries the id the edge's own answers carry.
    """
    exchange = _edge()
    return exchange.correlation_id() if exchange is not None else ""


def _request_attributes(
    scope: Mapping[str, Any], method: str, user_agent: str
) -> dict[str, types.AttributeValue]:
    # Values of the framework's own making (FrameworkAttributes): stored as they are.
    server = scope.get("server")
    client = scope.get("client")
    if server and server[1] is not None and client:
        # What a server behind a socket always gives: one literal, not seven insertions.
        attributes: dict[str, types.AttributeValue] = {
            "http.request.method": method,
            "url.path": scope["path"],
            "url.scheme": scope.get("scheme", "http"),
            "network.protocol.version": scope.get("http_version", "1.1"),
            "server.address": server[0],
            "server.port": server[1],
            "client.address": client[0],
        }
        if user_agent:
            attributes["user_agent.original"] = user_agent
        return attributes
    attributes = {
        "http.request.method": method,
        "url.path": scope["path"],
        "url.scheme": scope.get("scheme", "http"),
        "network.protocol.version": scope.get("http_version", "1.1"),
    }
    if server:
        attributes["server.address"] = server[0]
        if server[1] is not None:
            attributes["server.port"] = server[1]
    if client:
        attributes["client.address"] = client[0]
    if user_agent:
        attributes["user_agent.original"] = user_agent
    return attributes


def _finish_span(
    span: trace.Span,
    name: str | None,
    route: str,
    status: int,
    failure: BaseException | None,
    chain_method: str,
) -> None:
    attributes = FrameworkAttributes({"microlib.method": chain_method} if chain_method else {})
    if name is not None:
        attributes["http.route"] = route
    attributes["http.response.status_code"] = status
    if failure is None and status < 500 and type(span) is LeanSpan:
        span.finish(name, attributes)
        return
    if name is not None:
        span.update_name(name)
    span.set_attributes(attributes)
    if failure is not None:
        span.record_exception(failure)
    if status >= 500:
        span.set_status(
            trace.StatusCode.ERROR, f"HTTP {status}" if failure is None else type(failure).__name__
        )
    span.end()
