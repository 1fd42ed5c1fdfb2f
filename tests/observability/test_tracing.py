"""Traces exported to a real OTLP receiver, across two services calling each other over HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import structlog
from opentelemetry import trace
from opentelemetry.proto.trace.v1 import trace_pb2
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.requests import Request

from microlib.core.context import CallContext
from microlib.http import traced_client
from microlib.observability import start_span
from microlib.observability.tracing import Tracing
from tests.observability.helpers import (
    OtlpReceiver,
    attributes,
    build_app,
    chain_route,
    json_lines,
    make_observability,
    serve,
)

log = structlog.get_logger("demo.trace")

SERVER, CLIENT, INTERNAL = (
    trace_pb2.Span.SPAN_KIND_SERVER,
    trace_pb2.Span.SPAN_KIND_CLIENT,
    trace_pb2.Span.SPAN_KIND_INTERNAL,
)
EXTERNAL_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
EXTERNAL_PARENT = "00f067aa0ba902b7"


def _tracing(endpoint: str) -> dict[str, Any]:
    return {"exporter": "otlp-grpc", "endpoint": endpoint, "schedule_delay": 0.05, "sample_ratio": 1.0}


async def test_spans_link_across_two_services(receiver: tuple[OtlpReceiver, str]) -> None:
    """front → back over HTTP: spans share one trace, parent by parent; baggage travels along."""
    collector, endpoint = receiver
    back, _ = make_observability("back", tracing=_tracing(endpoint))
    front, _ = make_observability("front", tracing=_tracing(endpoint))

    async def stock(request: Request, ctx: CallContext) -> dict[str, Any]:
        return {"sku": request.path_params["sku"], "count": 3, "baggage": request.headers.get("baggage")}

    async with serve(build_app(back, [chain_route(back, "/stock/{sku}", stock)])) as back_url:
        client = traced_client(tracing=front.tracing, metrics=front.metrics, base_url=back_url)

        async def checkout(request: Request, ctx: CallContext) -> dict[str, Any]:
            with start_span("price-cart", attributes={"cart.items": 1}):
                answer = await client.get("/stock/A-1")
            return {"stock": answer.json()["count"], "baggage": answer.json()["baggage"]}

        async with serve(build_app(front, [chain_route(front, "/checkout", checkout)])) as front_url:
            traceparent = f"00-{EXTERNAL_TRACE}-{EXTERNAL_PARENT}-01"
            async with httpx.AsyncClient(base_url=front_url) as caller:
                headers = {"traceparent": traceparent, "baggage": "tenant=acme"}
                response = await caller.get("/checkout", headers=headers)
            assert response.json() == {"stock": 3, "baggage": "tenant=acme"}
        await client.aclose()
    await front.stop()
    await back.stop()

    spans = {
        span.name: (span, resource)
        for span, resource in zip(collector.spans, collector.resources, strict=True)
    }
    front_server, front_resource = spans["GET /checkout"]
    internal, _ = spans["price-cart"]
    client_span, _ = spans["GET"]
    back_server, back_resource = spans["GET /stock/{sku}"]
    assert {s.trace_id.hex() for s in (front_server, internal, client_span, back_server)} == {EXTERNAL_TRACE}
    assert front_server.parent_span_id.hex() == EXTERNAL_PARENT
    assert internal.parent_span_id == front_server.span_id
    assert client_span.parent_span_id == internal.span_id
    assert back_server.parent_span_id == client_span.span_id
    assert [s.kind for s in (front_server, internal, client_span, back_server)] == [
        SERVER,
        INTERNAL,
        CLIENT,
        SERVER,
    ]
    assert (front_resource["service.name"], back_resource["service.name"]) == ("front", "back")
    assert back_resource["service.version"] == "1.2.3"
    assert back_resource["deployment.environment.name"] == "test"
    server_attrs = attributes(back_server)
    assert server_attrs["http.request.method"] == "GET"
    assert server_attrs["http.route"] == "/stock/{sku}"
    assert server_attrs["url.path"] == "/stock/A-1"
    assert server_attrs["http.response.status_code"] == 200
    assert server_attrs["microlib.method"] == "back//stock/{sku}"
    client_attrs = attributes(client_span)
    assert client_attrs["http.response.status_code"] == 200
    assert client_attrs["url.full"] == f"{back_url}/stock/A-1"
    assert attributes(internal)["cart.items"] == 1


async def test_failure_is_recorded_and_correlated(receiver: tuple[OtlpReceiver, str]) -> None:
    """A crash is a 500 with a correlation id equal to the trace id, an error span, a logged traceback."""
    collector, endpoint = receiver
    obs, stream = make_observability("back", tracing=_tracing(endpoint))

    async def boom(request: Request, ctx: CallContext) -> dict[str, Any]:
        raise RuntimeError("secret internals")

    async with serve(build_app(obs, [chain_route(obs, "/boom", boom)])) as url, httpx.AsyncClient() as client:
        response = await client.get(f"{url}/boom")
    await obs.stop()

    assert response.status_code == 500
    body = response.json()
    assert "secret internals" not in response.text
    [span] = [s for s in collector.spans if s.name == "GET /boom"]
    trace_id = span.trace_id.hex()
    assert body["correlation_id"] == trace_id
    assert span.status.code == trace_pb2.Status.STATUS_CODE_ERROR
    [event] = [e for e in span.events if e.name == "exception"]
    assert {a.key: a.value.string_value for a in event.attributes}["exception.type"] == "RuntimeError"
    [crash] = [line for line in json_lines(stream) if line["event"] == "unhandled exception"]
    assert crash["trace_id"] == trace_id
    assert crash["correlation_id"] == trace_id
    assert "RuntimeError: secret internals" in crash["exception"]
    assert crash["level"] == "error"


async def test_unhandled_exception_outside_the_chain(receiver: tuple[OtlpReceiver, str]) -> None:
    """A raw route that crashes still gets a problem+json 500 from the edge, with the trace id."""
    from starlette.routing import Route

    collector, endpoint = receiver
    obs, stream = make_observability("raw", tracing=_tracing(endpoint))

    async def crash(request: Request) -> None:
        raise KeyError("nope")

    async with serve(build_app(obs, [Route("/crash", crash)])) as url, httpx.AsyncClient() as client:
        response = await client.get(f"{url}/crash")
    await obs.stop()
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    [span] = [s for s in collector.spans if s.name == "GET /crash"]
    assert response.json()["correlation_id"] == span.trace_id.hex()
    assert response.headers["x-request-id"]
    [line] = [line for line in json_lines(stream) if line["event"] == "unhandled exception"]
    assert line["trace_id"] == span.trace_id.hex()


async def test_ratio_zero_samples_nothing(receiver: tuple[OtlpReceiver, str]) -> None:
    """With ``sample_ratio: 0`` and no sampled parent, no span is exported; a sampled parent still wins."""
    collector, endpoint = receiver
    obs, _ = make_observability("quiet", tracing={**_tracing(endpoint), "sample_ratio": 0.0})

    async def ping(request: Request, ctx: CallContext) -> dict[str, Any]:
        return {}

    async with serve(build_app(obs, [chain_route(obs, "/ping", ping)])) as url, httpx.AsyncClient() as client:
        await client.get(f"{url}/ping")
        await client.get(f"{url}/ping", headers={"traceparent": f"00-{EXTERNAL_TRACE}-{EXTERNAL_PARENT}-01"})
    await obs.stop()
    assert [s.trace_id.hex() for s in collector.spans] == [EXTERNAL_TRACE]


async def test_otlp_http_exporter_with_headers() -> None:
    """``otlp-http`` posts protobuf spans to the endpoint with the configured headers."""
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    received: list[tuple[str, Any]] = []

    async def collect(request: Request) -> Response:
        export = trace_service_pb2.ExportTraceServiceRequest.FromString(await request.body())
        received.append((request.headers.get("authorization", ""), export))
        return Response(trace_service_pb2.ExportTraceServiceResponse().SerializeToString())

    async with serve(Starlette(routes=[Route("/v1/traces", collect, methods=["POST"])])) as collector_url:
        tracing = {
            "exporter": "otlp-http",
            "endpoint": f"{collector_url}/v1/traces",
            "headers": {"authorization": "Bearer collector-token"},
        }
        obs, _ = make_observability("web", tracing=tracing)
        with start_span("unit-of-work"):
            pass
        await obs.stop()
    [(authorization, export)] = received
    assert authorization == "Bearer collector-token"
    [span] = [s for rs in export.resource_spans for ss in rs.scope_spans for s in ss.spans]
    assert span.name == "unit-of-work"


async def test_otlp_grpc_headers_are_sent(receiver: tuple[OtlpReceiver, str]) -> None:
    """``tracing.headers`` reach an OTLP/gRPC receiver as request metadata."""
    collector, endpoint = receiver
    obs, _ = make_observability("web", tracing={**_tracing(endpoint), "headers": {"x-tenant": "acme"}})
    with start_span("unit-of-work"):
        pass
    await obs.stop()
    assert [s.name for s in collector.spans] == ["unit-of-work"]
    assert collector.metadata[-1]["x-tenant"] == "acme"


async def test_stop_keeps_to_the_budget_when_the_collector_is_down() -> None:
    """With no collector listening, stop() gives up within its share of the stop budget, and
    stops the exporter: the thread it gave up on ends instead of retrying for tracing.timeout
    (60 s here) in a process that goes on."""
    import asyncio
    import socket
    import threading

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    obs, _ = make_observability(
        "lonely",
        tracing={"exporter": "otlp-grpc", "endpoint": dead, "timeout": 60},
        lifecycle={"stop_timeout": 0.5},
    )
    with start_span("never-delivered"):
        pass
    # A guard against hanging, far above the budget: stop() itself must return.
    async with asyncio.timeout(30):
        await obs.stop()

    def abandoned() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == "microlib-trace-shutdown"]

    for thread in abandoned():
        await asyncio.to_thread(thread.join, 20)  # a third of the retries it would otherwise run
    assert abandoned() == []


@pytest.mark.parametrize(
    "carrier",
    [
        {"traceparent": f"00-{EXTERNAL_TRACE}-{EXTERNAL_PARENT}-01"},
        {"traceparent": f"00-{EXTERNAL_TRACE}-{EXTERNAL_PARENT}-00"},
        {"traceparent": f"00-{EXTERNAL_TRACE}-{EXTERNAL_PARENT}-03"},
        {"traceparent": f"00-{EXTERNAL_TRACE}-{EXTERNAL_PARENT}-01", "tracestate": "vendor=v"},
        {"traceparent": f" 00-{EXTERNAL_TRACE}-{EXTERNAL_PARENT}-01\t"},
        {"traceparent": f"00-{EXTERNAL_TRACE}-{EXTERNAL_PARENT}-01\n"},
        {"traceparent": f"00-{EXTERNAL_TRACE}-{EXTERNAL_PARENT}-01-extra"},
        {"traceparent": f"01-{EXTERNAL_TRACE}-{EXTERNAL_PARENT}-01-extra"},
        {"traceparent": f"ff-{EXTERNAL_TRACE}-{EXTERNAL_PARENT}-01"},
        {"traceparent": f"00-{EXTERNAL_TRACE.upper()}-{EXTERNAL_PARENT}-01"},
        {"traceparent": f"00-{'0' * 32}-{EXTERNAL_PARENT}-01"},
        {"traceparent": f"00-{EXTERNAL_TRACE}-{'0' * 16}-01"},
        {"traceparent": ""},
        {},
    ],
)
def test_extract_trace_reads_what_the_w3c_propagator_reads(carrier: dict[str, str]) -> None:
    """The fast path for a canonical traceparent makes the propagator's context, and any other header
    gets the propagator's answer."""
    ours = Tracing.extract_trace(carrier)
    theirs = TraceContextTextMapPropagator().extract(carrier)
    assert ours.keys() == theirs.keys()
    found, expected = trace.get_current_span(ours), trace.get_current_span(theirs)
    assert type(found) is type(expected)
    assert tuple(found.get_span_context()) == tuple(expected.get_span_context())
    assert found.get_span_context() == expected.get_span_context()
