"""The HTTP server component: uvicorn inside the service's own event loop.

TLS and mutual TLS come from uvicorn's own ``ssl_*`` options. uvicorn does not
yet fill in the ASGI TLS extension, so with a client CA the connection's
protocol adds it: the endpoints read the verified client certificate from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import ssl
from collections.abc import Callable, Mapping
from typing import Any

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from microlib.config.model import HttpSettings, TlsSettings
from microlib.core.lifecycle import RETRY_AFTER_SECONDS, DrainExpired, shutting_down
from microlib.http._protocol import (
    ClientCertificateProtocol,
    GuardedProtocol,
    cut_off_slow_heads,
    guarded,
    websocket_protocol,
)
from microlib.http.errors import send_problem

__all__ = ["HttpServer"]

# How long a cancelled request gets to send its 503 before the drain moves on.
_ANSWER_TIMEOUT = 1.0


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
        self._heads_task: asyncio.Task[None] | None = None
        self._draining = False

    @property
    def port(self) -> int:
        """The bound port (useful with port 0); 0 before start."""
        return self._socket.getsockname()[1] if self._socket else 0

    async def start(self) -> None:
        """Bind the socket and start accepting connections.

        Raises:
            OSError: naming the address when the port cannot be bound, or the
                ``http.tls`` files when they can no longer be loaded.
        """
        s = self._settings
        config = uvicorn.Config(
            _Overstayed(self._app, lambda: self._draining),
            lifespan="off",
            log_config=None,
            access_log=False,
            backlog=s.backlog,
            timeout_keep_alive=int(s.keepalive_timeout),
            limit_concurrency=s.limit_concurrency,
            server_header=False,
            ws=websocket_protocol(),
            **_tls_options(s),
        )
        try:
            config.load()
        except OSError as exc:
            # Only the TLS files are read here; the settings checked them, so
            # they changed since (ssl.SSLError is an OSError too).
            reason = exc.strerror or exc
            raise OSError(exc.errno, f"http.tls: cannot load {_files(s.tls)}: {reason}") from None
        try:
            sock = socket.create_server(
                (s.host, s.port), family=_family(s.host), backlog=s.backlog, reuse_port=False
            )
        except OSError as exc:
            # The system's words alone: create_server's add the address again, as a tuple.
            words = os.strerror(exc.errno) if exc.errno else exc.strerror
            raise OSError(
                exc.errno, f"cannot listen on {s.host}:{s.port} (settings http.host, http.port): {words}"
            ) from None
        server = uvicorn.Server(config)
        server.lifespan = config.lifespan_class(config)
        await server.startup(sockets=[sock])
        self._socket, self._server = sock, server
        self._loop_task = asyncio.create_task(server.main_loop(), name=f"{self.name}-tick")
        self._heads_task = asyncio.create_task(
            cut_off_slow_heads(server.server_state.connections, s.header_timeout), name=f"{self.name}-heads"
        )
        logging.getLogger("microlib.http").info(
            "%s listening on %s:%d", "HTTPS" if s.tls else "HTTP", s.host, self.port
        )

    def leaving(self) -> None:
        """From now on every response says ``Connection: close``.

        A client then opens a new connection after its next response (which
        a load balancer sends to another replica) instead of keeping one
        that the drain would close under a request it has just sent.
        """
        server = self._server
        if server is None:
            return
        closing = _CloseConnections(server.config.loaded_app)
        server.config.loaded_app = closing  # connections accepted from now on
        # ... and the HTTP connections open now, all httptools (_tls_options); a WebSocket's app already runs.
        open_now = server.server_state.connections
        for connection in [c for c in open_now if isinstance(c, HttpToolsProtocol)]:
            connection.app = closing

    async def drain(self, timeout: float) -> None:
        """Stop accepting at once, then wait up to ``timeout`` s for in-flight requests.

        Raises:
            DrainExpired: requests were still running after ``timeout``; each
                was cancelled and answered 503 with ``Retry-After``.
        """
        server = self._server
        if server is None:
            return
        self._server = None
        self._draining = True
        # Now, not at uvicorn's next tick: every listener of the service closes together.
        for listener in server.servers:
            listener.close()
        server.should_exit = True
        # uvicorn types it int but waits with asyncio.wait_for: a fraction of a second works.
        server.config.timeout_graceful_shutdown = timeout  # type: ignore[assignment]
        if self._loop_task is not None:
            await self._loop_task
        if self._heads_task is not None:
            self._heads_task.cancel()
            self._heads_task = None
        await server.shutdown(sockets=[self._socket] if self._socket else None)
        # uvicorn has cancelled what outstayed the budget; let each send its 503.
        overstayed = set(server.server_state.tasks)
        if overstayed:
            await asyncio.wait(overstayed, timeout=_ANSWER_TIMEOUT)
            raise DrainExpired(self.name, len(overstayed))

    async def stop(self) -> None:
        """Release the server; drains briefly if :meth:`drain` was not called."""
        with contextlib.suppress(DrainExpired):
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


class _Overstayed:
    """Ends quietly a request the drain cancelled once its budget was spent.

    The service's HTTP edge has answered it 503 and logged it; without this
    uvicorn would log the cancellation as an application error with a
    traceback. A bare app gets the same 503 here.
    """

    def __init__(self, app: ASGIApp, draining: Callable[[], bool]) -> None:
        self.app = app
        self._draining = draining

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        except asyncio.CancelledError:
            # Only the drain cancels a request's task (uvicorn does not, on disconnect).
            if scope["type"] != "http" or not self._draining():
                raise
            retry = (b"retry-after", str(RETRY_AFTER_SECONDS).encode())
            # Where the response has begun (the edge's 503 included), uvicorn refuses a second
            # start with RuntimeError: nothing is sent. Not wrapping every send to know it
            # beforehand saves each request a closure and a call per message.
            with contextlib.suppress(RuntimeError):
                await send_problem(send, shutting_down(), headers=[retry])


class _CloseConnections:
    """Adds ``Connection: close`` to every HTTP response of ``app``; uvicorn
    then closes the connection once the response is sent. (WebSocket
    messages have other types and pass unchanged.)"""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def closing(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", ()), (b"connection", b"close")]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, closing)


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _tls_options(s: HttpSettings) -> dict[str, Any]:
    """uvicorn's protocol, bounded as ``http`` says, and its ``ssl_*`` options for ``http.tls``."""
    tls = s.tls
    base = (
        ClientCertificateProtocol if tls is not None and tls.client_ca_file is not None else GuardedProtocol
    )
    options: dict[str, Any] = {
        "http": guarded(base, header_timeout=s.header_timeout, max_header_bytes=s.max_header_bytes)
    }
    if tls is None:
        return options
    options.update(ssl_certfile=tls.cert_file, ssl_keyfile=tls.key_file)
    if tls.client_ca_file is not None:
        # CERT_OPTIONAL still verifies a certificate the client presents.
        required = ssl.CERT_REQUIRED if tls.require_client_cert else ssl.CERT_OPTIONAL
        options.update(ssl_ca_certs=tls.client_ca_file, ssl_cert_reqs=required)
    return options


def _files(tls: TlsSettings | None) -> str:
    assert tls is not None
    named = {"cert_file": tls.cert_file, "key_file": tls.key_file, "client_ca_file": tls.client_ca_file}
    return ", ".join(f"{key} {str(path)!r}" for key, path in named.items() if path is not None)
