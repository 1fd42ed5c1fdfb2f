"""microlib's lean tracer: the OpenTelemetry ``Tracer`` API, the SDK's decisions, less of its cost.

It samples as ``ParentBased(TraceIdRatioBased(ratio))`` does, makes ids as
the SDK's ``RandomIdGenerator`` does, and gives its spans to the SDK's span
processors, so batching and export are the SDK's. What it leaves out is the
SDK's generality: a pluggable sampler and id generator, the sampler's
result objects, and its own span metrics. docs/adr/0006-lean-spans.md has
the measurements and the guarantees.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextvars import Token
from random import getrandbits
from time import time_ns

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.environment_variables import OTEL_SDK_DISABLED
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanLimits, TracerProvider
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, TraceFlags
from opentelemetry.trace.span import DEFAULT_TRACE_STATE
from opentelemetry.util import types

from microlib.observability._lean_span import FrameworkAttributes, LeanSpan, SpanOrigin, SpanProcessors
from microlib.observability._otel_private import (
    CURRENT_CONTEXT,
    SPAN_KEY,
    agnosticcontextmanager,
    span_context_of,
)

__all__ = ["LeanTracer", "LeanTracerProvider", "attach", "detach", "lean_tracing"]

# TraceIdRatioBased looks at the trace id's low 64 bits only.
_LOW_64 = (1 << 64) - 1
# Trace flags by (sampled, random trace id); a root's trace id is random, as
# with the SDK's RandomIdGenerator, whose ids these are.
_FLAGS = {
    (sampled, random_id): TraceFlags(
        (TraceFlags.SAMPLED if sampled else 0) | (TraceFlags.RANDOM_TRACE_ID if random_id else 0)
    )
    for sampled in (False, True)
    for random_id in (False, True)
}
# A root's flags, indexed by whether it is sampled (False is 0, True is 1).
_ROOT_FLAGS = (_FLAGS[False, True], _FLAGS[True, True])


class LeanTracer(trace.Tracer):
    """A tracer whose recording spans are :class:`LeanSpan` objects.

    Args:
        ratio: The root sampling ratio of ``ParentBased(TraceIdRatioBased(ratio))``.
        origin: The provider (resource), scope, limits and processor its spans share.
    """

    def __init__(self, ratio: float, origin: SpanOrigin) -> None:
        self._bound = TraceIdRatioBased(ratio).bound
        self._origin = origin
        self.processors = origin.processor
        """Where the spans go when they end; ``processors.wired`` says whether a span's
        attribute encoding given with them is used (``start_server_span``'s ``wire``)."""

    def start_span(
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: types.Attributes = None,
        links: Sequence[Link] | None = (),
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> trace.Span:
        """Start a span, child of the span in ``context`` (default: the current context).

        Unsampled spans are non-recording but carry a valid context, so
        their children and outgoing calls stay in the trace.
        """
        parent = _parent(context)
        span_context, sampled = self._new_span_context(parent)
        if not sampled:
            return trace.NonRecordingSpan(span_context)
        origin = self._origin
        span = LeanSpan(
            name, span_context, parent, kind, origin, start_time if start_time is not None else time_ns(), {}
        )
        if attributes:
            span._begin(attributes)
        if links:
            span._link_all(links)
        if not record_exception:
            span._record_exception = False
        if not set_status_on_exception:
            span._set_status_on_exception = False
        if origin.processor.starts:
            # Typed for the SDK's Span; processors read a ReadableSpan and use the Span API.
            origin.processor.on_start(span, parent_context=context)  # type: ignore[arg-type]
        return span

    def start_server_span(
        self,
        name: str,
        context: Context | None,
        attributes: dict[str, types.AttributeValue],
        *,
        kind: SpanKind = SpanKind.SERVER,
        wire: bytes | None = None,
    ) -> tuple[trace.Span, Context]:
        """``start_span(name, context, kind, FrameworkAttributes(attributes))``, and the context
        ``trace.set_span_in_context(span, context)`` makes current: the span of a call served
        (the HTTP edge's, a consumer's).

        The same span and context, without the context API's calls: ``attributes``
        hold only values microlib produced itself, and the span keeps the dict.

        Args:
            name: The span's name.
            context: The caller's context (parent span, baggage), or None for the current one.
            attributes: The span's first attributes; the caller gives the dict up.
            kind: The span's kind.
            wire: The OTLP encoding of ``attributes`` (``_otlp_wire.span_attribute_entries``),
                for the exporter to use rather than encode them again.

        Returns:
            The span, and the context to attach while it is current.
        """
        base = context if context is not None else _current_context()
        # Most served calls have no span around them: the parent lookup only when one is there.
        found = base.get(SPAN_KEY)
        parent = None if found is None else _parent_of(found)
        span_context, sampled = self._new_span_context(parent)
        if not sampled:
            span: trace.Span = trace.NonRecordingSpan(span_context)
        else:
            origin = self._origin
            limit = origin.limits.max_span_attributes
            kept = origin.trusts_framework and (limit is None or len(attributes) <= limit)
            span = lean = LeanSpan(
                name, span_context, parent, kind, origin, time_ns(), attributes if kept else {}
            )
            if not kept:
                lean._begin(FrameworkAttributes(attributes))
            elif wire is not None:
                lean._wire = wire
            if origin.processor.starts:
                origin.processor.on_start(lean, parent_context=context)  # type: ignore[arg-type]
        # Most served calls come without a caller's context: nothing of it to copy.
        return span, Context({**base, SPAN_KEY: span} if base else {SPAN_KEY: span})

    def _new_span_context(self, parent: SpanContext | None) -> tuple[SpanContext, bool]:
        """A new span's context, child of ``parent`` (its sampling decision), or the root of a new
        trace sampled at the tracer's ratio; and whether the span is sampled."""
        # Ids drawn in the SDK's order (trace id, then span id); zero, once in 2**64 draws, is drawn again.
        if parent is None:
            trace_id = getrandbits(128) or _nonzero_bits(128)
            sampled = trace_id & _LOW_64 < self._bound
            span_id = getrandbits(64) or _nonzero_bits(64)
            flags = _ROOT_FLAGS[sampled]
            return span_context_of((trace_id, span_id, False, flags, DEFAULT_TRACE_STATE, True)), sampled
        parent_flags = parent.trace_flags
        sampled = parent_flags.sampled
        flags = _FLAGS[sampled, parent_flags.random_trace_id]
        span_id = getrandbits(64) or _nonzero_bits(64)
        return span_context_of((parent.trace_id, span_id, False, flags, parent.trace_state, True)), sampled

    @agnosticcontextmanager
    def start_as_current_span(
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: types.Attributes = None,
        links: Sequence[Link] | None = (),
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
        end_on_exit: bool = True,
    ) -> Iterator[trace.Span]:
        """Start a span and make it current for the block, as the SDK's tracer does.

        An exception leaving the block is recorded (``record_exception``)
        and sets an error status (``set_status_on_exception``); the span
        ends on exit unless ``end_on_exit`` is false. Works as a decorator
        of sync and async functions too.
        """
        span = self.start_span(
            name, context, kind, attributes, links, start_time, record_exception, set_status_on_exception
        )
        with trace.use_span(
            span,
            end_on_exit=end_on_exit,
            record_exception=record_exception,
            set_status_on_exception=set_status_on_exception,
        ) as current:
            yield current


class LeanTracerProvider(TracerProvider):
    """The SDK's provider, whose tracers are lean.

    Instrumentation that asks the provider for a tracer (the database's
    statement spans, a library's instrumentor given this provider) gets a
    :class:`LeanTracer` of its own scope, whose spans go to the same
    processors: the SDK's tracer would make the same spans at several times
    the cost (docs/adr/0006-lean-spans.md).

    Args:
        ratio: The root sampling ratio, as ``ParentBased(TraceIdRatioBased(ratio))``.
        resource: The resource of every span.
        limits: The span limits.
    """

    def __init__(self, ratio: float, resource: Resource, limits: SpanLimits) -> None:
        self._processor = SpanProcessors()
        # shutdown_on_exit=False: a service flushes within its own stop budget;
        # the SDK's atexit hook could block interpreter exit on a collector that
        # does not answer.
        super().__init__(
            resource=resource,
            sampler=ParentBased(TraceIdRatioBased(ratio)),
            shutdown_on_exit=False,
            active_span_processor=self._processor,
            span_limits=limits,
        )
        self._ratio = ratio
        self._limits = limits
        self._off = os.environ.get(OTEL_SDK_DISABLED, "").strip().lower() == "true"
        self._lean: dict[InstrumentationScope, LeanTracer] = {}

    def get_tracer(
        self,
        instrumenting_module_name: str,
        instrumenting_library_version: str | None = None,
        schema_url: str | None = None,
        attributes: types.Attributes = None,
    ) -> trace.Tracer:
        """A lean tracer of this scope; a no-op one when ``OTEL_SDK_DISABLED`` is true, as the SDK's."""
        if self._off:
            return trace.NoOpTracer()
        scope = InstrumentationScope(
            instrumenting_module_name or "", instrumenting_library_version or "", schema_url, attributes
        )
        tracer = self._lean.get(scope)
        if tracer is None:
            origin = SpanOrigin(self, scope, self._limits, self._processor)
            tracer = self._lean.setdefault(scope, LeanTracer(self._ratio, origin))
        return tracer


def lean_tracing(
    resource: Resource, ratio: float, version: str, limits: SpanLimits | None = None
) -> tuple[TracerProvider, trace.Tracer]:
    """A provider whose tracers are lean, and microlib's own tracer from it.

    Span processors added to the provider receive every tracer's spans, and
    flushing or shutting down the provider covers them. Like the SDK's
    tracers, they are no-ops when ``OTEL_SDK_DISABLED`` is true.

    Args:
        resource: The resource of every span.
        ratio: The share of root spans sampled, 0 to 1.
        version: The version of the ``microlib`` instrumentation scope.
        limits: Span limits; by default the SDK's (environment variables included).
    """
    provider = LeanTracerProvider(ratio, resource, limits if limits is not None else SpanLimits())
    return provider, provider.get_tracer("microlib", version)


attach: Callable[[Context], Token[Context]] = (
    CURRENT_CONTEXT.set if CURRENT_CONTEXT is not None else otel_context.attach
)
"""``opentelemetry.context.attach(context)``: the variable's own ``set``, no call of ours around
it, unless ``OTEL_PYTHON_CONTEXT`` chose another runtime context."""


def detach(token: Token[Context]) -> None:
    """``opentelemetry.context.detach(token)``, for a token :func:`attach` gave."""
    if CURRENT_CONTEXT is not None:
        try:
            CURRENT_CONTEXT.reset(token)
            return
        except Exception:
            pass  # made in another context, or used: the API's detach logs it, as it would have
    otel_context.detach(token)


# The current context, as the context API reads it: the variable itself when it is the runtime's.
_current_context: Callable[[], Context] = (
    CURRENT_CONTEXT.get if CURRENT_CONTEXT is not None else otel_context.get_current
)


def _context(context: Context | None) -> Context:
    """``context``, or the current one when None (as the context API reads it)."""
    return context if context is not None else _current_context()


def _parent(context: Context | None) -> SpanContext | None:
    """The valid span context ``trace.get_current_span(context)`` has, else None: a root follows.

    Raises:
        TypeError: the span there gives no ``SpanContext``, as the SDK's tracer raises.
    """
    return _parent_of(_context(context).get(SPAN_KEY))


def _parent_of(span: object) -> SpanContext | None:
    """:func:`_parent` of a context holding ``span`` under the span key."""
    if span is None or not isinstance(span, trace.Span):
        return None
    found = span.get_span_context()
    if found is not None and not isinstance(found, SpanContext):
        raise TypeError("parent_span_context must be a SpanContext or None.")
    return found if found is not None and found.is_valid else None


def _nonzero_bits(bits: int) -> int:
    # What drawing until the id is not zero gives, after a zero.
    drawn = getrandbits(bits)
    while not drawn:
        drawn = getrandbits(bits)
    return drawn
