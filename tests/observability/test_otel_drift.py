"""What microlib.observability._otel_private relies on in OpenTelemetry, checked on the installed release."""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import json
from collections.abc import Iterator

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.grpc.exporter import OTLPExporterMixin
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, SynchronousMultiSpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from microlib.observability._lean_span import LeanSpan
from microlib.observability._lean_tracer import lean_tracing
from microlib.observability._otel_private import (
    CURRENT_CONTEXT,
    SPAN_KEY,
    agnosticcontextmanager,
    clean_attribute_value,
    context_ids,
    ending_hook,
    new_span_context,
    sampled_span_sink,
)
from microlib.observability._otlp_grpc_private import EncodedGrpcExporter, _EncodedStub
from microlib.observability._otlp_wire import encode_request, lean_span_sink

# The fields ReadableSpan's properties and to_json() read, which LeanSpan sets itself.
_READABLE_SPAN_STATE = {
    "_name",
    "_context",
    "_kind",
    "_instrumentation_info",
    "_instrumentation_scope",
    "_parent",
    "_start_time",
    "_end_time",
    "_attributes",
    "_events",
    "_links",
    "_resource",
    "_status",
}


def test_readable_span_keeps_its_state_where_the_lean_span_sets_it() -> None:
    """ReadableSpan's state is exactly these fields, and a lean span has each of them but
    ``_resource``, which only the ``resource`` property reads: the lean span's own answers
    its provider's resource."""
    assert set(vars(ReadableSpan(name="x"))) == _READABLE_SPAN_STATE
    resource = Resource.create({"service.name": "drift"})
    provider, tracer = lean_tracing(resource, 1.0, "1.0", None)
    span = tracer.start_span("x")
    assert isinstance(span, LeanSpan)
    assert set(vars(span)) | set(vars(LeanSpan)) >= _READABLE_SPAN_STATE - {"_resource"}
    assert LeanSpan.resource is not ReadableSpan.resource
    assert span.resource is provider.resource
    span.end()
    assert json.loads(span.to_json())["resource"]["attributes"]["service.name"] == "drift"


def test_the_attribute_cleaner_is_the_one_bounded_attributes_uses() -> None:
    """Cleaning a mapping gives what BoundedAttributes keeps: keys checked, sequences made tuples, cut."""
    raw = {"s": "abcdefgh", "n": 3, "seq": ["ab", "abcdefgh"], "": 1, 7: "seven", "obj": object()}
    bounded = BoundedAttributes(attributes=raw, immutable=False, max_value_len=4)  # type: ignore[arg-type]
    cleaned = clean_attribute_value(raw, 4)  # type: ignore[arg-type]
    assert dict(cleaned) == dict(bounded)
    assert cleaned["seq"] == ("ab", "abcd")
    assert clean_attribute_value([1, 2], None) == (1, 2)


def test_the_context_manager_decorator_serves_with_and_coroutines() -> None:
    """The API's decorator makes one generator a context manager and a decorator of coroutines."""
    events: list[str] = []

    @agnosticcontextmanager
    def around(name: str) -> Iterator[str]:
        events.append(f"enter {name}")
        yield name
        events.append(f"exit {name}")

    with around("block") as value:
        assert value == "block"

    @around("decorated")
    async def work() -> int:
        events.append("work")
        return 1

    assert asyncio.run(work()) == 1
    assert events == ["enter block", "exit block", "enter decorated", "work", "exit decorated"]


class _Ending(SpanProcessor):
    def __init__(self) -> None:
        self.ended: list[tuple[str, bool]] = []

    def _on_ending(self, span: ReadableSpan) -> None:
        self.ended.append((span.name, span.end_time is not None))


def test_the_sdk_span_calls_the_ending_hook_the_lean_span_calls() -> None:
    """The SDK's span calls ``_on_ending`` once it has its end time; the multi-processor passes it on."""
    provider = TracerProvider(shutdown_on_exit=False)
    hooks = _Ending()
    provider.add_span_processor(hooks)
    provider.get_tracer("drift").start_span("sdk").end()
    assert hooks.ended == [("sdk", True)]
    multi = SynchronousMultiSpanProcessor()
    multi.add_span_processor(hooks)
    ending_hook(multi)(ReadableSpan(name="direct", end_time=1))
    assert hooks.ended[-1] == ("direct", True)


def test_the_grpc_exporter_translates_spans_in_the_step_microlib_replaces() -> None:
    """``_translate_data`` makes the request ``_export`` sends through ``_client``, the ``_stub``
    made on each channel; the encoded request is the SDK's, and the client sends it as bytes."""
    assert "self._translate_data(" in inspect.getsource(OTLPExporterMixin._export)
    assert "self._client = self._stub(self._channel)" in inspect.getsource(
        OTLPExporterMixin._initialize_channel_and_stub
    )
    provider, tracer = lean_tracing(Resource.create({"service.name": "drift"}), 1.0, "1.0", None)
    spans = [tracer.start_span("a", attributes={"k": "v"}), tracer.start_span("b")]
    for span in spans:
        span.end()
    ended = [span for span in spans if isinstance(span, ReadableSpan)]
    exporter = EncodedGrpcExporter(
        encode_request, lean_span_sink, endpoint="localhost:1", insecure=True, headers={}, timeout=1
    )
    try:
        assert len(ended) == 2
        assert ExportTraceServiceRequest.FromString(exporter._translate_data(ended)) == encode_spans(ended)
        assert isinstance(exporter._client, _EncodedStub)
    finally:
        exporter.shutdown()
        provider.shutdown()


def test_the_current_context_lives_in_the_variable_the_edge_sets() -> None:
    """The API's attach sets, get_current reads and detach resets ``CURRENT_CONTEXT``."""
    assert CURRENT_CONTEXT is not None

    def check() -> None:
        context = otel_context.set_value("drift", 1)
        token = otel_context.attach(context)
        assert CURRENT_CONTEXT.get() is context
        otel_context.detach(token)
        assert CURRENT_CONTEXT.get() is not context
        mine = otel_context.set_value("drift", 2)
        own = CURRENT_CONTEXT.set(mine)
        assert otel_context.get_current() is mine
        CURRENT_CONTEXT.reset(own)
        assert otel_context.get_value("drift") is None

    contextvars.copy_context().run(check)


def test_the_span_key_is_the_one_set_span_in_context_uses() -> None:
    """``set_span_in_context`` stores the span under ``SPAN_KEY``; ``get_current_span`` reads it there."""
    span = trace.NonRecordingSpan(trace.SpanContext(1, 2, False))
    context = trace.set_span_in_context(span)
    assert context[SPAN_KEY] is span
    assert trace.get_current_span(otel_context.Context({SPAN_KEY: span})) is span


def test_a_span_context_is_the_tuple_new_span_context_makes() -> None:
    """Same fields, same properties, same equality and pickling as the validating constructor's."""
    state = trace.TraceState([("vendor", "v")])
    flags = trace.TraceFlags(3)
    theirs = trace.SpanContext(2**128 - 1, 2**64 - 1, is_remote=False, trace_flags=flags, trace_state=state)
    ours = new_span_context(2**128 - 1, 2**64 - 1, flags, state)
    assert type(ours) is trace.SpanContext
    assert tuple(ours) == tuple(theirs)
    assert ours == theirs
    assert (
        ours.trace_id,
        ours.span_id,
        ours.is_remote,
        ours.trace_flags,
        ours.trace_state,
        ours.is_valid,
    ) == (
        theirs.trace_id,
        theirs.span_id,
        theirs.is_remote,
        theirs.trace_flags,
        theirs.trace_state,
        theirs.is_valid,
    )
    assert ours.__getnewargs__() == theirs.__getnewargs__()


def test_context_ids_reads_what_the_properties_read() -> None:
    """``context_ids`` gives the trace id, span id, remoteness and trace state of any span context."""
    state = trace.TraceState([("vendor", "v")])
    remote = trace.SpanContext(7, 9, is_remote=True, trace_flags=trace.TraceFlags(1), trace_state=state)
    assert context_ids(remote) == (7, 9, True, state)
    local = new_span_context(5, 6, trace.TraceFlags(1), state)
    assert context_ids(local) == (local.trace_id, local.span_id, local.is_remote, local.trace_state)


def test_a_batch_processor_emits_a_sampled_span_to_its_batch_and_nothing_more() -> None:
    """``BatchSpanProcessor.on_end`` skips an unsampled span and gives any other to its batch's
    ``emit``, which is what ``sampled_span_sink`` hands the lean spans (always sampled)."""
    source = inspect.getsource(BatchSpanProcessor.on_end)
    body = [line.strip() for line in source.splitlines()[1:] if line.strip()]
    assert body == [
        "if not (span.context and span.context.trace_flags.sampled):",
        "return",
        "self._batch_processor.emit(span)",
    ]
    exporter = InMemorySpanExporter()
    processor = BatchSpanProcessor(exporter)
    try:
        sink = sampled_span_sink(processor)
        assert sink is not None
        assert sink == processor._batch_processor.emit
        span = ReadableSpan(name="sampled", context=trace.SpanContext(1, 2, False, trace.TraceFlags(1)))
        sink(span)
        processor.force_flush()
        assert list(exporter.get_finished_spans()) == [span]
    finally:
        processor.shutdown()
    assert sampled_span_sink(SimpleSpanProcessor(exporter)) is None
