"""The server against real grpcio clients over loopback: the four shapes,
metadata, malformed and oversized requests, unknown methods, limits, drain."""

from __future__ import annotations

import asyncio
import errno
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import grpc
import pytest

from microlib.core.context import CallContext
from microlib.core.errors import InvalidArgument
from microlib.grpc import GrpcServer, GrpcSettings
from tests.grpc.conftest import Recorder
from tests.grpc.support import EchoServicer, Generated, Record


async def _requests(echo: Generated, *messages: str) -> AsyncIterator[Any]:
    for message in messages:
        yield echo.pb2.EchoRequest(message=message)


async def test_unary_round_trip_with_grpcio_stub(echo: Generated, stub: Any, recorder: Recorder) -> None:
    """A plain grpcio-tools client calls a unary method through the chain."""
    reply = await stub.Echo(echo.pb2.EchoRequest(message="hi", count=3, payload=b"\x00\x01"))
    assert (reply.message, reply.index, reply.payload) == ("hi", 3, b"\x00\x01")
    assert recorder.calls == [("grpc", "echotest.v1.EchoService/Echo", "ok")]


async def test_server_streaming(echo: Generated, stub: Any) -> None:
    """A server-streaming method sends each item its generator yields."""
    replies = [r async for r in stub.Expand(echo.pb2.EchoRequest(message="x", count=4))]
    assert [r.index for r in replies] == [0, 1, 2, 3]


async def test_client_streaming(echo: Generated, stub: Any) -> None:
    """A client-streaming method receives the decoded requests in order."""
    reply = await stub.Collect(_requests(echo, "a", "b", "c"))
    assert (reply.message, reply.index) == ("a+b+c", 3)


async def test_bidi_streaming(echo: Generated, stub: Any) -> None:
    """A bidirectional method answers each request as it arrives."""
    call = stub.Chat()
    answers = []
    for message in ("one", "two"):
        await call.write(echo.pb2.EchoRequest(message=message))
        answers.append((await call.read()).message)
    await call.done_writing()
    assert await call.read() == grpc.aio.EOF
    assert answers == ["one", "two"]


async def test_context_carries_metadata_peer_and_method(echo: Generated, stub: Any, record: Record) -> None:
    """The handler's context has the call's metadata, peer, method and definition."""
    call = stub.Echo(echo.pb2.EchoRequest(message="meta"), metadata=(("x-user", "ann"),), timeout=30)
    reply = await call
    ctx: CallContext = record.contexts[0]
    assert (ctx.kind, ctx.service, ctx.method) == ("grpc", "echotest.v1.EchoService", "Echo")
    assert ctx.metadata["x-user"] == "ann"
    assert reply.metadata["x-user"] == "ann"
    assert ctx.peer.startswith("ipv4:127.0.0.1:")
    assert ctx.deadline is not None
    assert ctx.attributes["microlib.method"].name == "Echo"
    assert ("x-echoed", "meta") in tuple(await call.initial_metadata())
    assert ("x-echoed-after", "meta") in tuple(await call.trailing_metadata())


async def test_malformed_request_is_invalid_argument(server: GrpcServer, channel: grpc.aio.Channel) -> None:
    """Bytes that are not a valid message get INVALID_ARGUMENT, and the server lives on."""
    raw = channel.unary_unary("/echotest.v1.EchoService/Echo")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await raw(b"\x0a\xff\xff\xff")
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "not a valid EchoRequest" in (caught.value.details() or "")
    ok = await raw(b"\x0a\x02ok")
    assert ok.startswith(b"\x0a\x02ok")


async def test_malformed_item_in_a_request_stream(channel: grpc.aio.Channel) -> None:
    """A malformed message inside a client stream fails the call with INVALID_ARGUMENT."""
    raw = channel.stream_unary("/echotest.v1.EchoService/Collect")

    async def items() -> AsyncIterator[bytes]:
        yield b"\x0a\x01a"
        yield b"\xff\xff"

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await raw(items())
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT


async def test_unknown_method_is_unimplemented(channel: grpc.aio.Channel) -> None:
    """Unknown methods and services get UNIMPLEMENTED."""
    for path in ("/echotest.v1.EchoService/Nope", "/no.such.Service/Echo"):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await channel.unary_unary(path)(b"")
        assert caught.value.code() is grpc.StatusCode.UNIMPLEMENTED


async def test_oversized_request_is_resource_exhausted(
    echo: Generated, make_server: Callable[..., GrpcServer], settings: GrpcSettings
) -> None:
    """A request above grpc.max_receive_message_bytes gets RESOURCE_EXHAUSTED."""
    server = make_server(settings.model_copy(update={"max_receive_message_bytes": 1024}))
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            stub = echo.pb2_grpc.EchoServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.Echo(echo.pb2.EchoRequest(message="big", payload=b"x" * 4096))
            assert caught.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
            assert (await stub.Echo(echo.pb2.EchoRequest(message="small"))).message == "small"
    finally:
        await server.stop()


async def test_metadata_limit_gives_one_answer_per_request(
    echo: Generated, make_server: Callable[..., GrpcServer], settings: GrpcSettings
) -> None:
    """Metadata above grpc.max_metadata_bytes is always RESOURCE_EXHAUSTED and
    below it always served: grpc core's defaults refuse a random share of the
    requests between 8 and 16 KiB, which this repeats enough to catch."""
    server = make_server(settings)
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            stub = echo.pb2_grpc.EchoServiceStub(channel)
            request = echo.pb2.EchoRequest(message="m")
            for _ in range(20):
                assert (await stub.Echo(request, metadata=[("x-big", "x" * 12_000)])).message == "m"
                with pytest.raises(grpc.aio.AioRpcError) as caught:
                    await stub.Echo(request, metadata=[("x-big", "x" * 17_000)])
                assert caught.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    finally:
        await server.stop()


async def test_concurrency_limit_refuses_excess_calls(
    echo: Generated, make_server: Callable[..., GrpcServer], settings: GrpcSettings, record: Record
) -> None:
    """Beyond grpc.max_concurrent_rpcs calls in flight, new ones get RESOURCE_EXHAUSTED."""
    server = make_server(settings.model_copy(update={"max_concurrent_rpcs": 1}))
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            stub = echo.pb2_grpc.EchoServiceStub(channel)
            first = asyncio.ensure_future(stub.Echo(echo.pb2.EchoRequest(message="wait")))
            await record.started.wait()
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.Echo(echo.pb2.EchoRequest(message="second"))
            assert caught.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
            record.release.set()
            assert (await first).message == "wait"
    finally:
        await server.stop()


async def test_drain_finishes_in_flight_and_refuses_new_calls(
    echo: Generated, server: GrpcServer, stub: Any, record: Record
) -> None:
    """drain() lets a running call complete while new calls are refused."""
    in_flight = asyncio.ensure_future(stub.Echo(echo.pb2.EchoRequest(message="wait")))
    await record.started.wait()
    drained = asyncio.ensure_future(server.drain(timeout=30))
    await asyncio.sleep(0)  # let drain() begin the shutdown
    assert not server.serving
    # A call racing the GOAWAY on the open connection is cancelled, a new
    # connection is refused outright: either way the handler never runs.
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Echo(echo.pb2.EchoRequest(message="late"))
    assert caught.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as fresh:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await echo.pb2_grpc.EchoServiceStub(fresh).Echo(echo.pb2.EchoRequest(message="late"))
        assert caught.value.code() is grpc.StatusCode.UNAVAILABLE
    assert [ctx.request.message for ctx in record.contexts] == ["wait"]
    assert not drained.done()
    record.release.set()
    assert (await in_flight).message == "wait"
    await drained
    with pytest.raises(RuntimeError):
        await server.check()


async def test_server_refuses_servicer_missing_a_method(echo: Generated, definition: Any) -> None:
    """Adding a servicer that lacks an RPC fails, naming the method."""

    class Partial:
        async def echo(self, request: Any, ctx: CallContext) -> Any:
            return request

    server = GrpcServer(GrpcSettings(host="127.0.0.1", port=0))
    with pytest.raises(TypeError, match=r"lacks method\(s\): expand \(rpc Expand\), collect"):
        server.add(Partial(), definition)


async def test_start_reports_a_busy_port(make_server: Callable[..., GrpcServer], server: GrpcServer) -> None:
    """Binding an address in use fails naming the address, the settings and the system's reason."""
    other = make_server(GrpcSettings(host="127.0.0.1", port=server.port))
    with pytest.raises(OSError) as raised:
        await other.start()
    assert raised.value.errno == errno.EADDRINUSE
    assert str(raised.value).endswith(
        f"cannot bind the gRPC server to 127.0.0.1:{server.port} (settings grpc.host, grpc.port): "
        + os.strerror(errno.EADDRINUSE)
    )
    await other.stop()


async def test_reuse_port_lets_a_second_server_share_the_port(make_server: Callable[..., GrpcServer]) -> None:
    """With ``reuse_port`` on, a second server binds a port the first holds (SO_REUSEPORT), as
    replicas on one host do: the busy-port check asks the system as grpc binds, with the option."""
    first = make_server(GrpcSettings(host="127.0.0.1", port=0, reuse_port=True))
    await first.start()
    second = make_server(GrpcSettings(host="127.0.0.1", port=first.port, reuse_port=True))
    try:
        await second.start()
        assert second.port == first.port
    finally:
        await second.stop()
        await first.stop()


async def test_start_twice_is_refused(server: GrpcServer) -> None:
    """A running server cannot be started again."""
    with pytest.raises(RuntimeError, match="already running"):
        await server.start()


async def test_check_reports_port_and_services(server: GrpcServer) -> None:
    """check() is healthy while serving and names what it serves."""
    assert await server.check() == {"port": server.port, "services": ["echotest.v1.EchoService"]}


async def test_binary_and_repeated_metadata(echo: Generated, stub: Any, record: Record) -> None:
    """-bin metadata reaches the context base64-encoded; repeated keys are joined with commas."""
    metadata = (("x-blob-bin", b"\x00\xff"), ("x-tag", "a"), ("x-tag", "b"))
    await stub.Echo(echo.pb2.EchoRequest(message="meta"), metadata=metadata)
    ctx: CallContext = record.contexts[0]
    assert ctx.metadata["x-blob-bin"] == "AP8="
    assert ctx.metadata["x-tag"] == "a,b"


async def test_error_trailers_carry_response_metadata(echo: Generated, stub: Any) -> None:
    """Response metadata set before an error is sent with the error's trailers."""
    call = stub.Echo(echo.pb2.EchoRequest(message="raise:NOT_FOUND"))
    with pytest.raises(grpc.aio.AioRpcError):
        await call
    trailers = dict(await call.trailing_metadata())
    assert trailers["x-echoed"] == "raise:NOT_FOUND"
    assert trailers["x-echoed-after"] == "raise:NOT_FOUND"
    assert "grpc-status-details-bin" in trailers


async def test_codec_errors_pass_through(echo: Generated, definition: Any, record: Record) -> None:
    """A decoder raising a microlib Error has it sent as is; other decoder failures are wrapped."""

    def strict(raw: bytes) -> Any:
        raise InvalidArgument("malformed echotest.v1.EchoRequest", reason="WIRE")

    methods = dict(definition.methods)
    methods["Echo"] = replace(methods["Echo"], decode_request=strict)
    server = GrpcServer(GrpcSettings(host="127.0.0.1", port=0))
    server.add(EchoServicer(echo.pb2, record), replace(definition, methods=methods))
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await echo.pb2_grpc.EchoServiceStub(channel).Echo(echo.pb2.EchoRequest(message="x"))
            assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
            assert caught.value.details() == "malformed echotest.v1.EchoRequest"
    finally:
        await server.stop()
