"""The chain interceptors on non-HTTP calls: spans, rpc metrics, logs, recovery, request ids."""

from __future__ import annotations

import io
from typing import Any

import pytest
from opentelemetry import baggage, trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families

from microlib.config.model import Settings
from microlib.core.chain import compose
from microlib.core.context import CallContext
from microlib.core.errors import Internal, NotFound
from microlib.observability import Observability, ServiceIdentity
from microlib.observability.tracing import Tracing
from tests.observability.helpers import json_lines

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


@pytest.fixture
def setup() -> tuple[Observability, InMemorySpanExporter, io.StringIO]:
    """An Observability exporting spans to memory and logging JSON to a buffer."""
    exporter = InMemorySpanExporter()
    stream = io.StringIO()
    settings = Settings.model_validate({"logging": {"format": "json"}, "tracing": {"schedule_delay": 0.01}})
    obs = Observability(
        settings, ServiceIdentity("orders", version="2.0"), log_stream=stream, span_exporter=exporter
    )
    return obs, exporter, stream


def _samples(obs: Observability) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = obs.metrics.exposition()[0].decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def _run(obs: Observability, ctx: CallContext, handler: Any) -> Any:
    return await compose(list(obs.interceptors().values()), handler)(ctx)


async def test_grpc_call_is_traced_measured_and_logged(
    setup: tuple[Observability, InMemorySpanExporter, io.StringIO],
) -> None:
    """A gRPC call gets a server span under the caller's traceparent, rpc_server_* metrics and a log line."""
    obs, exporter, stream = setup

    async def handler(ctx: CallContext) -> str:
        assert trace.get_current_span().get_span_context().trace_id == int(TRACE, 16)
        assert baggage.get_baggage("tenant") == "acme"
        return "ok"

    metadata = {"traceparent": f"00-{TRACE}-{PARENT}-01", "x-request-id": "abc-1", "baggage": "tenant=acme"}
    ctx = CallContext(kind="grpc", service="shop.v1.Orders", method="GetOrder", metadata=metadata)
    assert await _run(obs, ctx, handler) == "ok"
    await obs.stop()

    [span] = exporter.get_finished_spans()
    assert span.name == "shop.v1.Orders/GetOrder"
    assert span.kind is trace.SpanKind.SERVER
    assert span.parent is not None
    assert format(span.parent.span_id, "016x") == PARENT
    assert span.attributes is not None
    assert span.attributes["rpc.system"] == "grpc"
    assert span.attributes["rpc.grpc.status_code"] == 0
    assert ctx.attributes["trace_id"] == TRACE
    assert ctx.response_trailers["x-request-id"] == "abc-1"
    labels = frozenset({"service": "shop.v1.Orders", "method": "GetOrder", "code": "OK"}.items())
    values = _samples(obs)
    assert values[("rpc_server_requests_total", labels)] == 1
    assert values[("rpc_server_request_duration_seconds_count", labels)] == 1
    in_flight = frozenset({"service": "shop.v1.Orders", "method": "GetOrder"}.items())
    assert values[("rpc_server_requests_in_flight", in_flight)] == 0
    [line] = [entry for entry in json_lines(stream) if entry["event"] == "call completed"]
    assert (line["code"], line["method"], line["kind"]) == ("OK", "shop.v1.Orders/GetOrder", "grpc")
    assert (line["trace_id"], line["request_id"], line["service"]) == (TRACE, "abc-1", "orders")


async def test_errors_keep_their_code(setup: tuple[Observability, InMemorySpanExporter, io.StringIO]) -> None:
    """An ``Error`` passes recovery unchanged, is counted by code, and is not a server-fault span."""
    obs, exporter, stream = setup

    async def handler(ctx: CallContext) -> None:
        raise NotFound("no order 7")

    ctx = CallContext(kind="message", service="orders.created", method="OnCreated")
    with pytest.raises(NotFound):
        await _run(obs, ctx, handler)
    grpc_ctx = CallContext(kind="grpc", service="shop.v1.Orders", method="Get")
    with pytest.raises(NotFound):
        await _run(obs, grpc_ctx, handler)
    await obs.stop()
    span, grpc_span = exporter.get_finished_spans()
    assert grpc_span.attributes is not None
    assert grpc_span.attributes["rpc.grpc.status_code"] == 5
    assert span.kind is trace.SpanKind.CONSUMER
    assert span.status.status_code is trace.StatusCode.UNSET
    assert span.attributes is not None
    assert span.attributes["microlib.code"] == "NOT_FOUND"
    labels = frozenset({"service": "orders.created", "method": "OnCreated", "code": "NOT_FOUND"}.items())
    assert _samples(obs)[("messaging_consumer_messages_total", labels)] == 1
    lines = [entry for entry in json_lines(stream) if entry["event"] == "call completed"]
    assert [line["level"] for line in lines] == ["info", "info"]


async def test_completion_lines_follow_the_access_logger_level(
    setup: tuple[Observability, InMemorySpanExporter, io.StringIO],
) -> None:
    """At WARNING a successful call writes no completion line; a server fault still writes its error."""
    obs, _, stream = setup
    obs.logs.set_levels({"microlib.access": "WARNING"})

    async def ok(ctx: CallContext) -> str:
        return "ok"

    async def crash(ctx: CallContext) -> None:
        raise ZeroDivisionError("boom")

    assert await _run(obs, CallContext(kind="grpc", service="s", method="Ok"), ok) == "ok"
    with pytest.raises(Internal):
        await _run(obs, CallContext(kind="grpc", service="s", method="Crash"), crash)
    obs.logs.set_levels({"microlib.access": "INFO"})
    assert await _run(obs, CallContext(kind="grpc", service="s", method="Ok"), ok) == "ok"
    await obs.stop()
    lines = [entry for entry in json_lines(stream) if entry["event"] == "call completed"]
    assert [(line["method"], line["level"], line["code"]) for line in lines] == [
        ("s/Crash", "error", "INTERNAL"),
        ("s/Ok", "info", "OK"),
    ]


async def test_recovery_hides_the_crash(
    setup: tuple[Observability, InMemorySpanExporter, io.StringIO],
) -> None:
    """A crashing job raises ``Internal`` correlated by trace id; the log line has the traceback."""
    obs, exporter, stream = setup

    async def handler(ctx: CallContext) -> None:
        raise ZeroDivisionError("cannot divide the ledger")

    ctx = CallContext(kind="job", service="billing", method="close_month")
    with pytest.raises(Internal) as caught:
        await _run(obs, ctx, handler)
    await obs.stop()
    [span] = exporter.get_finished_spans()
    trace_id = format(span.context.trace_id, "032x")
    assert ctx.attributes["correlation_id"] == trace_id
    assert caught.value.metadata["correlation_id"] == trace_id
    assert "ledger" not in caught.value.message
    assert span.status.status_code is trace.StatusCode.ERROR
    assert [event.name for event in span.events] == ["exception"]
    [crash] = [entry for entry in json_lines(stream) if entry["event"] == "unhandled exception"]
    assert crash["trace_id"] == trace_id
    assert "ZeroDivisionError: cannot divide the ledger" in crash["exception"]
    labels = frozenset({"service": "billing", "method": "close_month", "code": "INTERNAL"}.items())
    assert _samples(obs)[("job_runs_total", labels)] == 1


async def test_request_id_is_minted_when_missing_or_invalid(
    setup: tuple[Observability, InMemorySpanExporter, io.StringIO],
) -> None:
    """A missing or forged x-request-id is replaced by a fresh one, echoed back (gRPC: in the trailers)."""
    obs, _, _ = setup

    async def handler(ctx: CallContext) -> str:
        return str(ctx.attributes["request_id"])

    forged = CallContext(kind="grpc", service="s", method="m", metadata={"x-request-id": "a b\nlevel=error"})
    minted = await _run(obs, forged, handler)
    assert len(minted) == 32
    assert forged.response_trailers["x-request-id"] == minted
    assert "x-request-id" not in forged.response_metadata

    plain = CallContext(kind="http", service="s", method="m")
    assert len(await _run(obs, plain, handler)) == 32
    assert plain.response_metadata["x-request-id"] == plain.attributes["request_id"]


async def test_tracing_disabled_costs_nothing(
    setup: tuple[Observability, InMemorySpanExporter, io.StringIO],
) -> None:
    """With ``tracing.enabled: false`` calls still run, and no span or trace id is produced."""
    settings = Settings.model_validate({"tracing": {"enabled": False}, "logging": {"format": "json"}})
    obs = Observability(settings, ServiceIdentity("quiet"), log_stream=io.StringIO())
    ctx = CallContext(kind="grpc", service="s", method="m")

    async def handler(ctx: CallContext) -> str:
        return "ok"

    assert await _run(obs, ctx, handler) == "ok"
    assert "trace_id" not in ctx.attributes
    assert obs.tracing.provider is None
    await obs.stop()


def test_bad_endpoint_names_the_key() -> None:
    """A tracing endpoint that is not an http(s) URL is refused, naming ``tracing.endpoint``."""
    from microlib.core.errors import InvalidArgument

    settings = Settings.model_validate({"tracing": {"exporter": "otlp-grpc", "endpoint": "collector:4317"}})
    with pytest.raises(InvalidArgument, match=r"tracing\.endpoint") as caught:
        Tracing(settings.tracing, ServiceIdentity("x"))
    assert caught.value.violations[0].field == "tracing.endpoint"


async def test_each_method_logs_under_its_own_name(
    setup: tuple[Observability, InMemorySpanExporter, io.StringIO],
) -> None:
    """The ``method`` field, made once per method, is each call's ``service/method``,
    also for methods of the same name in two services, and for repeated calls."""
    obs, _, stream = setup

    async def handler(ctx: CallContext) -> str:
        return "ok"

    calls = [("shop.v1.Orders", "Get"), ("shop.v1.Carts", "Get"), ("shop.v1.Orders", "List")] * 2
    interceptors = list(obs.interceptors().values())  # one chain's, as a service composes them
    for service, method in calls:
        await compose(interceptors, handler)(CallContext(kind="grpc", service=service, method=method))
    await obs.stop()
    lines = [entry for entry in json_lines(stream) if entry["event"] == "call completed"]
    assert [line["method"] for line in lines] == [f"{service}/{method}" for service, method in calls]
