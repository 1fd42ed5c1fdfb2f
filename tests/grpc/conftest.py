"""Fixtures: the generated echo service and a real server on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import pytest

from microlib.contract import ServiceDefinition
from microlib.core.chain import CallNext, Interceptor
from microlib.core.context import CallContext
from microlib.grpc import DeadlineInterceptor, GrpcServer, GrpcSettings, ValidationInterceptor
from tests.grpc.support import EchoServicer, Generated, Record, definition_for, generate


class Recorder:
    """A test interceptor standing in for the observability ones."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []

    async def intercept(self, ctx: CallContext, call_next: CallNext) -> Any:
        try:
            result = await call_next(ctx)
        except Exception as exc:
            self.calls.append((ctx.kind, ctx.full_method, type(exc).__name__))
            raise
        self.calls.append((ctx.kind, ctx.full_method, "ok"))
        return result


@pytest.fixture(scope="session")
def echo(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    """The echo proto compiled by grpcio-tools (upb messages, grpc stubs)."""
    return generate(tmp_path_factory.mktemp("echo_gen"))


@pytest.fixture(scope="session")
def definition(echo: Generated) -> ServiceDefinition:
    """The echo service's definition, as codegen would describe it."""
    return definition_for(echo)


@pytest.fixture
def record() -> Record:
    """What the servicer saw."""
    return Record()


@pytest.fixture
def recorder() -> Recorder:
    """The interceptor that records each call."""
    return Recorder()


@pytest.fixture
def settings() -> GrpcSettings:
    """Loopback, ephemeral port, quick health watch."""
    return GrpcSettings(host="127.0.0.1", port=0, health_watch_interval=0.05, grace_period=1.0)


@pytest.fixture
def make_server(
    echo: Generated, definition: ServiceDefinition, record: Record, recorder: Recorder
) -> Callable[..., GrpcServer]:
    """Builds an echo server with the default slots and the recorder."""

    def make(settings: GrpcSettings, interceptors: list[Interceptor] | None = None, **kw: Any) -> GrpcServer:
        chain = (
            interceptors
            if interceptors is not None
            else [recorder, DeadlineInterceptor(), ValidationInterceptor()]
        )
        server = GrpcServer(settings, interceptors=chain, **kw)
        server.add(EchoServicer(echo.pb2, record), definition)
        return server

    return make


@pytest.fixture
async def server(make_server: Callable[..., GrpcServer], settings: GrpcSettings) -> AsyncIterator[GrpcServer]:
    """A started echo server on 127.0.0.1."""
    server = make_server(settings)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def channel(server: GrpcServer) -> AsyncIterator[grpc.aio.Channel]:
    """A plaintext channel to ``server``."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        yield channel


@pytest.fixture
def stub(echo: Generated, channel: grpc.aio.Channel) -> Any:
    """The grpcio-tools generated stub on ``channel``."""
    return echo.pb2_grpc.EchoServiceStub(channel)
