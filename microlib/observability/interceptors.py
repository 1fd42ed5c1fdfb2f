"""The tracing, metrics and logging interceptors of the shared chain.

They work for every ``ctx.kind``. For HTTP requests under the
:class:`~microlib.http.HttpEdge` the edge
already owns the span, the ``http_server_*`` metrics and the access line,
so these only enrich what the edge records.
"""

from __future__ import annotations

import logging
import time
from contextvars import Token
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan

from microlib.core.chain import Stage
from microlib.core.context import CallContext
from microlib.core.context import _current as _call
from microlib.core.errors import Code
from microlib.observability._exchange import _Exchange
from microlib.observability._lean_span import FrameworkAttributes, LeanSpan
from microlib.observability._lean_tracer import LeanTracer, attach, detach
from microlib.observability._structlog_private import ABSENT, field_var
from microlib.observability.identity import ServiceIdentity, _current, _Serving
from microlib.observability.logging import AccessLog
from microlib.observability.outcome import outcome_code, server_fault
from microlib.observability.processors import _hex_ids

if TYPE_CHECKING:
    from microlib.config.model import Settings
    from microlib.observability.metrics import Metrics
    from microlib.observability.tracing import Tracing

__all__ = ["LoggingInterceptor", "MetricsInterceptor", "Telemetry", "TracingInterceptor"]


class Telemetry(Protocol):
    """What the interceptors read of :class:`~microlib.observability.stack.Observability`.

    A protocol, so this module does not import ``stack``, which builds the interceptors.
    ``settings`` is read at each call: a hot reload replaces it.
    """

    @property
    def settings(self) -> Settings:
        """The whole configuration (``metrics`` and ``logging`` are read)."""
        ...

    @property
    def identity(self) -> ServiceIdentity:
        """The service identity put on spans."""
        ...

    @property
    def tracing(self) -> Tracing:
        """The service's tracer."""
        ...

    @property
    def metrics(self) -> Metrics:
        """The service's metrics registry."""
        ...


_ACCESS_LOGGER = "microlib.access"

# (metric prefix, noun) per kind: rpc_server_requests_total, job_runs_total...
_METRIC_NAMES = {
    "grpc": ("rpc_server", "requests"),
    "message": ("messaging_consumer", "messages"),
    "job": ("job", "runs"),
}
_SPAN_KINDS = {"http": trace.SpanKind.SERVER, "grpc": trace.SpanKind.SERVER}
# What the W3C propagators extract from headers that carry neither
# ``traceparent`` nor ``baggage`` (contexts are immutable: one serves all).
_NO_PARENT = otel_context.Context()

# The span, and what entering bound.
_Traced: TypeAlias = tuple[trace.Span, tuple[Any, Any]]


class _MethodMetrics:
    """The metric children of one method: its in-flight gauge, and count and duration by code."""

    __slots__ = ("gauge", "key", "outcomes")

    def __init__(self, key: tuple[str, str, str], gauge: Any) -> None:
        self.key = key
        self.gauge = gauge
        self.outcomes: dict[str, tuple[Any, Any]] = {}


# The method's metrics and the start time.
_Counted: TypeAlias = tuple[_MethodMetrics, float]
# The kind and method field tokens when bound, and the start time when an access line is due.
_Logged: TypeAlias = tuple[tuple[Token[Any], Token[Any]] | None, float | None]


class TracingInterceptor(Stage):
    """A server (or consumer) span per call, child of the caller's W3C context.

    The parent comes from ``traceparent``/``tracestate``/``baggage`` in
    ``ctx.metadata``. The span is named ``service/method`` (gRPC semantic
    conventions) and records the outcome code; a failure is recorded as an
    exception event and, when it is the server's fault, as an error status.
    ``ctx.attributes`` gets ``trace_id`` and ``span_id``.

    Args:
        observability: The service's observability.
    """

    # The HTTP edge's span (no state) is the edge's to end: after a success, nothing to do.
    exit_needs_state_or_failure = True

    def __init__(self, observability: Telemetry) -> None:
        self._obs = observability
        self._tracer = observability.tracing.tracer
        self._serving = _Serving(observability.identity, self._tracer)
        # The name, kind and attributes each method's spans start with, made at its first call.
        self._methods: dict[tuple[str, str, str], tuple[str, trace.SpanKind, FrameworkAttributes]] = {}

    def enter(self, ctx: CallContext) -> _Traced | None:
        """Start the call's span (or name the HTTP edge's) and make it current."""
        if not self._obs.tracing.enabled:
            return None
        edge = _current.get() if ctx.kind == "http" else None
        if isinstance(edge, _Exchange):
            # The HTTP edge's span is the call's: name it after the method.
            edge.method = ctx.full_method
            span = edge.span
            if type(span) is LeanSpan:
                # Its context, always valid, read without the method and property calls.
                ctx.attributes["trace_id"], ctx.attributes["span_id"] = _hex_ids(span._context)
            else:
                context = span.get_span_context()
                if context.is_valid:
                    ctx.attributes["trace_id"], ctx.attributes["span_id"] = _hex_ids(context)
            # Nothing of its own to end: exited only when the call fails.
            return None
        metadata = ctx.metadata
        # Without either header the propagators find an empty context: not
        # asking them spares every call from an untraced caller their work;
        # without baggage, the baggage propagator would find nothing either.
        if metadata.get("baggage"):
            parent = self._obs.tracing.extract(metadata)
        elif metadata.get("traceparent"):
            parent = self._obs.tracing.extract_trace(metadata)
        else:
            parent = _NO_PARENT
        key = (ctx.kind, ctx.service, ctx.method)
        method = self._methods.get(key)
        if method is None:
            # Bounded like the metrics' label sets; a span copies the attributes it is given.
            kind = _SPAN_KINDS.get(ctx.kind, trace.SpanKind.CONSUMER)
            method = self._methods[key] = (ctx.full_method, kind, _call_attributes(ctx))
        name, kind, attributes = method
        # The service handling the call, bound for its log lines and spans.
        serving = _current.set(self._serving)
        # The caller's baggage stays in the context, for outgoing calls to carry on.
        tracer = self._tracer
        if type(tracer) is LeanTracer:
            # The same span and context as below, without the context API's calls;
            # the lean tracer's span contexts are always valid.
            span, current = tracer.start_server_span(name, parent, dict(attributes), kind=kind)
            ctx.attributes["trace_id"], ctx.attributes["span_id"] = _hex_ids(span.get_span_context())
            return (span, (attach(current), serving))
        span = tracer.start_span(name, context=parent, kind=kind, attributes=attributes)
        bound = (attach(trace.set_span_in_context(span, parent)), serving)
        _remember(ctx, span)
        return (span, bound)

    def exit(self, ctx: CallContext, state: _Traced | None, failure: BaseException | None) -> None:
        """Record the outcome on the span; end it when it is the call's own."""
        if state is None:
            if failure is not None and self._obs.tracing.enabled and ctx.kind == "http":
                edge = _current.get()
                if isinstance(edge, _Exchange):
                    # The HTTP edge's span: it ends it, and its status code tells a success.
                    _failed(ctx, edge.span, failure)
            return
        span, bound = state
        try:
            if type(span) is NonRecordingSpan:
                pass  # unsampled: it records nothing, whatever is set on it
            elif failure is not None:
                try:
                    _failed(ctx, span, failure)
                finally:
                    span.end()
            elif type(span) is LeanSpan:
                # The outcome set and the span ended in one step.
                span.finish(None, _GRPC_OK if ctx.kind == "grpc" else _OK)
            else:
                span.set_attributes(_GRPC_OK if ctx.kind == "grpc" else _OK)
                span.end()
        finally:
            detach(bound[0])
            _current.reset(bound[1])


def _failed(ctx: CallContext, span: trace.Span, exc: BaseException) -> None:
    code = outcome_code(exc)
    span.set_attribute("microlib.code", code)
    if ctx.kind == "grpc":
        # What the caller will see: recovery turns crashes into INTERNAL.
        span.set_attribute("rpc.grpc.status_code", Code[code].value)
    span.record_exception(exc)
    if server_fault(exc):
        span.set_status(trace.StatusCode.ERROR, f"{type(exc).__name__}: {exc}")


# The outcome attributes of a success, made once (spans copy what they are given).
_OK = FrameworkAttributes({"microlib.code": "OK"})
_GRPC_OK = FrameworkAttributes({"microlib.code": "OK", "rpc.grpc.status_code": 0})


class MetricsInterceptor(Stage):
    """Request count, duration and in-flight per call kind, with bounded labels.

    gRPC: ``rpc_server_requests_total{service,method,code}``,
    ``rpc_server_request_duration_seconds{service,method,code}``,
    ``rpc_server_requests_in_flight{service,method}``; messages:
    ``messaging_consumer_messages_*``; jobs: ``job_runs_*``. HTTP is counted
    by the edge middleware, which sees the status line and body sizes.

    Args:
        observability: The service's observability.
    """

    def __init__(self, observability: Telemetry) -> None:
        self._obs = observability
        self._families: dict[str, tuple[Any, Any, Any]] = {}
        # The label sets (methods, codes) are bounded, so their children are
        # cached per method, made at its first call (and first outcome of
        # each code): multi-process mode's prometheus-client metrics
        # validate and lock in every labels() call.
        self._methods: dict[tuple[str, str, str], _MethodMetrics] = {}

    def for_kind(self, kind: str) -> MetricsInterceptor | None:
        """No step for HTTP calls, which the edge counts: :meth:`enter` would do nothing."""
        return None if kind == "http" else self

    def enter(self, ctx: CallContext) -> _Counted | None:
        """Count the call in flight and start its clock."""
        if ctx.kind == "http":
            return None  # the HTTP edge counts requests
        key = (ctx.kind, ctx.service, ctx.method)
        method = self._methods.get(key)
        if method is None:
            if ctx.kind not in _METRIC_NAMES:
                return None
            gauge = self._family(ctx.kind)[2].labels(ctx.service, ctx.method)
            method = self._methods[key] = _MethodMetrics(key, gauge)
        method.gauge.inc()
        return (method, time.perf_counter())

    def exit(
        self,
        ctx: CallContext,
        state: _Counted | None,
        failure: BaseException | None,
    ) -> None:
        """Count the call by its outcome and observe its duration."""
        if state is None:
            return
        method, start = state
        try:
            code = "OK" if failure is None else outcome_code(failure)
            children = method.outcomes.get(code)
            if children is None:
                children = method.outcomes[code] = self._outcome(*method.key, code)
            count, duration = children
            count.inc()
            duration.observe(time.perf_counter() - start)
        finally:
            method.gauge.dec()

    def _outcome(self, kind: str, service: str, method: str, code: str) -> tuple[Any, Any]:
        count, duration, _ = self._family(kind)
        return (count.labels(service, method, code), duration.labels(service, method, code))

    def _family(self, kind: str) -> tuple[Any, Any, Any]:
        family = self._families.get(kind)
        if family is None:
            prefix, noun = _METRIC_NAMES[kind]
            metrics = self._obs.metrics
            singular = noun.removesuffix("s")
            family = self._families[kind] = (
                metrics.counter(
                    f"{prefix}_{noun}_total", f"{kind} calls completed.", ("service", "method", "code")
                ),
                metrics.histogram(
                    f"{prefix}_{singular}_duration_seconds",
                    f"{kind} call duration.",
                    ("service", "method", "code"),
                    buckets=self._obs.settings.metrics.duration_buckets,
                ),
                metrics.gauge(
                    f"{prefix}_{noun}_in_flight", f"{kind} calls in progress.", ("service", "method")
                ),
            )
        return family


class LoggingInterceptor(Stage):
    """Gives every log line of the call its fields, and logs its completion.

    Lines written during the call carry ``kind`` and ``method``. Unless
    ``logging.access_log`` is off, one line per call says how it ended
    (``code``, ``duration_ms``): at error level for server faults, info
    otherwise. For HTTP the edge writes that line instead.

    Args:
        observability: The service's observability.
    """

    # Nothing to unbind and no line due (an HTTP call under the edge, the usual case): no exit.
    exit_needs_state = True

    def __init__(self, observability: Telemetry) -> None:
        self._obs = observability
        self._access = AccessLog(_ACCESS_LOGGER)
        self._kind = field_var("kind")
        self._method = field_var("method")
        # Each method's ``full_method``, made at its first call: the property
        # would build the same string on every call.
        self._names: dict[tuple[str, str], str] = {}

    def enter(self, ctx: CallContext) -> _Logged | None:
        """Name the call's fields for its lines; start the clock when an access line is due."""
        key = (ctx.service, ctx.method)
        name = self._names.get(key)
        if name is None:
            name = self._names[key] = ctx.full_method
        ctx._logged_as = name
        bound = None
        kind, method = self._kind, self._method
        if kind.get(ABSENT) is not ABSENT or method.get(ABSENT) is not ABSENT or _call.get() is not ctx:
            # A field bound around the call, or a stage run outside a chain (no context bound
            # for its lines to read): bound for the call, over what is there.
            bound = (kind.set(ctx.kind), method.set(name))
        if (
            ctx.kind == "http" and isinstance(_current.get(), _Exchange)
        ) or not self._obs.settings.logging.access_log:
            return None if bound is None else (bound, None)
        return (bound, time.perf_counter())

    def exit(self, ctx: CallContext, state: _Logged | None, failure: BaseException | None) -> None:
        """Log how the call ended (with its fields still bound), then unbind them."""
        if state is None:
            return
        bound, start = state
        try:
            # Asked before the line's fields are gathered: at WARNING and
            # above (the usual production level) a success costs one check.
            if start is not None:
                fault = failure is not None and server_fault(failure)
                if self._access.enabled(logging.ERROR if fault else logging.INFO):
                    self._completed(failure, start, fault)
        finally:
            if bound is not None:
                self._method.reset(bound[1])
                self._kind.reset(bound[0])

    def _completed(self, failure: BaseException | None, start: float, fault: bool) -> None:
        fields = {
            "code": outcome_code(failure),
            "duration_ms": round((time.perf_counter() - start) * 1000, 3),
        }
        self._access.write("error" if fault else "info", "call completed", fields)


def _remember(ctx: CallContext, span: trace.Span) -> None:
    context = span.get_span_context()
    if context.is_valid:
        ctx.attributes["trace_id"], ctx.attributes["span_id"] = _hex_ids(context)


def _call_attributes(ctx: CallContext) -> FrameworkAttributes:
    if ctx.kind == "grpc":
        return FrameworkAttributes(
            {"rpc.system": "grpc", "rpc.service": ctx.service, "rpc.method": ctx.method}
        )
    if ctx.kind == "message":
        return FrameworkAttributes(
            {
                "messaging.operation.type": "process",
                "messaging.destination.name": ctx.service,
                "microlib.method": ctx.method,
            }
        )
    return FrameworkAttributes(
        {"microlib.kind": ctx.kind, "microlib.service": ctx.service, "microlib.method": ctx.method}
    )
