"""grpc.health.v1 driven by the service's readiness."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from microlib.core.lifecycle import Registration
from microlib.grpc import GrpcServer, GrpcSettings
from microlib.observability.health import Health, Phase

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
UNKNOWN = health_pb2.HealthCheckResponse.SERVICE_UNKNOWN


class Database:
    """A component whose health the test switches."""

    name = "db"

    def __init__(self) -> None:
        self.up = True

    async def start(self) -> None:
        """Nothing to acquire."""

    async def stop(self) -> None:
        """Nothing to release."""

    async def check(self) -> Mapping[str, Any] | None:
        """Raise while down."""
        if not self.up:
            raise ConnectionError("database down")
        return None


async def test_check_follows_readiness(
    make_server: Callable[..., GrpcServer], settings: GrpcSettings
) -> None:
    """Check answers NOT_SERVING while starting or a critical component is down, SERVING when ready."""
    db = Database()
    health = Health([Registration(db)], check_timeout=1, cache_ttl=0)
    server = make_server(settings, health=health)
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            stub = health_pb2_grpc.HealthStub(channel)

            async def status(service: str = "") -> int:
                return int((await stub.Check(health_pb2.HealthCheckRequest(service=service))).status)

            assert await status() == NOT_SERVING  # still starting
            health.phase = Phase.RUNNING
            assert await status() == SERVING
            assert await status("echotest.v1.EchoService") == SERVING
            db.up = False
            assert await status() == NOT_SERVING
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await status("no.such.Service")
            assert caught.value.code() is grpc.StatusCode.NOT_FOUND
    finally:
        await server.stop()


async def test_watch_streams_changes_and_ends_on_drain(
    make_server: Callable[..., GrpcServer], settings: GrpcSettings
) -> None:
    """Watch sends each change of readiness, then NOT_SERVING and the end of stream on drain."""
    db = Database()
    health = Health([Registration(db)], check_timeout=1, cache_ttl=0)
    health.phase = Phase.RUNNING
    server = make_server(settings, health=health)
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            watch = stub.Watch(health_pb2.HealthCheckRequest(service="echotest.v1.EchoService"))
            assert (await watch.read()).status == SERVING
            db.up = False
            assert (await watch.read()).status == NOT_SERVING
            db.up = True
            assert (await watch.read()).status == SERVING
            unknown = stub.Watch(health_pb2.HealthCheckRequest(service="no.such.Service"))
            assert (await unknown.read()).status == UNKNOWN
            await server.drain(timeout=30)
            assert (await watch.read()).status == NOT_SERVING
            assert await watch.read() == grpc.aio.EOF
            assert await watch.code() is grpc.StatusCode.OK
    finally:
        await server.stop()


async def test_without_a_health_registry_serving_means_started(
    make_server: Callable[..., GrpcServer], settings: GrpcSettings
) -> None:
    """Standalone, the server is SERVING while started."""
    server = make_server(settings)
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
            assert reply.status == SERVING
    finally:
        await server.stop()
