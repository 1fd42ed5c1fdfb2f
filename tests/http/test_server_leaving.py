"""HTTP keep-alive connections leave a stopping service during its drain delay."""

from __future__ import annotations

import asyncio

import httpx
from starlette.requests import Request
from starlette.responses import PlainTextResponse

from microlib import Service
from microlib.config.model import Settings
from microlib.http.server import HttpServer
from microlib.testing import TestService


async def test_responses_close_the_connection_once_shutdown_starts() -> None:
    """Before shutdown a keep-alive connection is reused; from SIGTERM on
    (readiness failed, drain delay running) each response, on connections
    already open and on new ones, says ``Connection: close``, so clients
    reconnect through their load balancer to another replica."""
    service = Service("shop")

    @service.http.route("/hello")
    async def hello(request: Request) -> PlainTextResponse:
        return PlainTextResponse("hello")

    async with TestService(service, overrides=["shutdown.drain_delay=1"], listen=True) as t:
        port = service.component("http").port  # type: ignore[attr-defined]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            first = await client.get("/hello")
            assert "connection" not in first.headers
            stopping = asyncio.create_task(service.stop())
            await asyncio.sleep(0.2)
            on_open_connection = await client.get("/hello")
            assert on_open_connection.status_code == 200
            assert on_open_connection.headers["connection"] == "close"
            on_new_connection = await client.get("/hello")
            assert on_new_connection.text == "hello"
            assert on_new_connection.headers["connection"] == "close"
            await stopping
    assert any(e["event"] == "shutdown started" for e in t.logs)


def test_leaving_before_start_changes_nothing() -> None:
    """A server that is not serving has no clients to send away."""
    server = HttpServer(Service("shop").app, Settings().http)
    server.leaving()
    assert server.port == 0
