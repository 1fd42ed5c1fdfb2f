"""TestService: run a Service in-process for tests, without sockets."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import grpc
import httpx

from microlib.core.service import Service
from microlib.testing.logs import capture_logs

__all__ = ["TestService"]


class TestService:
    """Start a service for a test; stop it on exit.

    ``t.http`` is an httpx client talking to the service's HTTP app in
    memory (no socket); ``t.grpc`` a channel to its gRPC server on a free
    loopback port; ``t.logs`` holds the log events emitted meanwhile.
    The environment is not read unless ``environ`` is given, so a test does
    not depend on the shell that runs it.

    Args:
        service: The service under test (configured here).
        overrides: ``key=value`` settings, as ``--set`` takes them.
        files: Config files to load.
        environ: Environment variables the config may read.
        listen: Keep the HTTP server listening on a real socket (port 0
            unless overridden) for tests that need one.

    Example::

        async with TestService(service) as t:
            response = await t.http.get("/health/ready")
    """

    __test__ = False

    def __init__(
        self,
        service: Service,
        *,
        overrides: Sequence[str] = (),
        files: Sequence[str | Path] = (),
        environ: Mapping[str, str] | None = None,
        listen: bool = False,
    ) -> None:
        self.service = service
        defaults = ["http.host=127.0.0.1", "http.port=0"] if listen else ["http.enabled=false"]
        # grpc.aio has no in-memory transport: a real port on loopback.
        defaults += ["grpc.host=127.0.0.1", "grpc.port=0"]
        self._overrides = [*defaults, *overrides]
        self._files = list(files)
        self._environ = dict(environ or {})
        self._capture: contextlib.AbstractContextManager[list[dict[str, Any]]] | None = None
        self.logs: list[dict[str, Any]] = []
        self._http: httpx.AsyncClient | None = None
        self._grpc: grpc.aio.Channel | None = None

    @property
    def http(self) -> httpx.AsyncClient:
        """An httpx client bound to the service's HTTP app, in memory."""
        if self._http is None:
            raise RuntimeError("TestService is not started; use 'async with TestService(...)'")
        return self._http

    @property
    def grpc(self) -> grpc.aio.Channel:
        """A grpc.aio channel to the service's gRPC server on loopback.

        Raises:
            RuntimeError: when the service serves no gRPC servicer.
        """
        if self._grpc is None:
            try:
                server = self.service.component("grpc")
            except KeyError:
                raise RuntimeError("this service serves no gRPC: include a servicer first") from None
            self._grpc = grpc.aio.insecure_channel(f"127.0.0.1:{getattr(server, 'port')}")  # noqa: B009
        return self._grpc

    async def __aenter__(self) -> TestService:
        self.service.configure(files=self._files, overrides=self._overrides, environ=self._environ)
        app = self.service.app  # assembles the service: its log pipeline exists from here
        self._capture = capture_logs(self.service.observability.logs)
        self.logs = self._capture.__enter__()
        try:
            await self.service.start()
        except BaseException:
            self._capture.__exit__(None, None, None)
            raise
        transport = httpx.ASGITransport(app=app)
        self._http = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._http is not None:
                await self._http.aclose()
            if self._grpc is not None:
                await self._grpc.close()
            await self.service.stop()
        finally:
            if self._capture is not None:
                self._capture.__exit__(None, None, None)
