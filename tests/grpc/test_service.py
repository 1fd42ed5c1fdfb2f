"""The gRPC server inside a Service: chain slots, readiness and the shutdown choreography."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from microlib.contract import ServiceDefinition
from microlib.grpc import DeadlineInterceptor, GrpcServer, GrpcSettings, ValidationInterceptor
from microlib.service import Service
from tests.grpc.conftest import Recorder
from tests.grpc.support import EchoServicer, Generated, Record


async def test_served_by_a_service(echo: Generated, definition: ServiceDefinition, record: Record) -> None:
    """In the service's chain slots, the server runs the chain, reports readiness, drains on stop."""
    service = Service("echo-svc")
    service.configure(overrides=["http.enabled=false", "shutdown.drain_timeout=30"])
    user = Recorder()
    service.chain.install("user", user)
    service.chain.install("deadline", DeadlineInterceptor())
    service.chain.install("validation", ValidationInterceptor())
    server = GrpcServer(
        GrpcSettings(host="127.0.0.1", port=0), interceptors=service.chain, health=service.health
    )
    server.add(EchoServicer(echo.pb2, record), definition)
    service.add(server)
    await service.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            stub: Any = echo.pb2_grpc.EchoServiceStub(channel)
            assert (await stub.Echo(echo.pb2.EchoRequest(message="hi"))).message == "hi"
            assert user.calls == [("grpc", "echotest.v1.EchoService/Echo", "ok")]
            health = health_pb2_grpc.HealthStub(channel)
            check = await health.Check(health_pb2.HealthCheckRequest(service="echotest.v1.EchoService"))
            assert check.status == health_pb2.HealthCheckResponse.SERVING
            in_flight = asyncio.ensure_future(stub.Echo(echo.pb2.EchoRequest(message="wait")))
            await record.started.wait()
            stopping = asyncio.ensure_future(service.stop())
            await asyncio.sleep(0)
            record.release.set()
            assert (await in_flight).message == "wait"
            await stopping
    finally:
        await service.stop()
    assert not server.serving
