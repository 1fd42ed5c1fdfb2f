"""The lean tracer decides, records and exports exactly as opentelemetry-sdk's tracer does.

Each test makes the same spans with the SDK's tracer and with microlib's,
from the same seed of ``random`` (both draw their ids from it in the same
order), and compares what the span processors receive field by field.
"""

from __future__ import annotations

import asyncio
import copy
import io
import logging
import random
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import Decision, ParentBased, TraceIdRatioBased
from opentelemetry.trace import (
    INVALID_SPAN_CONTEXT,
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    StatusCode,
    TraceFlags,
    TraceState,
)
from opentelemetry.util.types import AttributeValue

from microlib.observability import Tracing
from microlib.observability._lean_span import FrameworkAttributes, LeanSpan, SpanProcessors
from microlib.observability._lean_tracer import LeanTracer, lean_tracing
from microlib.observability._otlp_wire import encode_request

_RESOURCE = Resource.create({"service.name": "parity", "service.version": "1.0"})
_LINKED = SpanContext(0x1234, 0x5678, is_remote=True, trace_flags=TraceFlags(1))
_STATE = TraceState([("vendor", "v1")])


def _sdk(ratio: float = 1.0, limits: SpanLimits | None = None) -> tuple[trace.Tracer, TracerProvider]:
    provider = TracerProvider(
        resource=_RESOURCE,
        sampler=ParentBased(TraceIdRatioBased(ratio)),
        span_limits=limits,
        shutdown_on_exit=False,
    )
    return provider.get_tracer("microlib", "1.0"), provider


def _lean(ratio: float = 1.0, limits: SpanLimits | None = None) -> tuple[trace.Tracer, TracerProvider]:
    provider, tracer = lean_tracing(_RESOURCE, ratio, "1.0", limits)
    return tracer, provider


def _exported(
    make: Callable[..., tuple[trace.Tracer, TracerProvider]],
    exercise: Callable[[trace.Tracer], object],
    seed: int = 7,
    **options: Any,
) -> list[ReadableSpan]:
    tracer, provider = make(**options)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    random.seed(seed)
    exercise(tracer)
    return list(exporter.get_finished_spans())


def _fields(span: ReadableSpan, *, times: bool = True) -> dict[str, Any]:
    """Everything a processor or exporter can read from a finished span."""
    fields = {
        "name": span.name,
        "context": span.context,
        "trace_state": dict(span.context.trace_state) if span.context else None,
        "parent": span.parent,
        "kind": span.kind,
        "attributes": list(span.attributes.items()) if span.attributes is not None else None,
        "dropped_attributes": span.dropped_attributes,
        "events": [
            (e.name, e.timestamp if times else None, _items(e.attributes, times), e.dropped_attributes)
            for e in span.events
        ],
        "dropped_events": span.dropped_events,
        "links": [
            (link.context, _items(link.attributes, True), link.dropped_attributes) for link in span.links
        ],
        "dropped_links": span.dropped_links,
        "status": (span.status.status_code, span.status.description),
        "resource": span.resource,
        "scope": span.instrumentation_scope,
    }
    if times:
        fields |= {
            "start_time": span.start_time,
            "end_time": span.end_time,
            "json": span.to_json(),
            "otlp": encode_spans([span]),
            "wire": encode_request([span]),
        }
    return fields


def _items(attributes: Mapping[str, AttributeValue] | None, frames: bool) -> list[tuple[str, AttributeValue]]:
    items = list((attributes or {}).items())
    if frames:
        return items
    # An exception thrown through start_as_current_span passes the tracer's
    # own frames, which differ by design: the trace's last line does not.
    return [(k, v.splitlines()[-1] if k == "exception.stacktrace" else v) for k, v in items]  # type: ignore[union-attr]


class _Shown:
    def __repr__(self) -> str:
        return "shown"


def _user_attributes() -> dict[Any, Any]:
    return {
        "s": "value",
        "i": 1,
        "f": 0.5,
        "b": True,
        "seq": ["a", "b"],
        "none": None,
        "opaque": object(),
        "shown": _Shown(),
        "": "empty key",
        "long": "x" * 40,
    }


def _full_life(tracer: trace.Tracer, parent: Context | None = None) -> None:
    """Every span operation, with explicit times so both tracers' spans can be equal."""
    span = tracer.start_span(
        "start-name",
        context=parent,
        kind=SpanKind.SERVER,
        attributes=_user_attributes(),
        links=[
            Link(_LINKED, {"why": "batch"}),
            Link(INVALID_SPAN_CONTEXT),
            Link(INVALID_SPAN_CONTEXT, {"kept": True}),
        ],
        start_time=1_000,
    )
    span.set_attribute("late", [1, 2])
    span.set_attribute("", "invalid key")
    span.set_attributes({"s": "set again", "t": ("x",)})
    span.update_name("final-name")
    span.add_event("event", {"k": "v", "list": ["x"]}, timestamp=2_000)
    span.add_event("event without attributes", timestamp=2_500)
    span.add_link(_LINKED, {"added": 1})
    span.add_link(INVALID_SPAN_CONTEXT)
    try:
        raise ValueError("boom")
    except ValueError as exc:
        span.record_exception(exc, {"extra": "x"}, timestamp=3_000)
    span.set_status(StatusCode.ERROR, "it broke")
    span.set_status(StatusCode.UNSET)
    span.end(end_time=5_000)


def _parents() -> dict[str, Context | None]:
    def parent(is_remote: bool, flags: int, state: TraceState | None = None) -> Context:
        span_context = SpanContext(
            0x4BF92F3577B34DA6A3CE929D0E0E4736,
            0x00F067AA0BA902B7,
            is_remote=is_remote,
            trace_flags=TraceFlags(flags),
            trace_state=state,
        )
        return trace.set_span_in_context(NonRecordingSpan(span_context))

    return {
        "root": None,
        "remote sampled": parent(True, 1, _STATE),
        "remote sampled, random id": parent(True, 3),
        "local sampled": parent(False, 1),
        "invalid": trace.set_span_in_context(NonRecordingSpan(INVALID_SPAN_CONTEXT)),
    }


@pytest.mark.parametrize("parent", list(_parents()))
def test_a_span_has_every_field_the_sdk_gives_it(parent: str) -> None:
    """Name, ids, flags, parent, kind, attributes, events, links, status, resource, scope, times, JSON, OTLP.

    The exporters' encodings (JSON, OTLP by the SDK, OTLP by ``_otlp_wire``) are compared too.
    """
    context = _parents()[parent]
    [sdk] = _exported(_sdk, lambda tracer: _full_life(tracer, context))
    [lean] = _exported(_lean, lambda tracer: _full_life(tracer, context))
    assert isinstance(lean, LeanSpan)
    assert _fields(lean) == _fields(sdk)
    assert _fields(copy.deepcopy(lean)) == _fields(copy.deepcopy(sdk))
    assert lean.name == "final-name"
    assert lean.dropped_attributes == 2  # the empty keys
    assert lean.status.status_code is StatusCode.ERROR


def test_tracers_other_instrumentation_gets_from_the_provider_are_lean_and_alike() -> None:
    """The database's tracer (or a library's given the provider) has its own scope, the SDK's spans, lean."""

    def scoped(
        origin: Callable[..., tuple[trace.Tracer, TracerProvider]],
    ) -> tuple[trace.Tracer, TracerProvider]:
        _, provider = origin()
        scope: dict[str, Any] = {
            "instrumenting_module_name": "microlib.data",
            "instrumenting_library_version": "2.0",
            "schema_url": "https://opentelemetry.io/schemas/1.26.0",
            "attributes": {"db": "orders"},
        }
        tracer = trace.get_tracer(**scope, tracer_provider=provider)
        assert trace.get_tracer(**scope, tracer_provider=provider) is tracer
        return tracer, provider

    [sdk] = _exported(scoped, lambda tracer: _full_life(tracer, None), origin=_sdk)
    [lean] = _exported(scoped, lambda tracer: _full_life(tracer, None), origin=_lean)
    assert isinstance(lean, LeanSpan)
    assert _fields(lean) == _fields(sdk)
    assert lean.instrumentation_scope is not None
    assert lean.instrumentation_scope.name == "microlib.data"
    assert lean.instrumentation_scope.attributes == {"db": "orders"}


def test_limits_apply_as_in_the_sdk() -> None:
    """Attribute count and length, event and link counts, event and link attribute counts."""
    limits = SpanLimits(
        max_span_attributes=3,
        max_events=1,
        max_links=1,
        max_event_attributes=1,
        max_link_attributes=1,
        max_attribute_length=3,
        max_span_attribute_length=5,
    )
    [sdk] = _exported(_sdk, _full_life, limits=limits)
    [lean] = _exported(_lean, _full_life, limits=limits)
    assert _fields(lean) == _fields(sdk)
    assert lean.dropped_attributes > 0
    assert (lean.dropped_events, lean.dropped_links) == (2, 2)


def test_no_attributes_at_all_with_a_zero_limit() -> None:
    """``max_span_attributes=0`` drops and counts every attribute, framework ones too."""

    def exercise(tracer: trace.Tracer) -> None:
        with tracer.start_as_current_span(
            "s", attributes=FrameworkAttributes({"a": 1}), start_time=1
        ) as span:
            span.set_attributes(FrameworkAttributes({"b": 2, "c": 3}))
            span.set_attribute("d", 4)

    [sdk] = _exported(_sdk, exercise, limits=SpanLimits(max_span_attributes=0))
    [lean] = _exported(_lean, exercise, limits=SpanLimits(max_span_attributes=0))
    assert _fields(lean, times=False) == _fields(sdk, times=False)
    assert lean.dropped_attributes == 4


def _edge_span(
    tracer: trace.Tracer, attributes: Callable[[dict[str, AttributeValue]], Mapping[str, AttributeValue]]
) -> trace.Span:
    return tracer.start_span(
        "GET",
        kind=SpanKind.SERVER,
        attributes=attributes(
            {"http.request.method": "GET", "url.path": "/p/" + "a" * 20, "server.port": 80}
        ),
        start_time=10,
    )


def _edge_life(attributes: Callable[[dict[str, AttributeValue]], Mapping[str, AttributeValue]]) -> Any:
    def exercise(tracer: trace.Tracer) -> None:
        span = _edge_span(tracer, attributes)
        span.update_name("GET /p/{id}")
        span.set_attributes(
            attributes({"http.route": "/p/{id}", "url.path": "moved", "http.response.status_code": 200})
        )
        span.end(end_time=20)

    return exercise


@pytest.mark.parametrize("limits", [None, SpanLimits(max_span_attributes=3, max_span_attribute_length=6)])
def test_framework_attributes_end_up_as_validated_ones(limits: SpanLimits | None) -> None:
    """The edge's attributes, stored without per-value validation, equal what the SDK stores.

    With a length limit they are validated after all, so long strings are cut.
    """
    [sdk] = _exported(_sdk, _edge_life(dict), limits=limits)
    [lean] = _exported(_lean, _edge_life(FrameworkAttributes), limits=limits)
    assert _fields(lean) == _fields(sdk)
    assert lean.attributes is not None
    # Set again, url.path moved behind http.route.
    assert list(lean.attributes)[-3:] == ["http.route", "url.path", "http.response.status_code"]


@pytest.mark.parametrize(
    "limits",
    [None, SpanLimits(max_span_attributes=4), SpanLimits(max_span_attributes=3, max_span_attribute_length=6)],
)
def test_finish_ends_a_span_as_rename_set_and_end_do(limits: SpanLimits | None) -> None:
    """The edge's one-step ending gives the processors what the three SDK calls give them."""

    def finishing(tracer: trace.Tracer) -> None:
        span = _edge_span(tracer, FrameworkAttributes)
        assert isinstance(span, LeanSpan)
        ended = {"http.route": "/p/{id}", "url.path": "moved", "http.response.status_code": 200}
        span.finish("GET /p/{id}", FrameworkAttributes(ended))

    [sdk] = _exported(_sdk, _edge_life(dict), limits=limits)
    [lean] = _exported(_lean, finishing, limits=limits)
    assert _fields(lean, times=False) == _fields(sdk, times=False)
    assert lean.end_time is not None
    assert lean.end_time >= lean.start_time


@pytest.mark.parametrize("parent", list(_parents()))
@pytest.mark.parametrize(
    "limits",
    [None, SpanLimits(max_span_attributes=4), SpanLimits(max_span_attributes=3, max_span_attribute_length=6)],
)
@pytest.mark.parametrize("kind", [SpanKind.SERVER, SpanKind.CONSUMER])
def test_a_server_span_is_the_one_start_span_and_set_span_in_context_make(
    parent: str, limits: SpanLimits | None, kind: SpanKind
) -> None:
    """The edge's (or a consumer's) one-step start, and framework ending, gives the processors what
    the SDK's calls give them, and the context it returns is the one ``set_span_in_context`` makes,
    the caller's baggage kept."""
    context = _parents()[parent]
    if context is not None:
        context = otel_context.set_value("baggage-like", "kept", context)
    made: list[Context] = []

    def server(tracer: trace.Tracer) -> None:
        lean = tracer
        assert isinstance(lean, LeanTracer)
        attributes: dict[str, AttributeValue] = {
            "http.request.method": "GET",
            "url.path": "/p/" + "a" * 20,
            "server.port": 80,
        }
        span, current = lean.start_server_span("GET", context, attributes, kind=kind)
        made.append(current)
        assert dict(current) == dict(trace.set_span_in_context(span, context))
        ended = {"http.route": "/p/{id}", "url.path": "moved", "http.response.status_code": 200}
        if isinstance(span, LeanSpan):
            span.finish("GET /p/{id}", ended, framework=True)
        else:
            span.end()

    def sdk_server(tracer: trace.Tracer) -> None:
        span = tracer.start_span(
            "GET",
            context=context,
            kind=kind,
            attributes={"http.request.method": "GET", "url.path": "/p/" + "a" * 20, "server.port": 80},
        )
        span.update_name("GET /p/{id}")
        span.set_attributes({"http.route": "/p/{id}", "url.path": "moved", "http.response.status_code": 200})
        span.end()

    sdk = _exported(_sdk, sdk_server, limits=limits)
    lean = _exported(_lean, server, limits=limits)
    assert [_fields(span, times=False) for span in lean] == [_fields(span, times=False) for span in sdk]
    assert made[0].get("baggage-like") == ("kept" if context is not None else None)


def test_a_server_span_without_a_caller_context_is_a_child_of_the_current_span() -> None:
    """As ``start_span(context=None)``: the current span is the parent, and stays in the new context."""
    lean, _ = _lean()
    assert isinstance(lean, LeanTracer)
    outer = lean.start_span("outer")
    token = otel_context.attach(otel_context.set_value("kept", 1, trace.set_span_in_context(outer)))
    try:
        span, current = lean.start_server_span("GET", None, {})
    finally:
        otel_context.detach(token)
    assert isinstance(span, LeanSpan)
    assert span.parent == outer.get_span_context()
    assert span.get_span_context().trace_id == outer.get_span_context().trace_id
    assert current.get("kept") == 1
    assert trace.get_current_span(current) is span


def test_processors_added_after_the_tracer_still_see_its_spans() -> None:
    """A provider with no processor skips the hooks; one added later gets every later span."""
    lean, provider = _lean()
    assert isinstance(lean, LeanTracer)
    lean.start_span("unseen").end()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    lean.start_span("seen").end()
    span, _ = lean.start_server_span("server", None, {})
    span.end()
    assert [span.name for span in exporter.get_finished_spans()] == ["seen", "server"]


def test_finish_on_an_ended_span_warns_as_the_three_calls_do(caplog: pytest.LogCaptureFixture) -> None:
    """Nothing changes, and each of rename, set and end says so."""
    tracer, _ = _lean()
    span = tracer.start_span("once", start_time=1)
    assert isinstance(span, LeanSpan)
    span.end(end_time=2)
    with caplog.at_level(logging.WARNING):
        span.finish("renamed", FrameworkAttributes({"c": 3}))
    assert (span.name, span.end_time, span.attributes) == ("once", 2, {})
    warnings = [r.getMessage() for r in caplog.records if r.name.startswith("microlib")]
    assert sorted(warnings) == [
        "Calling end() on an ended span.",
        "Setting attribute on ended span.",
        "Tried calling update_name on an ended span.",
    ]


def _parent_from(is_remote: bool, flags: int) -> Callable[[random.Random], Context | None]:
    def make(rng: random.Random) -> Context:
        span_context = SpanContext(
            rng.getrandbits(128) or 1,
            rng.getrandbits(64) or 1,
            is_remote=is_remote,
            trace_flags=TraceFlags(flags),
            trace_state=_STATE if flags & 1 else None,
        )
        return trace.set_span_in_context(NonRecordingSpan(span_context))

    return make


_PARENT_KINDS: dict[str, Callable[[random.Random], Context | None]] = {
    "root": lambda rng: None,
    "invalid parent": lambda rng: trace.set_span_in_context(NonRecordingSpan(INVALID_SPAN_CONTEXT)),
    **{
        f"{'remote' if is_remote else 'local'} parent, flags {flags}": _parent_from(is_remote, flags)
        for is_remote in (True, False)
        for flags in (0, 1, 2, 3)
    },
}


@pytest.mark.parametrize("ratio", [0.0, 0.1, 0.5, 1.0])
@pytest.mark.parametrize("kind", list(_PARENT_KINDS))
def test_sampling_decisions_are_the_sdks(ratio: float, kind: str) -> None:
    """Same trace ids and parents: ParentBased(TraceIdRatioBased)'s decision, ids, flags and trace state."""
    sdk, _ = _sdk(ratio)
    lean, _ = _lean(ratio)
    sampler = ParentBased(TraceIdRatioBased(ratio))
    rng = random.Random(f"{ratio}-{kind}")
    decisions = set()
    for seed in range(300):
        parent = _PARENT_KINDS[kind](rng)
        random.seed(seed)
        expected = sdk.start_span("s", context=parent)
        random.seed(seed)
        span = lean.start_span("s", context=parent)
        context = span.get_span_context()
        assert context == expected.get_span_context()
        random.seed(seed)
        assert isinstance(lean, LeanTracer)
        server, _ = lean.start_server_span("s", parent, {})
        assert server.get_span_context() == context
        assert server.is_recording() is span.is_recording()
        server.end()
        assert dict(context.trace_state) == dict(expected.get_span_context().trace_state)
        assert span.is_recording() is expected.is_recording() is context.trace_flags.sampled
        assert context.is_valid
        assert not context.is_remote
        verdict = sampler.should_sample(parent, context.trace_id, "s").decision is Decision.RECORD_AND_SAMPLE
        assert context.trace_flags.sampled is verdict
        decisions.add(verdict)
        span.end()
        expected.end()
    if ratio == 0.5 and kind == "root":
        assert decisions == {True, False}


@pytest.mark.parametrize("kind", ["root", "local parent, flags 1"])
def test_a_zero_id_is_drawn_again_as_the_sdk_draws_it(monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    """Ids drawn as zero (once in 2**64 draws) are drawn again, in the SDK's order."""
    parent = _PARENT_KINDS[kind](random.Random(kind))

    def scripted() -> Callable[[int], int]:
        draws = iter([0, 0, 0x5A, 0, 0x9B, 0, 0, 0x7C, 0x11, 0])
        return lambda bits: next(draws, 0x33)

    made = []
    for make in (_sdk, _lean):
        tracer, _ = make()
        monkeypatch.setattr(random, "getrandbits", scripted())
        monkeypatch.setattr("microlib.observability._lean_tracer.getrandbits", random.getrandbits)
        spans = [tracer.start_span("s", context=parent)]
        if isinstance(tracer, LeanTracer):
            spans.append(tracer.start_server_span("s", parent, {})[0])
        else:
            spans.append(tracer.start_span("s", context=parent))
        made.append([span.get_span_context() for span in spans])
    assert made[0] == made[1]
    assert all(context.is_valid for context in made[1])


def test_an_unsampled_span_still_carries_the_trace() -> None:
    """Non-recording, but its context is valid, propagates, and its children stay unsampled in the trace."""
    tracer, provider = _lean(0.0)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    root = tracer.start_span("root", attributes={"a": 1})
    assert not root.is_recording()
    assert not isinstance(root, LeanSpan)
    context = root.get_span_context()
    assert context.is_valid
    assert not context.trace_flags.sampled
    carrier: dict[str, str] = {}
    Tracing.inject(carrier, trace.set_span_in_context(root))
    assert carrier["traceparent"] == f"00-{context.trace_id:032x}-{context.span_id:016x}-02"
    child = tracer.start_span("child", context=trace.set_span_in_context(root))
    assert child.get_span_context().trace_id == context.trace_id
    assert not child.is_recording()
    remote = tracer.start_span(
        "remote", context=Tracing.extract({"traceparent": f"00-{'ab' * 16}-{'cd' * 8}-01"})
    )
    assert remote.is_recording()
    for span in (root, child, remote):
        span.end()
    assert [s.name for s in exporter.get_finished_spans()] == ["remote"]


@pytest.mark.parametrize("ratio", [1.0, 0.0])
def test_inject_span_writes_what_the_propagators_write(ratio: float) -> None:
    """The publisher's shortcut writes the same headers as the W3C propagators for
    the span in the current context: traceparent, tracestate, and the baggage."""
    tracer, _ = _lean(ratio)
    parent = Tracing.extract(
        {"traceparent": f"00-{'ab' * 16}-{'cd' * 8}-01", "tracestate": "vendor=x", "baggage": "tenant=t1"}
    )
    token = otel_context.attach(parent)
    try:
        for span in (tracer.start_span("child"), trace.NonRecordingSpan(trace.INVALID_SPAN_CONTEXT)):
            expected: dict[str, str] = {}
            Tracing.inject(expected, trace.set_span_in_context(span))
            written: dict[str, str] = {}
            Tracing.inject_span(written, span)
            assert written == expected
            assert written["baggage"] == "tenant=t1"
    finally:
        otel_context.detach(token)
    alone = tracer.start_span("root")
    written = {}
    Tracing.inject_span(written, alone)
    assert set(written) == {"traceparent"}


def test_a_second_end_warns_and_changes_nothing(caplog: pytest.LogCaptureFixture) -> None:
    """The first end time stays, the processors see the span once, later changes are refused."""
    tracer, provider = _lean()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    span = tracer.start_span("once", attributes={"a": 1}, start_time=1)
    span.end(end_time=2)
    before = _fields(exporter.get_finished_spans()[0])
    with caplog.at_level(logging.WARNING):
        span.end(end_time=3)
        span.set_attribute("b", 2)
        span.set_attributes(FrameworkAttributes({"c": 3}))
        span.update_name("renamed")
        span.add_event("late")
        span.add_link(_LINKED)
        span.set_status(StatusCode.ERROR, "late")
        span.record_exception(ValueError("late"))
    [finished] = exporter.get_finished_spans()
    assert _fields(finished) == before
    assert finished.end_time == 2
    assert not span.is_recording()
    warnings = [r.getMessage() for r in caplog.records if r.name.startswith("microlib")]
    assert "Calling end() on an ended span." in warnings
    assert len(warnings) == 8


def _raising(tracer: trace.Tracer, **options: Any) -> None:
    seen: list[trace.Span] = []

    def fail() -> None:
        with tracer.start_as_current_span("guarded", start_time=1, **options) as span:
            seen.append(trace.get_current_span())
            seen.append(span)
            raise KeyError("missing")

    with pytest.raises(KeyError):
        fail()
    current, span = seen
    assert current is span
    if span.is_recording():
        span.end()


@pytest.mark.parametrize(
    "options",
    [{}, {"record_exception": False}, {"set_status_on_exception": False}, {"end_on_exit": False}],
)
def test_start_as_current_span_handles_exceptions_like_the_sdk(options: dict[str, Any]) -> None:
    """The span is current in the block; an exception is recorded and sets ERROR unless told not to."""
    [sdk] = _exported(_sdk, lambda tracer: _raising(tracer, **options))
    [lean] = _exported(_lean, lambda tracer: _raising(tracer, **options))
    assert _fields(lean, times=False) == _fields(sdk, times=False)
    assert lean.start_time is not None
    assert lean.end_time is not None
    assert lean.start_time <= lean.end_time
    assert trace.get_current_span() is trace.INVALID_SPAN


def test_a_span_used_as_a_context_manager_records_the_escaping_exception() -> None:
    """``with tracer.start_span(...)``: the exception is recorded as escaped and the span ends."""

    def exercise(tracer: trace.Tracer) -> None:
        with pytest.raises(RuntimeError), tracer.start_span("manual", start_time=1) as span:
            raise RuntimeError("down")
        assert not span.is_recording()

    [sdk] = _exported(_sdk, exercise)
    [lean] = _exported(_lean, exercise)
    assert _fields(lean, times=False) == _fields(sdk, times=False)
    [event] = lean.events
    assert event.attributes is not None
    assert event.attributes["exception.escaped"] == "True"
    assert lean.status.description == "RuntimeError: down"


async def test_start_as_current_span_decorates_coroutines() -> None:
    """As a decorator of an async function, the span stays current and open until the coroutine ends."""
    tracer, provider = _lean()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))

    @tracer.start_as_current_span("decorated")
    async def work() -> trace.Span:
        await asyncio.sleep(0)
        current = trace.get_current_span()
        assert current.is_recording()
        return current

    span = await work()
    assert not span.is_recording()
    assert [s.name for s in exporter.get_finished_spans()] == ["decorated"]


def test_the_console_exporter_prints_the_same_json() -> None:
    """ConsoleSpanExporter output is identical for the SDK's span and the lean one."""
    outputs = []
    for make in (_sdk, _lean):
        tracer, provider = make()
        out = io.StringIO()
        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(out=out)))
        random.seed(3)
        _full_life(tracer, _parents()["remote sampled"])
        outputs.append(out.getvalue())
    assert outputs[0] == outputs[1]
    assert '"name": "final-name"' in outputs[1]


class _Hooks(SpanProcessor):
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, bool, Context | None]] = []

    def on_start(self, span: Any, parent_context: Context | None = None) -> None:
        self.calls.append(("on_start", span.name, span.end_time is None, parent_context))

    def _on_ending(self, span: Any) -> None:
        self.calls.append(("_on_ending", span.name, span.end_time is None, None))

    def on_end(self, span: ReadableSpan) -> None:
        self.calls.append(("on_end", span.name, span.end_time is None, None))


def test_processors_see_the_hooks_the_sdk_calls() -> None:
    """on_start with the parent context, _on_ending once ended, on_end: as for the SDK's spans."""
    calls = []
    parent = _parents()["remote sampled"]
    for make in (_sdk, _lean):
        tracer, provider = make()
        hooks = _Hooks()
        provider.add_span_processor(hooks)
        tracer.start_span("hooked", context=parent).end()
        token = otel_context.attach(Context())
        try:
            tracer.start_span("implicit").end()
        finally:
            otel_context.detach(token)
        calls.append(hooks.calls)
    assert calls[0] == calls[1]
    assert [c[0] for c in calls[1][:3]] == ["on_start", "_on_ending", "on_end"]


def test_otel_sdk_disabled_turns_the_tracer_into_a_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    """``OTEL_SDK_DISABLED=true`` makes no spans, as it makes the SDK provider's tracers no-ops."""
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    tracer, provider = _lean()
    assert isinstance(provider.get_tracer("other"), trace.NoOpTracer)
    span = tracer.start_span("x", attributes={"a": 1})
    assert not span.get_span_context().is_valid
    assert not span.is_recording()


class _OnlyEnds(SpanProcessor):
    """Empty start and ending hooks, one with a docstring: the lean span skips them."""

    def __init__(self) -> None:
        self.ended: list[str] = []

    def on_start(self, span: Any, parent_context: Context | None = None) -> None:
        """Nothing to do."""

    def on_end(self, span: ReadableSpan) -> None:
        self.ended.append(span.name)


def test_skipped_empty_hooks_leave_what_each_processor_sees_unchanged() -> None:
    """Every mix of processors with empty and busy hooks sees, in order, what the SDK's spans give them."""
    mixes: list[list[Callable[[], SpanProcessor]]] = [
        [_OnlyEnds],
        [_Hooks],
        [_OnlyEnds, _Hooks],
        [_Hooks, _OnlyEnds],
        [_OnlyEnds, _OnlyEnds],
        [lambda: SimpleSpanProcessor(InMemorySpanExporter())],
        [lambda: SimpleSpanProcessor(InMemorySpanExporter()), _Hooks],
    ]
    for mix in mixes:
        seen = []
        for make in (_sdk, _lean):
            tracer, provider = make()
            processors = [factory() for factory in mix]
            for processor in processors:
                provider.add_span_processor(processor)
                tracer.start_span(f"after {len(processors)}").end()
            with tracer.start_as_current_span("outer"):
                tracer.start_span("inner").end()
            seen.append([_what_saw(processor) for processor in processors])
        assert seen[0] == seen[1], mix


class _OwnBatch(BatchSpanProcessor):
    """A batch processor of the user's own: its ``on_end`` may do more than the SDK's."""

    def on_end(self, span: ReadableSpan) -> None:
        super().on_end(span)


@pytest.mark.parametrize("processor", [BatchSpanProcessor, _OwnBatch])
def test_a_lone_batch_processor_exports_what_the_sdks_spans_give_it(
    processor: type[BatchSpanProcessor],
) -> None:
    """Lean spans go straight to a lone ``BatchSpanProcessor``'s batch (a subclass's ``on_end``
    is called): the exporter gets the spans, in order, the SDK's tracer gives it."""
    exported = []
    for make in (_sdk, _lean):
        tracer, provider = make()
        exporter = InMemorySpanExporter()
        batch = processor(exporter, max_export_batch_size=4, schedule_delay_millis=60_000)
        provider.add_span_processor(batch)
        random.seed(11)
        for index in range(10):
            with tracer.start_as_current_span(f"outer {index}", attributes={"i": index}):
                tracer.start_span("inner").end()
        provider.force_flush()
        exported.append([_fields(span, times=False) for span in exporter.get_finished_spans()])
        provider.shutdown()
    assert len(exported[1]) == 20
    assert exported[1] == exported[0]


def _what_saw(processor: SpanProcessor) -> object:
    if isinstance(processor, _Hooks):
        return [call[:3] for call in processor.calls]
    if isinstance(processor, _OnlyEnds):
        return processor.ended
    exporter = processor.span_exporter  # type: ignore[attr-defined]
    return [span.name for span in exporter.get_finished_spans()]


def test_a_hook_is_skipped_only_when_its_body_is_empty() -> None:
    """The SDK's batch and simple processors' empty hooks are skipped; a busy one is called."""
    provider = lean_tracing(Resource.create({}), 1.0, "1")[0]
    processors = provider._active_span_processor
    assert isinstance(processors, SpanProcessors)
    assert processors.idle
    assert not processors.starts
    provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
    assert not processors.idle
    assert not processors.starts
    provider.add_span_processor(_Hooks())
    assert processors.starts
