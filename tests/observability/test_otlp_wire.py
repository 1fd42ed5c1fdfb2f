"""The OTLP wire encoder produces exactly the SDK encoder's message."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, TraceFlags, TraceState

from microlib.observability._lean_span import LeanSpan
from microlib.observability._lean_tracer import LeanTracerProvider
from microlib.observability._otlp_wire import encode_request


def _spans(lean: bool) -> list[ReadableSpan]:
    exporter = InMemorySpanExporter()
    spans: list[ReadableSpan] = []
    for service in ("a", "b"):
        resource = Resource.create({"service.name": service, "k8s.pod.uid": "p-1", "n": 3})
        limits = SpanLimits(max_span_attributes=12, max_events=2, max_links=1)
        provider = (
            LeanTracerProvider(1.0, resource, limits)
            if lean
            else TracerProvider(resource=resource, span_limits=limits, shutdown_on_exit=False)
        )
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        plain = provider.get_tracer("plain")
        versioned = provider.get_tracer("versioned", "1.2", schema_url="https://x/s", attributes={"lib": "y"})
        remote = SpanContext(
            0x4BF92F3577B34DA6A3CE929D0E0E4736,
            0x00F067AA0BA902B7,
            is_remote=True,
            trace_flags=TraceFlags(1),
            trace_state=TraceState([("vendor", "v1"), ("other", "o")]),
        )
        parent = trace.set_span_in_context(NonRecordingSpan(remote))
        with plain.start_as_current_span("root", kind=trace.SpanKind.SERVER, context=parent) as root:
            root.set_attributes(
                {
                    "s": "text",
                    "empty": "",
                    "t": True,
                    "f": False,
                    "i": -7,
                    "zero": 0,
                    "big": 2**62,
                    "d": 1.5,
                    "strs": ["x", "y"],
                    "ints": [1, 2],
                    "bools": [True],
                    "floats": [0.5],
                }
            )
            root.set_attribute("one.too.many", "dropped")
            root.add_event("e1", {"k": "v"})
            root.add_event("e2")
            root.add_event("e3 dropped")
            root.set_status(trace.StatusCode.ERROR, "it broke")
            with versioned.start_as_current_span(
                "child ünïcode", kind=trace.SpanKind.CLIENT, links=[Link(remote, {"why": "batch"})]
            ):
                pass
            with plain.start_as_current_span("consumer", kind=trace.SpanKind.CONSUMER) as consumer:
                consumer.set_status(trace.StatusCode.OK)
            try:
                with plain.start_as_current_span("failing", kind=trace.SpanKind.PRODUCER):
                    raise ValueError("boom")
            except ValueError:
                pass
        # Spans without events, links, status or trace state, as most are.
        stateless = SpanContext(remote.trace_id, remote.span_id, is_remote=True, trace_flags=TraceFlags(1))
        plain.start_span("", trace.set_span_in_context(NonRecordingSpan(stateless))).end()
        root = plain.start_span("root", Context(), kind=trace.SpanKind.SERVER, attributes={"d": 0.5})
        with trace.use_span(root, end_on_exit=True):
            plain.start_span("local child", attributes={"s": "x", "i": 1, "t": True}).end()
        spans = list(exporter.get_finished_spans())
    return spans


@pytest.mark.parametrize("lean", [False, True], ids=["sdk spans", "lean spans"])
def test_same_message_as_the_sdk(lean: bool) -> None:
    """Spans with every field, value type, limit and grouping encode to the SDK's message."""
    spans = _spans(lean)
    assert all(isinstance(span, LeanSpan) == lean for span in spans)
    mine = ExportTraceServiceRequest.FromString(encode_request(spans))
    assert mine == encode_spans(spans)
    assert len(mine.resource_spans) == 2
    assert sum(len(s.spans) for rs in mine.resource_spans for s in rs.scope_spans) == len(spans)


def test_empty_batch() -> None:
    """No spans, an empty request."""
    assert encode_request([]) == b""
    assert ExportTraceServiceRequest.FromString(b"") == encode_spans([])


def test_lean_span_reports_events_and_links_its_limits_drop() -> None:
    """A lean span whose limits keep no event or link still counts those it dropped, as the SDK does."""
    provider = LeanTracerProvider(1.0, Resource.create({}), SpanLimits(max_events=0, max_links=0))
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("limits")
    linked = SpanContext(0x4BF92F3577B34DA6A3CE929D0E0E4736, 0x00F067AA0BA902B7, is_remote=True)
    with tracer.start_as_current_span("no events", attributes={"k": "v"}) as span:
        span.add_event("dropped")
    tracer.start_span("no links", links=[Link(linked)]).end()
    spans = list(exporter.get_finished_spans())
    assert [(s.dropped_events, s.dropped_links) for s in spans] == [(1, 0), (0, 1)]
    assert ExportTraceServiceRequest.FromString(encode_request(spans)) == encode_spans(spans)
