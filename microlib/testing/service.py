"""TestService: run a Service in-process for tests, without sockets."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx

from microlib.service import Service
from microlib.testing.jobs import JobsHarness
from microlib.testing.logs import capture_logs
from microlib.testing.messages import Messages
from microlib.testing.spans import Spans

if TYPE_CHECKING:
    import grpc

__all__ = ["TestService"]


class TestService:
    """Start a service for a test; stop it on exit.

    ``t.http`` is an httpx client talking to the service's HTTP app in
    memory (no socket); ``t.grpc`` a channel to its gRPC server on a free
    loopback port; ``t.messages`` publishes to its consumers and records
    what it published; ``t.jobs`` runs the service's jobs in memory and
    moves their clock; ``t.logs`` holds the log events emitted meanwhile,
    ``t.spans`` the spans finished, and :meth:`metric` reads a sample of
    the service's metrics.
    The environment is not read unless ``environ`` is given, so a test does
    not depend on the shell that runs it. Messaging runs on an in-memory
    broker of the test's own unless ``with_real`` is set.

    Args:
        service: The service under test (configured here).
        overrides: ``key=value`` settings, as ``--set`` takes them.
        files: Config files to load.
        environ: Environment variables the config may read.
        listen: Keep the HTTP server listening on a real socket (port 0
            unless overridden) for tests that need one.
        with_real: Keep the configured broker (``messaging.url``) instead
            of the in-memory one, so the same test body runs against
            RabbitMQ, Kafka or Redis.
        frozen_time: Run jobs and schedules on a frozen clock that
            ``t.jobs.advance(seconds)`` moves (a Unix time to start at, or True).

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
        with_real: bool = False,
        frozen_time: float | bool = False,
    ) -> None:
        self.service = service
        if frozen_time is not False:
            from microlib.jobs import FrozenClock

            service.jobs.clock = FrozenClock() if frozen_time is True else FrozenClock(float(frozen_time))
        defaults = ["http.host=127.0.0.1", "http.port=0"] if listen else ["http.enabled=false"]
        # grpc.aio has no in-memory transport: a real port on loopback.
        defaults += ["grpc.host=127.0.0.1", "grpc.port=0"]
        if not with_real:
            # A hub of the test's own: no message left over by another test.
            defaults.append(f"messaging.url=memory://test-{uuid.uuid4().hex}")
        self._overrides = [*defaults, *overrides]
        self._files = list(files)
        self._environ = dict(environ or {})
        self._capture: contextlib.AbstractContextManager[list[dict[str, Any]]] | None = None
        self.logs: list[dict[str, Any]] = []
        self._http: httpx.AsyncClient | None = None
        self._grpc: grpc.aio.Channel | None = None
        self._messages: Messages | None = None
        self._spans: Spans | None = None

    @property
    def http(self) -> httpx.AsyncClient:
        """An httpx client bound to the service's HTTP app, in memory."""
        if self._http is None:
            raise RuntimeError("TestService is not started; use 'async with TestService(...)'")
        return self._http

    @property
    def spans(self) -> Spans:
        """The spans the service finished since it started (none when ``tracing.enabled`` is off)."""
        if self._spans is None:
            raise RuntimeError("TestService is not started; use 'async with TestService(...)'")
        return self._spans

    def metric(self, name: str, **labels: str) -> float | None:
        """The value of one sample of the service's metrics, as ``/metrics`` shows it.

        Args:
            name: The sample's name (``microlib_http_server_requests_total``,
                a histogram's ``..._count``).
            labels: Its labels, all of them.

        Returns:
            The value, or None when no sample has that name and labels.
        """
        return self.service.observability.metrics.registry.get_sample_value(name, labels)

    def logged(self, event: str, **fields: Any) -> list[dict[str, Any]]:
        """The log events called ``event`` whose fields include ``fields``, in order."""
        return [
            entry
            for entry in self.logs
            if entry.get("event") == event and all(entry.get(k) == v for k, v in fields.items())
        ]

    @property
    def jobs(self) -> JobsHarness:
        """The service's jobs: run them, move the frozen clock, read the dead letters."""
        return JobsHarness(self.service.jobs)

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
            import grpc  # here: a service without gRPC runs without grpcio

            self._grpc = grpc.aio.insecure_channel(f"127.0.0.1:{getattr(server, 'port')}")  # noqa: B009
        return self._grpc

    @property
    def messages(self) -> Messages:
        """Publish to the service's consumers; what its handlers published.

        Raises:
            RuntimeError: the service has no messaging, or is not started.
        """
        if self._messages is None:
            raise RuntimeError(
                "t.messages needs a started service with messaging (a consumer included, "
                "or service.publisher asked for)"
            )
        return self._messages

    async def __aenter__(self) -> TestService:
        self.service.configure(files=self._files, overrides=self._overrides, environ=self._environ)
        app = self.service.app  # assembles the service: its log pipeline exists from here
        self._capture = capture_logs(self.service.observability.logs)
        self.logs = self._capture.__enter__()
        self._spans = Spans(self.service.observability.tracing.provider)
        try:
            await self.service.start()
        except BaseException:
            self._capture.__exit__(None, None, None)
            raise
        with contextlib.suppress(RuntimeError):  # a service without messaging
            self._messages = Messages(self.service)
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
            if self._messages is not None:
                self._messages.close()
            if self._http is not None:
                await self._http.aclose()
            if self._grpc is not None:
                await self._grpc.close()
            await self.service.stop()
        finally:
            if self._capture is not None:
                self._capture.__exit__(None, None, None)
