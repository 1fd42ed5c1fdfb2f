"""Spans encoded as they end (``lean_span_sink``), with the framework's attribute encodings
(``wire``), export exactly what the SDK's encoder writes for the same spans."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from opentelemetry.util.types import AttributeValue

from microlib.observability._lean_span import FrameworkAttributes, LeanSpan
from microlib.observability._lean_tracer import LeanTracer, LeanTracerProvider
from microlib.observability._otlp_wire import (
    EncodedSpan,
    encode_request,
    lean_span_sink,
    span_attribute_entries,
)

_VALUES: list[AttributeValue] = ["GET", "/a", "", "é" * 20, True, False, 1, 0, 8080, 1.0, -0.0, 0.5]
_KEYS = ["http.request.method", "url.path", "server.port", "k", "http.route", "é"]


def _attributes(pick: random.Random, size: int) -> dict[str, AttributeValue]:
    return {pick.choice(_KEYS): pick.choice(_VALUES) for _ in range(size)}


def _encoded_and_whole(seed: int, limits: SpanLimits) -> tuple[list[EncodedSpan], list[ReadableSpan]]:
    """Spans started and finished with their encodings, some changed in between by "user code"."""
    pick = random.Random(seed)
    provider = LeanTracerProvider(1.0, Resource.create({"service.name": "wired"}), limits)
    tracers = [provider.get_tracer("microlib", "1.0"), provider.get_tracer("other")]
    remote = SpanContext(0x4BF92F3577B34DA6A3CE929D0E0E4736, 0x00F067AA0BA902B7, True, TraceFlags(1))
    encoded: list[EncodedSpan] = []
    ended = lean_span_sink(encoded.append)
    spans: list[ReadableSpan] = []
    for _ in range(200):
        tracer = pick.choice(tracers)
        assert isinstance(tracer, LeanTracer)
        parent = pick.choice([None, trace.set_span_in_context(NonRecordingSpan(remote))])
        first = _attributes(pick, pick.randrange(0, 9))
        span, _ = tracer.start_server_span("GET", parent, first, wire=span_attribute_entries(first))
        assert isinstance(span, LeanSpan)
        change = pick.randrange(6)
        if change == 1:
            span.set_attribute(pick.choice(_KEYS), pick.choice(_VALUES))
        elif change == 2:
            span.set_attributes(_attributes(pick, 2))
        elif change == 3:
            span.add_event("e", {"k": "v"})
        elif change == 4:
            span.set_status(trace.StatusCode.ERROR, "broke")
        last = FrameworkAttributes(_attributes(pick, pick.randrange(0, 4)))
        wire = pick.choice([span_attribute_entries(last), None])
        span.finish(pick.choice(["GET /a", None]), last, framework=True, wire=wire)
        ended(span)
        spans.append(span)
    return encoded, spans


def test_spans_encoded_as_they_end_are_the_sdks_spans() -> None:
    """Keys set again (which move to the end), user attributes, events, status, no wire at the end."""
    for seed in range(4):
        encoded, spans = _encoded_and_whole(seed, SpanLimits())
        for size in (1, 7, len(spans)):
            assert encode_request(encoded[:size]) == encode_spans(spans[:size]).SerializeToString()


def test_spans_whose_oldest_attributes_are_evicted() -> None:
    """Beyond the count limit the oldest attributes go: the encoding given is not theirs any more."""
    for seed in range(4):
        encoded, spans = _encoded_and_whole(seed, SpanLimits(max_span_attributes=5))
        assert any(span.dropped_attributes for span in spans)
        assert encode_request(encoded) == encode_spans(spans).SerializeToString()


def test_encoded_and_whole_spans_in_one_batch() -> None:
    """A batch may mix spans queued encoded with spans queued whole (from before the exporter came)."""
    encoded, spans = _encoded_and_whole(9, SpanLimits())
    mixed: list[Any] = [
        item if index % 3 else span for index, (item, span) in enumerate(zip(encoded, spans, strict=True))
    ]
    assert encode_request(mixed) == encode_spans(spans).SerializeToString()


class _Encoding(SpanExporter):
    """An exporter that takes spans encoded as they end, as ``EncodedGrpcExporter`` does."""

    def __init__(self) -> None:
        self.requests: list[bytes] = []
        self.lean_span_sink: Callable[..., Any] = lean_span_sink

    def export(self, spans: Any) -> SpanExportResult:
        self.requests.append(encode_request(spans))
        return SpanExportResult.SUCCESS


def test_a_batch_of_such_an_exporter_gets_spans_encoded() -> None:
    """The provider's processors find the exporter's sink: its batch holds bytes, spans export as before."""
    provider = LeanTracerProvider(1.0, Resource.create({"service.name": "wired"}), SpanLimits())
    exporter = _Encoding()
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=60_000))
    processors = provider.get_tracer("microlib").processors  # type: ignore[attr-defined]
    assert processors.wired
    tracer = provider.get_tracer("microlib")
    spans = []
    for index in range(3):
        first = {"url.path": f"/{index}", "server.port": 8080}
        span, _ = tracer.start_server_span("GET", None, first, wire=span_attribute_entries(first))  # type: ignore[attr-defined]
        last = FrameworkAttributes({"http.route": "/{n}"})
        span.finish("GET /{n}", last, wire=span_attribute_entries(last))
        spans.append(span)
    provider.force_flush()
    provider.shutdown()
    assert exporter.requests == [encode_spans(spans).SerializeToString()]
