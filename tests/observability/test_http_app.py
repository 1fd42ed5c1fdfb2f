"""Observability wired into the service's own HTTP app and chain, over real HTTP."""

from __future__ import annotations

import io
from typing import Any

import httpx
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from microlib.config.model import Settings
from microlib.core.chain import Chain
from microlib.core.context import current_context
from microlib.core.errors import NotFound
from microlib.http import HttpApp, edge_middleware, management_routes
from microlib.observability import Observability, ServiceIdentity
from tests.observability.helpers import json_lines, serve


def _wired() -> tuple[Observability, HttpApp, InMemorySpanExporter, io.StringIO]:
    exporter = InMemorySpanExporter()
    stream = io.StringIO()
    settings = Settings.model_validate({"logging": {"format": "json"}})
    obs = Observability(settings, ServiceIdentity("books"), log_stream=stream, span_exporter=exporter)
    chain = Chain()
    for slot, interceptor in obs.interceptors().items():
        chain.install(slot, interceptor)
    app = HttpApp(chain)
    app.add_middleware(edge_middleware(obs, untraced_paths=("/health",)))
    for route in management_routes(obs):
        app.add_route(route.path, route.endpoint, methods=sorted(route.methods or ()))

    @app.route("/books/{id}", service="bookshop.v1.Books")
    async def get_book(request: Request) -> dict[str, Any]:
        if request.path_params["id"] == "0":
            raise NotFound("no book 0")
        if request.path_params["id"] == "crash":
            raise RuntimeError("disk on fire")
        return {"id": request.path_params["id"]}

    return obs, app, exporter, stream


async def test_service_app_end_to_end() -> None:
    """Through HttpApp: one request id header, problem+json correlated with the trace, template labels."""
    obs, app, exporter, stream = _wired()
    async with serve(app.app) as url, httpx.AsyncClient(base_url=url) as client:
        ok = await client.get("/books/1", headers={"x-request-id": "r-1"})
        missing = await client.get("/books/0")
        crash = await client.get("/books/crash")
        scrape = await client.get("/metrics")
    await obs.stop()

    assert ok.headers.get_list("x-request-id") == ["r-1"]
    assert missing.status_code == 404
    assert crash.status_code == 500
    assert "fire" not in crash.text
    spans = {
        str(span.attributes["url.path"]): span for span in exporter.get_finished_spans() if span.attributes
    }
    assert {span.name for span in spans.values()} == {"GET /books/{id}"}
    assert [spans[p].attributes["http.response.status_code"] for p in ("/books/1", "/books/0")] == [200, 404]
    assert spans["/books/1"].attributes["microlib.method"] == "bookshop.v1.Books//books/{id}"
    trace_id = format(spans["/books/crash"].context.trace_id, "032x")
    assert crash.json()["correlation_id"] == trace_id
    assert crash.json()["code"] == "INTERNAL"
    [line] = [entry for entry in json_lines(stream) if entry["event"] == "unhandled exception"]
    assert line["trace_id"] == trace_id
    values = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(scrape.text)
        for s in family.samples
    }
    for status in ("200", "404", "500"):
        key = (
            "http_server_requests_total",
            (("method", "GET"), ("route", "/books/{id}"), ("status", status)),
        )
        assert values[key] == 1


async def test_the_edge_alone_echoes_the_request_id() -> None:
    """Under the edge the chain leaves the id out of the response metadata; the edge stamps it once.

    The caller's valid id or a minted one, the one the handler's context and the access line
    carry; a handler that sets its own ``x-request-id`` keeps it, with no second one added.
    """
    obs, app, _, stream = _wired()
    seen: list[tuple[dict[str, str], str]] = []

    @app.route("/seen")
    async def record(request: Request) -> dict[str, Any]:
        ctx = current_context()
        assert ctx is not None
        seen.append((dict(ctx.response_metadata), str(ctx.attributes["request_id"])))
        return {}

    @app.route("/own")
    async def own(request: Request) -> dict[str, Any]:
        ctx = current_context()
        assert ctx is not None
        ctx.response_metadata["x-request-id"] = "the-handler's"
        return {}

    async with serve(app.app) as url, httpx.AsyncClient(base_url=url) as client:
        given = await client.get("/seen", headers={"x-request-id": "r-7"})
        minted = await client.get("/seen")
        forged = await client.get("/seen", headers={"x-request-id": "a b"})
        owned = await client.get("/own", headers={"x-request-id": "r-8"})
    await obs.stop()

    assert [metadata for metadata, _ in seen] == [{}, {}, {}]
    ids = [request_id for _, request_id in seen]
    assert ids[0] == "r-7"
    assert len(ids[1]) == len(ids[2]) == 32
    assert ids[2] != "a b"
    for response, request_id in zip((given, minted, forged), ids, strict=True):
        assert response.headers.get_list("x-request-id") == [request_id]
    assert owned.headers.get_list("x-request-id") == ["the-handler's"]
    lines = [entry for entry in json_lines(stream) if entry["event"] == "http request"]
    assert [line["request_id"] for line in lines] == [*ids, "r-8"]


async def test_route_labels_through_the_service_router() -> None:
    """The service's router names each route kind's label: a raw route's template, a
    mount's template joined with the routes inside it, an opaque mount's ``/{path}``.

    A plain route is recorded as a leaf (no mount check, no scope to watch); a mount's
    scope still records what the mounted app's own router matches.
    """
    obs, app, exporter, _ = _wired()

    async def ok(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    async def files(scope: Scope, receive: Receive, send: Send) -> None:
        await PlainTextResponse("file")(scope, receive, send)

    app.add_route("/raw/{name}", ok)
    app.add_route("/plain", ok)
    app.mount("/api", Starlette(routes=[Route("/items/{id}", ok)]))
    app.mount("/static", files)
    paths = ("/raw/a", "/raw/b", "/plain", "/api/items/1", "/static/site.css")
    async with serve(app.app) as url, httpx.AsyncClient(base_url=url) as client:
        for path in paths:
            assert (await client.get(path)).status_code == 200
    await obs.stop()

    routes_seen = {
        s.labels["route"]: s.value
        for family in text_string_to_metric_families(obs.metrics.exposition()[0].decode())
        for s in family.samples
        if s.name == "http_server_requests_total"
    }
    assert routes_seen == {"/raw/{name}": 2, "/plain": 1, "/api/items/{id}": 1, "/static/{path}": 1}
    spans = {
        str(span.attributes["url.path"]): span for span in exporter.get_finished_spans() if span.attributes
    }
    assert [spans[path].attributes["http.route"] for path in paths] == [
        "/raw/{name}",
        "/raw/{name}",
        "/plain",
        "/api/items/{id}",
        "/static/{path}",
    ]
