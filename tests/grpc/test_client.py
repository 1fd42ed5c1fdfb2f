"""The Client base generated clients subclass, against the real server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from opentelemetry import context as otel_context
from opentelemetry import trace

from microlib.contract import ServiceDefinition
from microlib.core.chain import compose
from microlib.core.context import CallContext
from microlib.core.errors import Code, DeadlineExceeded, Error, InvalidArgument, NotFound, Unavailable
from microlib.grpc import Client
from tests.grpc.support import Generated, Record


def _client_class(definition: ServiceDefinition) -> type[Client]:
    methods = definition.methods

    class EchoClient(Client):
        """What codegen writes for the echo service."""

        __microlib_service__ = definition

        async def echo(self, request: Any, **kw: Any) -> Any:
            return await self._unary_unary(methods["Echo"], request, **kw)

        def expand(self, request: Any, **kw: Any) -> AsyncIterator[Any]:
            return self._unary_stream(methods["Expand"], request, **kw)

        async def collect(self, requests: AsyncIterator[Any], **kw: Any) -> Any:
            return await self._stream_unary(methods["Collect"], requests, **kw)

        def chat(self, requests: AsyncIterator[Any], **kw: Any) -> AsyncIterator[Any]:
            return self._stream_stream(methods["Chat"], requests, **kw)

    return EchoClient


@pytest.fixture
def client(definition: ServiceDefinition, channel: grpc.aio.Channel) -> Any:
    """A typed client over the echo server."""
    return _client_class(definition)(channel, metadata=[("x-client", "tests")])


async def _requests(echo: Generated, *messages: str) -> AsyncIterator[Any]:
    for message in messages:
        yield echo.pb2.EchoRequest(message=message)


async def test_all_four_shapes(echo: Generated, client: Any) -> None:
    """The client helpers cover unary, server, client and bidi streaming."""
    assert (await client.echo(echo.pb2.EchoRequest(message="u"))).message == "u"
    assert [r.index async for r in client.expand(echo.pb2.EchoRequest(message="s", count=3))] == [0, 1, 2]
    assert (await client.collect(_requests(echo, "a", "b"))).message == "a+b"
    assert [r.message async for r in client.chat(_requests(echo, "x", "y"))] == ["x", "y"]


async def test_a_request_that_cannot_be_encoded_fails_here_and_sends_nothing(client: Any) -> None:
    """grpcio logs a serializer's exception and sends an empty message instead: a request with a
    wrongly typed field reached the server as the default request (a Timestamp message where
    betterproto2 takes a datetime, in a_bit_of_everything's CreateBody)."""
    wrong = object()
    with pytest.raises(TypeError):
        await client.echo(wrong)
    with pytest.raises(TypeError):
        [r async for r in client.expand(wrong)]


async def test_a_streamed_request_that_cannot_be_encoded_ends_the_call_with_its_error(
    echo: Generated, client: Any
) -> None:
    """In a client stream too: the item's own error, raised where the call is awaited or
    iterated, instead of an empty message the server would take (or grpcio's cancellation)."""

    async def second_is_wrong() -> AsyncIterator[Any]:
        yield echo.pb2.EchoRequest(message="a")
        yield object()

    with pytest.raises(TypeError):
        await client.collect(second_is_wrong())
    with pytest.raises(TypeError):
        [r.message async for r in client.chat(second_is_wrong())]
    # The channel still serves.
    assert (await client.collect(_requests(echo, "a", "b"))).message == "a+b"


async def test_client_metadata_is_sent(echo: Generated, client: Any) -> None:
    """Client-wide and per-call metadata both reach the server."""
    reply = await client.echo(echo.pb2.EchoRequest(message="m"), metadata=[("x-call", "1")])
    assert (reply.metadata["x-client"], reply.metadata["x-call"]) == ("tests", "1")


async def test_errors_are_raised_as_microlib_errors_with_details(echo: Generated, client: Any) -> None:
    """A server error comes back as the same Error subclass with its details."""
    with pytest.raises(NotFound) as caught:
        await client.echo(echo.pb2.EchoRequest(message="raise:NOT_FOUND"))
    err = caught.value
    assert (err.reason, err.domain, err.metadata) == ("ECHO_FAILED", "echo.test", {"code": "NOT_FOUND"})
    assert err.violations[0].field == "message"
    with pytest.raises(InvalidArgument):
        await client.echo(echo.pb2.EchoRequest(message="raise:INVALID_ARGUMENT"))


async def test_stream_errors_are_raised_while_iterating(echo: Generated, client: Any) -> None:
    """A stream ending with an error raises it after the items sent."""
    got: list[int] = []

    async def consume() -> None:
        async for reply in client.expand(echo.pb2.EchoRequest(message="fail-after:1", count=3)):
            got.append(reply.index)

    with pytest.raises(Error) as caught:
        await consume()
    assert got == [0]
    assert caught.value.code is Code.RESOURCE_EXHAUSTED


async def test_deadline_of_the_current_call_is_propagated(
    echo: Generated, client: Any, record: Record
) -> None:
    """Inside a call with a deadline, an outgoing call gets at most the time left."""

    async def handler(ctx: CallContext) -> Any:
        return await client.echo(echo.pb2.EchoRequest(message="hang"), timeout=60)

    ctx = CallContext("grpc", "outer.Service", "Outer", deadline=time.monotonic() + 0.2)
    with pytest.raises(DeadlineExceeded):
        await compose([], handler)(ctx)
    await asyncio.wait_for(record.cancelled.wait(), 10)


async def test_unreachable_server_is_unavailable(echo: Generated, definition: ServiceDefinition) -> None:
    """A call to a closed port raises Unavailable."""
    async with grpc.aio.insecure_channel("127.0.0.1:1") as channel:
        with pytest.raises(Unavailable):
            await _client_class(definition)(channel).echo(echo.pb2.EchoRequest(message="x"), timeout=5)


async def test_client_needs_a_definition() -> None:
    """A Client subclass without __microlib_service__ is refused."""
    async with grpc.aio.insecure_channel("127.0.0.1:1") as channel:
        with pytest.raises(TypeError, match="__microlib_service__"):
            Client(channel)


async def test_trace_context_is_propagated(echo: Generated, client: Any) -> None:
    """The current span's context is sent as a W3C traceparent header."""
    span = trace.NonRecordingSpan(
        trace.SpanContext(
            trace_id=0x0AF7651916CD43DD8448EB211C80319C,
            span_id=0x00F067AA0BA902B7,
            is_remote=False,
            trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED),
        )
    )
    token = otel_context.attach(trace.set_span_in_context(span))
    try:
        reply = await client.echo(echo.pb2.EchoRequest(message="traced"))
    finally:
        otel_context.detach(token)
    assert reply.metadata["traceparent"] == "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01"


async def test_client_against_a_plain_grpcio_server(echo: Generated, definition: ServiceDefinition) -> None:
    """The microlib client talks to a server built with grpcio-tools alone (wire compatibility)."""

    class Plain(echo.pb2_grpc.EchoServiceServicer):  # type: ignore[name-defined,misc]
        async def Echo(self, request: Any, context: Any) -> Any:
            if request.message == "missing":
                await context.abort(grpc.StatusCode.NOT_FOUND, "no such thing")
            return echo.pb2.EchoResponse(message=request.message.upper())

        async def Expand(self, request: Any, context: Any) -> AsyncIterator[Any]:
            for index in range(request.count):
                yield echo.pb2.EchoResponse(index=index)

    server = grpc.aio.server()
    echo.pb2_grpc.add_EchoServiceServicer_to_server(Plain(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            client = _client_class(definition)(channel)
            assert (await client.echo(echo.pb2.EchoRequest(message="plain"))).message == "PLAIN"
            assert [r.index async for r in client.expand(echo.pb2.EchoRequest(count=2))] == [0, 1]
            with pytest.raises(NotFound, match="no such thing"):
                await client.echo(echo.pb2.EchoRequest(message="missing"))
    finally:
        await server.stop(None)
