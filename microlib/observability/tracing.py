"""Tracer set-up from settings: one TracerProvider per service, used explicitly.

The process-global tracer provider is never set, so two services in one
process keep their own resource, sampler and exporter. W3C tracecontext and
baggage are extracted and injected with explicit propagators for the same
reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
from collections.abc import Iterator, Mapping, MutableMapping

from opentelemetry import baggage, trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.context import Context
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.trace.span import DEFAULT_TRACE_STATE
from opentelemetry.util.types import AttributeValue

from microlib.config.model import TracingSettings
from microlib.observability._lean_tracer import lean_tracing
from microlib.observability._otel_private import SPAN_KEY, new_span_context
from microlib.observability.identity import ServiceIdentity, _serving_tracer

__all__ = ["Tracing", "start_span"]

_BAGGAGE = W3CBaggagePropagator()
_TRACE_CONTEXT = TraceContextTextMapPropagator()
_PROPAGATOR = CompositePropagator([_TRACE_CONTEXT, _BAGGAGE])
# A traceparent as microlib (and most tracers) write it; others take the propagator's path.
_TRACEPARENT_00 = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_TRACE_FLAGS = {"00": trace.TraceFlags(0), "01": trace.TraceFlags(1)}


class Tracing:
    """A service's tracer: resource, parent-based ratio sampler, batch export.

    ``tracer`` implements the OpenTelemetry tracer API with microlib's lean
    spans, which the SDK's processors and exporters take as they take their
    own (docs/adr/0006-lean-spans.md); ``provider`` is the SDK provider that
    holds those processors, for other instrumentation to use.

    Args:
        settings: The ``tracing`` section.
        identity: Becomes ``service.name``, ``service.version``,
            ``deployment.environment.name`` and ``service.instance.id``.
        exporter: Overrides the exporter chosen by ``settings.exporter``.
    """

    def __init__(
        self, settings: TracingSettings, identity: ServiceIdentity, *, exporter: SpanExporter | None = None
    ) -> None:
        self.enabled = settings.enabled
        self.provider: TracerProvider | None = None
        self._exporter: SpanExporter | None = None
        if not settings.enabled:
            self.tracer: trace.Tracer = trace.NoOpTracer()
            return
        resource = Resource.create(
            {
                "service.name": identity.name,
                "service.version": identity.version,
                "deployment.environment.name": identity.environment,
                "service.instance.id": identity.instance_id,
                **settings.resource_attributes,
            }
        )
        # The provider holds the processors (flush, shutdown) and serves
        # other instrumentation (the database's); microlib's own spans come
        # from the lean tracer, which feeds the same processors.
        self.provider, self.tracer = lean_tracing(resource, settings.sample_ratio, identity.version)
        chosen = self._exporter = exporter if exporter is not None else _exporter(settings)
        if chosen is not None:
            self.provider.add_span_processor(
                BatchSpanProcessor(
                    chosen,
                    max_queue_size=settings.max_queue_size,
                    max_export_batch_size=min(settings.max_export_batch_size, settings.max_queue_size),
                    schedule_delay_millis=settings.schedule_delay * 1000,
                    export_timeout_millis=settings.timeout * 1000,
                )
            )

    @staticmethod
    def extract(carrier: Mapping[str, str]) -> Context:
        """The context (parent span, baggage) carried by W3C headers in ``carrier``."""
        return _PROPAGATOR.extract(carrier)

    @staticmethod
    def extract_trace(carrier: Mapping[str, str]) -> Context:
        """What :meth:`extract` gives for a ``carrier`` without ``baggage``: the parent span only.

        The usual header, a canonical version-00 ``traceparent`` alone, is
        read here, to the same context the W3C propagator would make, without
        its getter, its pattern search and the context API's copies; any other
        goes to the propagator.
        """
        header = carrier.get("traceparent")
        if type(header) is str and "tracestate" not in carrier:
            found = _TRACEPARENT_00.fullmatch(header)
            if found is not None:
                trace_id, span_id = int(found[1], 16), int(found[2], 16)
                if trace_id and span_id:
                    flags = _TRACE_FLAGS.get(found[3]) or trace.TraceFlags(int(found[3], 16))
                    parent = new_span_context(trace_id, span_id, flags, DEFAULT_TRACE_STATE, remote=True)
                    return Context({SPAN_KEY: trace.NonRecordingSpan(parent)})
        return _TRACE_CONTEXT.extract(carrier)

    @staticmethod
    def inject(carrier: MutableMapping[str, str], context: Context | None = None) -> None:
        """Write ``traceparent``, ``tracestate`` and ``baggage`` for ``context`` into ``carrier``."""
        _PROPAGATOR.inject(carrier, context)

    @staticmethod
    def inject_span(carrier: MutableMapping[str, str], span: trace.Span) -> None:
        """What :meth:`inject` writes for ``span`` in the current context, without
        building that context: ``traceparent`` (and ``tracestate``) as the W3C
        propagator formats them, then the current baggage, if any."""
        found = span.get_span_context()
        if found.is_valid:
            carrier["traceparent"] = f"00-{found.trace_id:032x}-{found.span_id:016x}-{found.trace_flags:02x}"
            if found.trace_state:
                carrier["tracestate"] = found.trace_state.to_header()
        if baggage.get_all():
            _BAGGAGE.inject(carrier)

    async def shutdown(self, timeout: float) -> None:
        """Export pending spans and stop the exporter, within ``timeout`` seconds."""
        provider = self.provider
        if provider is None:
            return
        millis = int(timeout * 1000)

        def flush_and_stop() -> None:
            provider.force_flush(millis)
            provider.shutdown()

        loop = asyncio.get_running_loop()
        done = loop.create_future()

        def run() -> None:
            try:
                flush_and_stop()
            finally:
                # Abandoned at the deadline, the thread may outlive the loop:
                # then nobody waits for it any more.
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(_resolve, done)

        # A daemon thread, not the loop's executor: when the collector hangs,
        # the thread is abandoned at the deadline and cannot hold up exit.
        threading.Thread(target=run, name="microlib-trace-shutdown", daemon=True).start()
        try:
            async with asyncio.timeout(timeout):
                await done
        except TimeoutError:
            # The collector did not take the spans in time. Stopping the exporter ends
            # its retries (up to tracing.timeout of backoff), which the abandoned thread
            # would otherwise run on with: in a process that goes on (tests, a service
            # started again in-process), for nothing.
            if self._exporter is not None:
                self._exporter.shutdown()


@contextlib.contextmanager
def start_span(
    name: str,
    *,
    kind: trace.SpanKind = trace.SpanKind.INTERNAL,
    attributes: Mapping[str, AttributeValue] | None = None,
) -> Iterator[trace.Span]:
    """Start a child span of the current one, with the current service's tracer.

    An exception leaving the block is recorded on the span, which is marked
    as an error. Outside a call (a background task) the tracer of the last
    service built in the process is used; without any, the global
    OpenTelemetry tracer.

    Args:
        name: The span name; keep it low-cardinality (``load-invoice``).
        kind: The OpenTelemetry span kind.
        attributes: Initial attributes.
    """
    tracer = _serving_tracer() or (_default_tracer[0] if _default_tracer else trace.get_tracer("microlib"))
    with tracer.start_as_current_span(name, kind=kind, attributes=attributes) as span:
        yield span


_default_tracer: list[trace.Tracer] = []


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _set_default_tracer(tracer: trace.Tracer) -> None:
    _default_tracer[:] = [tracer]


def _exporter(settings: TracingSettings) -> SpanExporter | None:
    if settings.exporter == "none":
        return None
    # The OTLP exporters import grpc and requests machinery: only when used.
    from microlib.observability.otlp import build_exporter

    return build_exporter(settings)
