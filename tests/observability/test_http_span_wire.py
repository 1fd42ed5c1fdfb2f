"""The HTTP edge's spans, encoded as they end with the edge's own attribute encodings, reach a
real OTLP receiver as the SDK's encoder writes the same spans."""

from __future__ import annotations

from typing import Any

import httpx
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan
from starlette.requests import Request

from microlib.core.context import CallContext
from microlib.core.errors import NotFound
from tests.observability.helpers import OtlpReceiver, build_app, chain_route, make_observability, serve


async def _hello(request: Request, ctx: CallContext) -> dict[str, Any]:
    return {"hello": request.path_params["name"]}


async def _annotated(request: Request, ctx: CallContext) -> dict[str, Any]:
    # User code changing the server span: its attributes are no longer only the edge's.
    span = trace.get_current_span()
    span.set_attribute("app.item", request.path_params["item"])
    span.set_attribute("url.path", "/rewritten")
    span.add_event("looked up", {"hit": True})
    return {}


async def _missing(request: Request, ctx: CallContext) -> dict[str, Any]:
    raise NotFound("no such thing")


async def _broken(request: Request, ctx: CallContext) -> dict[str, Any]:
    raise RuntimeError("boom")


async def test_served_spans_are_exported_as_the_sdk_encodes_them(receiver: tuple[OtlpReceiver, str]) -> None:
    """Requests that repeat (cached encodings), vary (path, user agent, none, twice; the same values
    in two shapes), a span user code changed, a 404 of the chain, an unmatched path and a 500: the
    same spans, byte for byte."""
    collector, endpoint = receiver
    obs, _ = make_observability(
        "wired",
        tracing={"exporter": "otlp-grpc", "endpoint": endpoint, "schedule_delay": 60, "sample_ratio": 1.0},
    )
    tracer: Any = obs.tracing.tracer
    processors = tracer.processors
    assert processors.wired
    ended: list[ReadableSpan] = []
    sink = processors.ended

    def keep(span: ReadableSpan) -> None:
        ended.append(span)
        sink(span)

    processors.ended = keep
    routes = [
        chain_route(obs, "/hello/{name}", _hello),
        chain_route(obs, "/annotated/{item}", _annotated),
        chain_route(obs, "/missing", _missing),
        chain_route(obs, "/broken", _broken),
    ]
    app = build_app(obs, routes)
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as client:
        for path in [
            "/hello/a",
            "/hello/a",
            "/hello/b",
            "/annotated/x",
            "/missing",
            "/nowhere",
            "/broken",
        ]:
            await client.get(path)
        # Without a user agent (as wrk sends), twice: that shape's encoding is cached too.
        for agent in ["curl/8", "curl/8", "", ""]:
            await client.get("/hello/a", headers={"user-agent": agent})
        await client.get("/hello/a", headers={"traceparent": f"00-{'ab' * 16}-{'cd' * 8}-01"})
    # The same seven values twice, in two shapes: a client's address without a user agent, then
    # no client and that address as the user agent; each span gets its own attributes' encoding.
    for peer, agent in [(("10.0.0.9", 1), ""), (None, "10.0.0.9")]:
        transport = httpx.ASGITransport(app=app, client=peer)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://test:8080") as client:
            await client.get("/hello/a", headers={"user-agent": agent})
    await obs.stop()

    assert len(ended) == 14
    expected = encode_spans(ended)
    [resource_spans] = expected.resource_spans
    [scope_spans] = resource_spans.scope_spans
    assert [span.SerializeToString() for span in collector.spans] == [
        span.SerializeToString() for span in scope_spans.spans
    ]
    resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
    assert collector.resources == [resource] * 14
