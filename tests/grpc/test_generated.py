"""The runtime with code from ``microlib codegen``: typed client, codec, validation, reflection.

The echo contract is generated in a fixture with each message layer: the
servicer and client see betterproto2 messages while upb does the wire work
(the default), or upb messages themselves (``--messages upb``). grpcio-tools
code for the same contract is the peer on the other side of the wire, both ways.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncIterator
from types import ModuleType
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pool
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from microlib.core.context import CallContext
from microlib.core.errors import InvalidArgument, NotFound, Unimplemented
from microlib.grpc import DeadlineInterceptor, GrpcServer, GrpcSettings, ValidationInterceptor
from tests.grpc.support import EchoServicer, Generated, Record, generate_with_layer


@pytest.fixture(scope="module", params=["betterproto2", "upb"])
def gen(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> ModuleType:
    """``microlib codegen`` output for the echo contract with one message layer, imported."""
    layer = str(request.param)
    out = tmp_path_factory.mktemp("codegen")
    generate_with_layer("echotest/v1/echo.proto", out, f"echogen_{layer}", layer)
    return importlib.import_module(f"echogen_{layer}.echotest.v1")


@pytest.fixture
async def served(gen: ModuleType, record: Record) -> AsyncIterator[tuple[GrpcServer, grpc.aio.Channel]]:
    """The echo servicer, on generated messages, behind a started server."""
    servicer_class = type("GeneratedEcho", (EchoServicer, gen.EchoService), {})
    server = GrpcServer(
        GrpcSettings(host="127.0.0.1", port=0), interceptors=[DeadlineInterceptor(), ValidationInterceptor()]
    )
    server.add(servicer_class(gen, record))
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            yield server, channel
    finally:
        await server.stop()


async def _requests(gen: ModuleType, *messages: str) -> AsyncIterator[Any]:
    for message in messages:
        yield gen.EchoRequest(message=message)


async def test_typed_client_all_four_shapes(gen: ModuleType, served: Any, record: Record) -> None:
    """The generated client and interface carry the layer's messages through every RPC shape."""
    client = gen.EchoServiceClient(served[1])
    reply = await client.echo(gen.EchoRequest(message="hi", count=2, tags=[gen.Tag(key="k")]))
    assert isinstance(reply, gen.EchoResponse)
    assert (reply.message, reply.index) == ("hi", 2)
    assert isinstance(record.contexts[0].request, gen.EchoRequest)
    assert [r.index async for r in client.expand(gen.EchoRequest(message="s", count=3))] == [0, 1, 2]
    assert (await client.collect(_requests(gen, "a", "b"))).message == "a+b"
    assert [r.message async for r in client.chat(_requests(gen, "x", "y"))] == ["x", "y"]


async def test_generated_validation_and_errors(gen: ModuleType, served: Any) -> None:
    """Contract rules run through the generated codec; errors come back typed, with details."""
    client = gen.EchoServiceClient(served[1])
    with pytest.raises(InvalidArgument) as caught:
        await client.echo(gen.EchoRequest(message="", count=101, tags=[gen.Tag(value="v")]))
    assert sorted((v.field, v.rule) for v in caught.value.violations) == [
        ("count", "int32.gte_lte"),
        ("message", "required"),
        ("tags[0].key", "required"),
    ]
    with pytest.raises(NotFound) as missing:
        await client.echo(gen.EchoRequest(message="raise:NOT_FOUND"))
    assert missing.value.reason == "ECHO_FAILED"


async def test_grpcio_stub_calls_the_generated_service(echo: Generated, served: Any) -> None:
    """A grpcio-tools stub with protobuf messages talks to the servicer on the layer's messages."""
    stub = echo.pb2_grpc.EchoServiceStub(served[1])
    reply = await stub.Echo(echo.pb2.EchoRequest(message="upb", payload=b"\x01"))
    assert (reply.message, reply.payload) == ("upb", b"\x01")


async def test_typed_client_calls_a_grpcio_server(gen: ModuleType, echo: Generated) -> None:
    """The generated client talks to a server built with grpcio-tools alone."""

    class Plain(echo.pb2_grpc.EchoServiceServicer):  # type: ignore[name-defined,misc]
        async def Echo(self, request: Any, context: Any) -> Any:
            return echo.pb2.EchoResponse(message=request.message[::-1], index=len(request.tags))

    server = grpc.aio.server()
    echo.pb2_grpc.add_EchoServiceServicer_to_server(Plain(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            reply = await gen.EchoServiceClient(channel).echo(
                gen.EchoRequest(message="abc", tags=[gen.Tag(key="a"), gen.Tag(key="b")])
            )
            assert (reply.message, reply.index) == ("cba", 2)
    finally:
        await server.stop(None)


async def test_servicer_missing_methods_is_refused_naming_them(gen: ModuleType) -> None:
    """A servicer that inherits the interface's defaults instead of implementing
    a method is refused before serving, naming each missing method."""

    class OnlyEcho(gen.EchoService):  # type: ignore[name-defined,misc]
        async def echo(self, request: Any, ctx: CallContext) -> Any:
            return gen.EchoResponse(message=request.message)

    server = GrpcServer(GrpcSettings(host="127.0.0.1", port=0))
    with pytest.raises(
        TypeError, match=r"lacks method\(s\): .*expand \(rpc Expand\).*collect \(rpc Collect\)"
    ):
        server.add(OnlyEcho())


async def test_stub_methods_raising_unimplemented_answer_unimplemented(gen: ModuleType) -> None:
    """A method that raises Unimplemented (as a fresh stub does) answers UNIMPLEMENTED."""

    class Partial(gen.EchoService):  # type: ignore[name-defined,misc]
        async def echo(self, request: Any, ctx: CallContext) -> Any:
            return gen.EchoResponse(message=request.message)

    for name in gen.EchoService.__microlib_service__.methods.values():
        if name.python_name != "echo":
            setattr(Partial, name.python_name, _unimplemented(name.kind.value, name.name))
    server = GrpcServer(GrpcSettings(host="127.0.0.1", port=0))
    server.add(Partial())
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            client = gen.EchoServiceClient(channel)
            assert (await client.echo(gen.EchoRequest(message="ok"))).message == "ok"
            with pytest.raises(Unimplemented, match="Expand is not implemented"):
                async for _ in client.expand(gen.EchoRequest(message="x", count=1)):
                    pass
            with pytest.raises(Unimplemented, match="Collect is not implemented"):
                await client.collect(_requests(gen, "a"))
    finally:
        await server.stop()


def _unimplemented(kind: str, rpc: str) -> Any:
    """A method shaped like a fresh stub's: streaming responses raise on call."""

    def streaming(self: Any, request: Any, ctx: CallContext) -> Any:
        raise Unimplemented(f"{rpc} is not implemented yet")

    async def unary(self: Any, request: Any, ctx: CallContext) -> Any:
        raise Unimplemented(f"{rpc} is not implemented yet")

    return streaming if kind.endswith("_stream") else unary


async def test_reflection_serves_the_generated_descriptors(served: Any) -> None:
    """Reflection resolves the service from the generated package's descriptor set."""

    def describe(port: int) -> list[str]:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            db = ProtoReflectionDescriptorDatabase(channel)
            service = descriptor_pool.DescriptorPool(db).FindServiceByName("echotest.v1.EchoService")
            return [m.name for m in service.methods]

    assert await asyncio.to_thread(describe, served[0].port) == ["Echo", "Expand", "Collect", "Chat"]
