"""The edge runs the built-in middleware inline: the same answers as the same middleware as layers."""

from __future__ import annotations

import asyncio
import gc
import io
import weakref
from typing import Any

import httpx
import pytest
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from microlib.config.model import Settings
from microlib.core.chain import Chain
from microlib.http import HttpApp, edge_middleware
from microlib.http.edge import HttpEdge
from microlib.http.middleware import HttpMiddlewareSettings, build_middleware
from microlib.http.probes import StartingGate
from microlib.observability import Health, Observability, ServiceIdentity
from tests.http.apps.store import Pets
from tests.http.conftest import store_app

_JSON = "application/json"
# Headers that differ between any two requests.
_VARYING = {"x-request-id", "content-length"}


class _Layer:
    """A middleware that does nothing: put right behind the edge, it keeps the rest as layers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


class _SlowPets(Pets):
    async def get_pet(self, *, pet_id: int) -> Any:
        await asyncio.sleep(10 if pet_id == 9 else 0)
        return await super().get_pet(pet_id=pet_id)


def _app(settings: HttpMiddlewareSettings, health: Health, *, fused: bool) -> tuple[Any, Observability]:
    obs = Observability(Settings(), ServiceIdentity("store"), log_stream=io.StringIO())
    app = HttpApp(Chain())
    app.add_middleware(edge_middleware(obs, untraced_paths=("/health",)))
    if not fused:
        app.add_middleware(Middleware(_Layer))
    app.add_middleware(Middleware(StartingGate, health=health, probes="/health"))
    for middleware in build_middleware(settings):
        app.add_middleware(middleware)
    app.mount("/api", store_app(pets=_SlowPets()))
    return app.app, obs


async def _answers(app: Any) -> list[tuple[int, dict[str, str], bytes]]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        requests = [
            client.get("/api/pets"),
            client.get("/api/pets/9"),  # over the timeout: 504
            client.post("/api/store/orders", content=b"x" * 2048, headers={"content-type": _JSON}),
            client.get("/nowhere"),
            client.get("/api/pets/1"),
            client.get("/api/pets", headers={"accept-encoding": "gzip"}),
        ]
        responses = [await request for request in requests]
    return [
        (r.status_code, {k: v for k, v in r.headers.items() if k not in _VARYING}, r.content)
        for r in responses
    ]


@pytest.mark.parametrize("order", [None, ["timeout", "security_headers", "body_limit", "gzip"]])
async def test_fused_middleware_answers_as_the_layers_do(order: list[str] | None) -> None:
    """Security headers, 413, 504 and 404 come out the same, inline or as layers, in any order."""
    options: dict[str, Any] = {"request_timeout": 0.05, "max_body_bytes": 1024, "gzip_minimum_size": 2}
    if order is not None:
        options["order"] = order
    settings = HttpMiddlewareSettings(**options)
    health = Health([], check_timeout=1.0, cache_ttl=0.0)
    fused, obs = _app(settings, health, fused=True)
    layered, other = _app(settings, health, fused=False)
    inline = await _answers(fused)
    assert [status for status, _, _ in inline] == [200, 504, 413, 404, 404, 200]
    assert inline[0][1]["x-frame-options"] == "DENY"
    assert inline[-1][1]["content-encoding"] == "gzip"
    # Correlation ids differ per request: compare the rest of each answer.
    assert [_without_ids(a) for a in await _answers(layered)] == [_without_ids(a) for a in inline]
    await obs.stop()
    await other.stop()


async def test_the_fused_gate_refuses_while_starting() -> None:
    """While the service starts, the gate inside the edge answers 503, as the layer does."""
    health = Health([], check_timeout=1.0, cache_ttl=0.0)
    health.waiting_for = "db"
    answers = []
    for fused in (True, False):
        app, obs = _app(HttpMiddlewareSettings(), health, fused=fused)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            answers.append(await client.get("/api/pets"))
        await obs.stop()
    assert [a.status_code for a in answers] == [503, 503]
    assert answers[0].headers.get("retry-after") == answers[1].headers.get("retry-after")
    assert [a.headers.get("x-frame-options") for a in answers] == [None, None]


def test_the_edge_is_the_only_layer_for_the_default_list() -> None:
    """With the default settings the gate, security headers, body limit, timeout and gzip run in the edge."""
    app, _ = _app(HttpMiddlewareSettings(), Health([], check_timeout=1.0, cache_ttl=0.0), fused=True)
    stack = app.build_middleware_stack()
    assert isinstance(stack, HttpEdge)
    assert type(stack.app).__name__ == "Router"
    assert stack.gzip is not None
    assert stack.gate is not None
    assert stack.limit is not None
    assert stack.timeout is not None
    assert stack.headers


def _without_ids(answer: tuple[int, dict[str, str], bytes]) -> tuple[int, dict[str, str], bytes]:
    status, headers, body = answer
    if b'"correlation_id"' in body:
        body = body.split(b',"correlation_id"')[0]
    return status, headers, body


async def test_the_last_resort_answer_has_the_request_id_and_no_security_headers() -> None:
    """A fault outside the chain is answered 500 with the request id, without the security
    headers every other answer of the same edge carries (the next one too)."""

    async def crash(request: Request) -> Response:
        raise RuntimeError("disk on fire")

    async def fine(request: Request) -> Response:
        return PlainTextResponse("ok", headers={"x-request-id": "own"})

    obs = Observability(Settings(), ServiceIdentity("store"), log_stream=io.StringIO())
    app = HttpApp(Chain())
    app.add_middleware(edge_middleware(obs))
    for middleware in build_middleware(HttpMiddlewareSettings()):
        app.add_middleware(middleware)
    app.add_routes([Route("/crash", crash), Route("/fine", fine)])
    transport = httpx.ASGITransport(app=app.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        before = await client.get("/fine")
        crashed = await client.get("/crash", headers={"x-request-id": "r-9"})
        after = await client.get("/fine")
    await obs.stop()
    assert crashed.status_code == 500
    assert crashed.headers.get_list("x-request-id") == ["r-9"]
    assert "x-frame-options" not in crashed.headers
    for answer in (before, after):
        assert answer.headers["x-frame-options"] == "DENY"
        # The response's own request id stands; the edge adds none.
        assert answer.headers.get_list("x-request-id") == ["own"]


class _Connection:
    """What a server keeps per request (uvicorn's cycle): the scope, and the receive and send
    bound to it."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.sent: list[Any] = []

    async def receive(self) -> Any:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(self, message: Any) -> None:
        self.sent.append(message["type"])


async def test_a_served_request_leaves_no_cycle_behind() -> None:
    """The scope holds the edge's record of the request, the record the server's receive and
    send: once answered, the record lets go of them, so the server's connection objects are
    freed when the request ends, not at the cyclic collector's next pass (a pause a request
    would wait on)."""
    obs = Observability(Settings(), ServiceIdentity("store"), log_stream=io.StringIO())
    app = HttpApp(Chain())
    app.add_middleware(edge_middleware(obs))
    app.mount("/api", store_app(pets=Pets()))
    scope = {"type": "http", "method": "GET", "path": "/api/pets/1", "raw_path": b"/api/pets/1"}
    scope |= {"query_string": b"", "headers": [], "root_path": "", "scheme": "http"}
    gc.disable()
    try:
        connection = _Connection(scope)
        await app.app(connection.scope, connection.receive, connection.send)
        assert connection.sent == ["http.response.start", "http.response.body"]
        freed = weakref.ref(connection)
        del connection, scope
        assert freed() is None
    finally:
        gc.enable()
