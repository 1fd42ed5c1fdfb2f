"""The fields a call's log lines carry (request_id, kind, method, trace ids) and what a handler sees.

microlib reads ``request_id``, ``kind`` and ``method`` from the call's records
rather than binding a structlog variable for each; these tests hold that the
lines, ``current_context()`` and OpenTelemetry's current span are what
binding gave, on every door, including around, after and beside the call.
"""

from __future__ import annotations

import asyncio
import contextvars
import io
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
import structlog
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.requests import Request

from microlib.config.model import Settings
from microlib.core.chain import Chain, compose
from microlib.core.context import CallContext, current_context
from microlib.http import HttpApp, edge_middleware
from microlib.observability import Observability, ServiceIdentity
from microlib.observability._structlog_private import ABSENT, field_var
from microlib.observability.interceptors import LoggingInterceptor
from tests.observability.helpers import json_lines, serve

log = structlog.get_logger("demo")
METHOD = "bookshop.v1.Books//books/{id}"


def _observability() -> tuple[Observability, InMemorySpanExporter, io.StringIO]:
    exporter = InMemorySpanExporter()
    stream = io.StringIO()
    settings = Settings.model_validate({"logging": {"format": "json"}, "tracing": {"schedule_delay": 0.01}})
    obs = Observability(settings, ServiceIdentity("books"), log_stream=stream, span_exporter=exporter)
    return obs, exporter, stream


def _app(obs: Observability, handler: Callable[[Request], Awaitable[Any]], **chain: Any) -> HttpApp:
    wired = Chain(**chain)
    for slot, interceptor in obs.interceptors().items():
        wired.install(slot, interceptor)
    app = HttpApp(wired)
    app.add_middleware(edge_middleware(obs))
    app.route("/books/{id}", service="bookshop.v1.Books")(handler)
    return app


def _unbound() -> bool:
    """Whether no structlog variable holds the call's fields: the lines read them from its records."""
    return all(field_var(name).get(ABSENT) is ABSENT for name in ("request_id", "kind", "method"))


async def test_http_lines_spans_and_context_inside_after_and_beside_the_handler() -> None:
    """Over real HTTP: the handler's lines carry the call's fields and the server span's ids, its
    current span is the server span and its context the call's; a field the handler binds reaches
    its request's access line and no other request; a task it starts keeps the fields."""
    obs, exporter, stream = _observability()
    seen: dict[str, Any] = {}
    later = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []

    async def background() -> None:
        await later.wait()
        log.info("after the response")

    async def get_book(request: Request) -> dict[str, Any]:
        book = request.path_params["id"]
        seen[book] = (trace.get_current_span(), current_context(), _unbound())
        log.info("inside")
        if book == "1":
            structlog.contextvars.bind_contextvars(user="u-1")
            tasks.append(asyncio.create_task(background()))
        return {"id": book}

    async def requests() -> None:
        async with serve(_app(obs, get_book).app) as url, httpx.AsyncClient(base_url=url) as client:
            await client.get("/books/1", headers={"x-request-id": "r-1"})
            await client.get("/books/2", headers={"x-request-id": "r-2"})
            later.set()
            await asyncio.gather(*tasks)

    # Served from a context of its own: nothing an earlier test bound is around the requests.
    await asyncio.create_task(requests(), context=contextvars.Context())
    await obs.stop()

    spans = {span.attributes["url.path"]: span for span in exporter.get_finished_spans() if span.attributes}
    lines = json_lines(stream)
    for book, request_id in (("1", "r-1"), ("2", "r-2")):
        server = spans[f"/books/{book}"].context
        span, ctx, unbound = seen[book]
        assert unbound  # the path under test: nothing bound for the fields
        assert span.get_span_context().span_id == server.span_id
        assert isinstance(ctx, CallContext)
        assert (ctx.kind, ctx.full_method) == ("http", METHOD)
        # What a message published or a job enqueued from the handler carries as its x-request-id.
        assert ctx.attributes["request_id"] == request_id
        [inside] = [line for line in lines if line["event"] == "inside" and line["request_id"] == request_id]
        assert {key: inside[key] for key in ("kind", "method", "trace_id", "span_id")} == {
            "kind": "http",
            "method": METHOD,
            "trace_id": format(server.trace_id, "032x"),
            "span_id": format(server.span_id, "016x"),
        }
    access = {line["request_id"]: line for line in lines if line["event"] == "http request"}
    assert access["r-1"]["user"] == "u-1"
    assert "user" not in access["r-2"]
    # The access line is the edge's, after the call: the verb, not the call's fields.
    assert access["r-1"]["method"] == "GET"
    assert "kind" not in access["r-1"]
    [after] = [line for line in lines if line["event"] == "after the response"]
    assert {key: after[key] for key in ("request_id", "kind", "method", "user")} == {
        "request_id": "r-1",
        "kind": "http",
        "method": METHOD,
        "user": "u-1",
    }


async def test_fields_bound_around_a_request_give_way_inside_it_and_return_after() -> None:
    """A request id or kind bound around the request (in-process, in the caller's task) is replaced by
    the request's own inside it, as a binding did, and is back after it; one the handler unbinds is gone."""
    obs, _, stream = _observability()

    async def get_book(request: Request) -> dict[str, Any]:
        log.info("inside")
        if request.path_params["id"] == "unbind":
            structlog.contextvars.unbind_contextvars("request_id", "kind")
            log.info("unbound")
        return {}

    transport = httpx.ASGITransport(app=_app(obs, get_book).app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        await client.get("/books/1", headers={"x-request-id": "r-1"})
        tokens = structlog.contextvars.bind_contextvars(request_id="outer", kind="outer")
        try:
            await client.get("/books/2", headers={"x-request-id": "r-2"})
            log.info("outside")
        finally:
            structlog.contextvars.reset_contextvars(**tokens)
        await client.get("/books/unbind", headers={"x-request-id": "r-3"})
    await obs.stop()

    lines = {(line["event"], line.get("request_id")): line for line in json_lines(stream)}
    for request_id in ("r-1", "r-2", "r-3"):
        assert lines[("inside", request_id)]["kind"] == "http"
        assert lines[("inside", request_id)]["method"] == METHOD
    assert lines[("outside", "outer")]["kind"] == "outer"
    assert "method" not in lines[("outside", "outer")]
    [unbound] = [line for line in lines.values() if line["event"] == "unbound"]
    assert ("request_id" in unbound, "kind" in unbound, unbound["method"]) == (False, False, METHOD)


async def test_without_the_logging_stage_lines_carry_no_call_fields() -> None:
    """A chain whose logging slot is disabled names no ``kind`` or ``method`` on its lines."""
    obs, _, stream = _observability()

    async def get_book(request: Request) -> dict[str, Any]:
        log.info("inside")
        return {}

    transport = httpx.ASGITransport(app=_app(obs, get_book, disabled=["logging"]).app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        await client.get("/books/1", headers={"x-request-id": "r-1"})
    await obs.stop()

    [inside] = [line for line in json_lines(stream) if line["event"] == "inside"]
    assert inside["request_id"] == "r-1"
    assert "kind" not in inside
    assert "method" not in inside


@pytest.mark.parametrize("kind", ["grpc", "message", "job"])
async def test_other_doors_lines_spans_and_context(kind: str) -> None:
    """A gRPC call, a message and a job: the handler's lines carry the call's fields and span ids,
    its current span is the call's span, and nothing of the call is left once it returns."""
    obs, exporter, stream = _observability()
    seen: dict[str, Any] = {}

    async def handler(ctx: CallContext) -> None:
        seen["span"] = trace.get_current_span()
        seen["context"] = current_context()
        seen["unbound"] = _unbound()
        log.info("inside")

    metadata = {"x-request-id": "r-1"}
    ctx = CallContext(kind, "shop.v1.Orders", "GetOrder", metadata)  # type: ignore[arg-type]
    await compose(list(obs.interceptors().values()), handler)(ctx)
    log.info("outside")
    await obs.stop()

    [span] = exporter.get_finished_spans()
    assert seen["span"].get_span_context().span_id == span.context.span_id
    assert seen["context"] is ctx
    lines = {line["event"]: line for line in json_lines(stream)}
    assert {key: lines["inside"][key] for key in ("request_id", "kind", "method", "span_id")} == {
        "request_id": "r-1",
        "kind": kind,
        "method": "shop.v1.Orders/GetOrder",
        "span_id": format(span.context.span_id, "016x"),
    }
    assert seen["unbound"] == (kind == "http")  # the other doors bind the request id
    assert not {"request_id", "kind", "method", "trace_id"} & lines["outside"].keys()
    assert current_context() is None


async def test_a_call_inside_a_call_has_its_own_fields_then_the_outer_ones() -> None:
    """A call made in the task of another (a handler running a chain in-process) logs its own
    fields, and the outer call's lines after it carry the outer ones again."""
    obs, _, stream = _observability()
    interceptors = list(obs.interceptors().values())

    async def inner(ctx: CallContext) -> None:
        log.info("inner")

    async def outer(ctx: CallContext) -> None:
        await compose(interceptors, inner)(CallContext("message", "shop.v1.Events", "Created"))
        log.info("outer")

    await compose(interceptors, outer)(CallContext("grpc", "shop.v1.Orders", "GetOrder"))
    await obs.stop()

    lines = {line["event"]: line for line in json_lines(stream)}
    assert (lines["inner"]["kind"], lines["inner"]["method"]) == ("message", "shop.v1.Events/Created")
    assert (lines["outer"]["kind"], lines["outer"]["method"]) == ("grpc", "shop.v1.Orders/GetOrder")


async def test_the_logging_stage_alone_still_names_the_call() -> None:
    """Run outside a chain (no context bound for lines to read), the stage binds the fields itself."""
    obs, _, stream = _observability()
    stage = LoggingInterceptor(obs)

    async def handler(ctx: CallContext) -> None:
        log.info("inside")

    await stage.intercept(CallContext("grpc", "shop.v1.Orders", "GetOrder"), handler)
    log.info("outside")
    await obs.stop()

    lines = {line["event"]: line for line in json_lines(stream)}
    assert (lines["inside"]["kind"], lines["inside"]["method"]) == ("grpc", "shop.v1.Orders/GetOrder")
    assert "kind" not in lines["outside"]
