"""A TCP forwarder to a local server, which a test cuts and opens again: the server's outage,
as its clients see it, without stopping the server the other tests share."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable


@contextlib.asynccontextmanager
async def forwarding(port: int, *, to: int) -> AsyncIterator[Callable[[], Awaitable[None]]]:
    """Listen on ``port`` and pipe each connection to 127.0.0.1:``to`` (RabbitMQ, Redis), as a
    broker that comes up does; what it yields stops listening and closes every
    connection, as a broker that goes away does."""
    clients: list[asyncio.StreamWriter] = []

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def forward(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        clients.append(client_w)
        server_r, server_w = await asyncio.open_connection("127.0.0.1", to)
        await asyncio.gather(pipe(client_r, server_w), pipe(server_r, client_w))

    server = await asyncio.start_server(forward, "127.0.0.1", port)

    async def cut() -> None:
        server.close()
        for client in clients:
            client.close()
        await server.wait_closed()

    try:
        yield cut
    finally:
        server.close()
