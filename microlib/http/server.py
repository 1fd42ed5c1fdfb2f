"""The HTTP server component: uvicorn inside the service's own event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Mapping
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from microlib.config.model import HttpSettings

__all__ = ["HttpServer"]


class HttpServer:
    """Serves an ASGI app with uvicorn, started and drained by the Service.

    uvicorn's own ``serve()`` installs signal handlers and exits the process
    on a bind error; the service owns both, so this drives uvicorn's
    start-up, tick loop and shutdown steps itself.

    Args:
        app: The ASGI application.
        settings: Address, port and connection limits.
        name: The component name (health, logs).
    """

    def __init__(self, app: ASGIApp, settings: HttpSettings, *, name: str = "http") -> None:
        self.name = name
        self._app = app
        self._settings = settings
        self._server: uvicorn.Server | None = None
        self._socket: socket.socket | None = None
        self._loop_task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        """The bound port (useful with port 0); 0 before start."""
        return self._socket.getsockname()[1] if self._socket else 0

    async def start(self) -> None:
        """Bind the socket and start accepting connections.

        Raises:
            OSError: naming the address when the port cannot be bound.
        """
        s = self._settings
        try:
            sock = socket.create_server(
                (s.host, s.port), family=_family(s.host), backlog=s.backlog, reuse_port=False
            )
        except OSError as exc:
            raise OSError(exc.errno, f"cannot listen on {s.host}:{s.port}: {exc.strerror}") from None
        config = uvicorn.Config(
            self._app,
            lifespan="off",
            log_config=None,
            access_log=False,
            backlog=s.backlog,
            timeout_keep_alive=int(s.keepalive_timeout),
            limit_concurrency=s.limit_concurrency,
            server_header=False,
        )
        config.load()
        server = uvicorn.Server(config)
        server.lifespan = config.lifespan_class(config)
        await server.startup(sockets=[sock])
        self._socket, self._server = sock, server
        self._loop_task = asyncio.create_task(server.main_loop(), name=f"{self.name}-tick")
        logging.getLogger("microlib.http").info("HTTP listening on %s:%d", s.host, self.port)

    async def drain(self, timeout: float) -> None:
        """Stop accepting, then wait up to ``timeout`` s for in-flight requests.

        Requests still running after ``timeout`` are cancelled.
        """
        server = self._server
        if server is None:
            return
        self._server = None
        server.should_exit = True
        server.config.timeout_graceful_shutdown = max(1, round(timeout))
        if self._loop_task is not None:
            await self._loop_task
        await server.shutdown(sockets=[self._socket] if self._socket else None)

    async def stop(self) -> None:
        """Release the server; drains briefly if :meth:`drain` was not called."""
        await self.drain(timeout=1.0)
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.close()
            self._socket = None

    async def check(self) -> Mapping[str, Any] | None:
        """Healthy while listening; reports the bound port.

        Raises:
            RuntimeError: when the server is not running.
        """
        if self._server is None:
            raise RuntimeError("not listening")
        return {"port": self.port, "connections": len(self._server.server_state.connections)}


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET
