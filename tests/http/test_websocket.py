"""A WebSocket route works through the server; its WebSocket protocol loads at the first upgrade."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket
from uvicorn.config import WS_PROTOCOLS
from websockets.asyncio.client import connect

from microlib import Service
from microlib.http import _protocol
from microlib.testing import TestService

ROOT = Path(__file__).resolve().parents[2]


async def _echo(websocket: WebSocket) -> None:
    await websocket.accept()
    async for text in websocket.iter_text():
        await websocket.send_text(f"echo {text}")


async def test_a_websocket_route_upgrades_and_echoes() -> None:
    service = Service("shop")
    service.http.add_routes([WebSocketRoute("/ws", _echo)])
    async with TestService(service, listen=True):
        port = service.component("http").port  # type: ignore[attr-defined]
        async with connect(f"ws://127.0.0.1:{port}/ws") as websocket:
            await websocket.send("one")
            assert await websocket.recv() == "echo one"
            await websocket.send("two")
            assert await websocket.recv() == "echo two"


# A started service, then one upgrade: is uvicorn's WebSocket protocol imported at each point?
_IMPORTED_WHEN = textwrap.dedent(
    """
    import asyncio, sys
    from starlette.routing import WebSocketRoute
    from websockets.asyncio.client import connect
    from microlib import Service
    from microlib.testing import TestService

    async def echo(websocket):
        await websocket.accept()
        await websocket.send_text(await websocket.receive_text())

    async def main():
        service = Service("shop")
        service.http.add_routes([WebSocketRoute("/ws", echo)])
        async with TestService(service, listen=True):
            print("started", "uvicorn.protocols.websockets.auto" in sys.modules)
            port = service.component("http").port
            async with connect(f"ws://127.0.0.1:{port}/ws") as websocket:
                await websocket.send("x")
                await websocket.recv()
            print("upgraded", "uvicorn.protocols.websockets.auto" in sys.modules)

    asyncio.run(main())
    """
)


def test_the_websocket_protocol_is_imported_at_the_first_upgrade_not_at_start() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-c", _IMPORTED_WHEN]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    # The service's log lines go to standard output too.
    found = [line for line in done.stdout.splitlines() if line.startswith(("started", "upgraded"))]
    assert found == ["started False", "upgraded True"]


def test_without_a_websocket_library_the_server_has_no_websocket_protocol(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As uvicorn's ``"auto"`` does when it finds neither library."""
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    assert _protocol.websocket_protocol() == "none"


def test_uvicorn_auto_still_names_the_protocol_built_at_the_first_upgrade() -> None:
    """Drift: ``_FirstUpgrade`` builds what ``ws="auto"`` names in the pinned uvicorn."""
    assert WS_PROTOCOLS["auto"] == "uvicorn.protocols.websockets.auto:AutoWebSocketsProtocol"
