"""The traced HTTP client: header injection, client spans and metrics, failures."""

from __future__ import annotations

import socket

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from microlib.config.model import TracingSettings
from microlib.http import traced_client
from microlib.observability import PrometheusMetrics, ServiceIdentity, Tracing


def _tracing() -> tuple[Tracing, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    return Tracing(
        TracingSettings(schedule_delay=0.01), ServiceIdentity("caller"), exporter=exporter
    ), exporter


async def _echo(request: Request) -> JSONResponse:
    return JSONResponse({"traceparent": request.headers.get("traceparent"), "status": 418}, status_code=418)


async def test_traceparent_injected_and_span_recorded() -> None:
    """The callee receives a traceparent naming the client span; the span records the status."""
    tracing, exporter = _tracing()
    metrics = PrometheusMetrics(process_metrics=False)
    transport = httpx.ASGITransport(Starlette(routes=[Route("/echo", _echo)]))
    async with traced_client(
        tracing=tracing, metrics=metrics, transport=transport, base_url="http://svc"
    ) as client:
        response = await client.get("/echo?secret=1")
    await tracing.shutdown(5)
    [span] = exporter.get_finished_spans()
    assert span.kind is trace.SpanKind.CLIENT
    _version, trace_id, parent_id, flags = response.json()["traceparent"].split("-")
    assert (trace_id, parent_id) == (f"{span.context.trace_id:032x}", f"{span.context.span_id:016x}")
    assert int(flags, 16) & 1  # sampled
    assert span.attributes is not None
    assert span.attributes["url.full"] == "http://svc/echo"
    assert span.attributes["http.response.status_code"] == 418
    assert span.status.status_code is trace.StatusCode.ERROR
    text = metrics.exposition()[0].decode()
    assert 'http_client_requests_total{method="GET",server="svc:80",status="418"} 1.0' in text


async def test_a_response_built_with_its_content_is_recorded() -> None:
    """A transport that answers with a response already read (httpx.MockTransport, as a
    user's tests do) ends the span and counts the request: its stream never closes again."""
    tracing, exporter = _tracing()
    metrics = PrometheusMetrics(process_metrics=False)
    transport = httpx.MockTransport(lambda request: httpx.Response(503, json={"down": True}))
    async with traced_client(tracing=tracing, metrics=metrics, transport=transport) as client:
        assert (await client.get("http://prices.internal/v1/prices/1")).json() == {"down": True}
    await tracing.shutdown(5)
    [span] = exporter.get_finished_spans()
    assert span.attributes is not None
    assert span.attributes["http.response.status_code"] == 503
    text = metrics.exposition()[0].decode()
    assert 'http_client_requests_total{method="GET",server="prices.internal:80",status="503"} 1.0' in text


async def test_connection_failure_is_an_error_span() -> None:
    """A refused connection ends the span as an error and counts the error type."""
    tracing, exporter = _tracing()
    metrics = PrometheusMetrics(process_metrics=False)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with traced_client(tracing=tracing, metrics=metrics) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{port}/")
    await tracing.shutdown(5)
    [span] = exporter.get_finished_spans()
    assert span.status.status_code is trace.StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["error.type"] == "ConnectError"
    assert f'server="127.0.0.1:{port}",status="ConnectError"' in metrics.exposition()[0].decode()
