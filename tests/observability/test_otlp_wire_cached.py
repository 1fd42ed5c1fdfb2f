"""The OTLP wire encoder's cached fast paths write exactly what the SDK's encoder writes, span after span."""

from __future__ import annotations

import math
import random

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from opentelemetry.util.types import AttributeValue

from microlib.observability._lean_span import FrameworkAttributes
from microlib.observability._lean_tracer import LeanTracerProvider
from microlib.observability._otlp_wire import encode_request

# Values that recur (so the caches answer) and values that look alike to a
# dict but not on the wire: True == 1 == 1.0, and 0.0 == -0.0.
_VALUES: list[AttributeValue] = [
    "GET",
    "/hello/world",
    "",
    "é" * 200,
    "x" * 300,
    True,
    False,
    1,
    0,
    -1,
    2**63 - 1,
    1.0,
    0.0,
    -0.0,
    math.inf,
    -math.inf,
    0.5,
    ["a", "b"],
    [1, 2],
]
_KEYS = ["http.request.method", "url.path", "k", "server.port", "microlib.code", "é"]


def _spans(seed: int) -> list[ReadableSpan]:
    pick = random.Random(seed)
    exporter = InMemorySpanExporter()
    provider = LeanTracerProvider(1.0, Resource.create({"service.name": "cached"}), SpanLimits())
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracers = [provider.get_tracer("microlib", "1.0"), provider.get_tracer("other")]
    remote = SpanContext(0x4BF92F3577B34DA6A3CE929D0E0E4736, 0x00F067AA0BA902B7, True, TraceFlags(1))
    for _ in range(300):
        tracer = pick.choice(tracers)
        attributes = {pick.choice(_KEYS): pick.choice(_VALUES) for _ in range(pick.randrange(0, 12))}
        parent = pick.choice([None, trace.set_span_in_context(NonRecordingSpan(remote))])
        kind = pick.choice(list(trace.SpanKind))
        name = pick.choice(["GET", "GET /hello/{name}", "", "n" * 400])
        if pick.random() < 0.5:
            trusted = {key: value for key, value in attributes.items() if not isinstance(value, list)}
            span, _ = tracer.start_server_span(name, parent, trusted, kind=kind)  # type: ignore[attr-defined]
        else:
            span = tracer.start_span(name, parent, kind, attributes)
        span.finish(None, FrameworkAttributes({"http.response.status_code": pick.choice([200, 404, 200.0])}))
    return list(exporter.get_finished_spans())


def test_cached_encodings_match_the_sdk_byte_for_byte() -> None:
    """Hundreds of spans whose attributes recur (cache hits) and differ only in type or sign of zero."""
    for seed in range(4):
        spans = _spans(seed)
        for batch in (spans[:1], spans[:7], spans):
            assert encode_request(batch) == encode_spans(batch).SerializeToString()


def test_negative_zero_after_zero() -> None:
    """A cached 0.0 is not written for -0.0 (they are equal, and hash alike, in a dict)."""
    spans = []
    for value in (0.0, -0.0, 0.0, False, 0, -0.0):
        spans.extend(_one({"k": value}))
    for span in spans:
        assert encode_request([span]) == encode_spans([span]).SerializeToString()
    decoded = ExportTraceServiceRequest.FromString(encode_request(spans))
    written = [s.attributes[0].value for s in decoded.resource_spans[0].scope_spans[0].spans]
    assert [math.copysign(1, v.double_value) for v in written if v.HasField("double_value")] == [1, -1, 1, -1]


def _one(attributes: dict[str, AttributeValue]) -> list[ReadableSpan]:
    exporter = InMemorySpanExporter()
    provider = LeanTracerProvider(1.0, Resource.create({}), SpanLimits())
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    provider.get_tracer("t").start_span("s", attributes=attributes).end()
    return list(exporter.get_finished_spans())
