"""The gRPC handlers' shortcuts against the general way: the context built with
its fields by position against the same fields by name, its request read in
the same step; the metadata operations of a unary answer written out in the
handler; a stream's messages written without the handler's send."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import itertools
import time
import weakref
from typing import Any

from microlib.contract import ServiceDefinition
from microlib.core.context import CallContext, Rejected
from microlib.core.errors import InvalidArgument
from microlib.grpc._inflight import InFlight
from microlib.grpc.handlers import _metadata, _Method, method_handlers
from microlib.security.method_access import call_attributes
from tests.grpc.support import Generated


class GrpcContext:
    """What the handlers read of grpc.aio's ServicerContext."""

    def __init__(self, metadata: tuple[tuple[str, str | bytes], ...], remaining: float | None) -> None:
        self.metadata = metadata
        self.remaining = remaining

    def time_remaining(self) -> float | None:
        return self.remaining

    def invocation_metadata(self) -> tuple[tuple[str, str | bytes], ...]:
        return self.metadata

    def peer(self) -> str:
        return "ipv6:[::1]:5000"


class SlowClock(GrpcContext):
    """grpc.aio's ``time_remaining()`` for a call due at ``due``, with time passing after it is
    read (the thread preempted between that and the handler's own clock read)."""

    def __init__(self, due: float) -> None:
        super().__init__((), None)
        self.due = due

    def time_remaining(self) -> float | None:
        remaining = self.due - time.monotonic()
        time.sleep(0.02)
        return remaining


def test_the_call_deadline_is_never_later_than_grpc_cores(definition: ServiceDefinition) -> None:
    """grpc core cancels the call at its deadline and the deadline stage reports a cancellation
    at or after ``ctx.deadline`` as DEADLINE_EXCEEDED: ``ctx.deadline`` must not come after it."""
    method = definition.methods["Echo"]
    m = _Method(definition.full_name, method, None, lambda handler: handler, InFlight())
    due = time.monotonic() + 5
    ctx = m.context(SlowClock(due), None, lambda raw: raw)
    assert ctx.deadline is not None
    assert due - 0.5 < ctx.deadline <= due


def test_every_field_lands_where_its_name_says(definition: ServiceDefinition) -> None:
    method = definition.methods["Echo"]
    m = _Method(definition.full_name, method, None, lambda handler: handler, InFlight())

    async def send(item: Any) -> None:
        return None

    metadata = (("x-a", "1"), ("x-b-bin", b"\x00\xff"), ("x-a", "2"))
    for items, remaining, request, sender in (
        ((), None, None, None),
        ((("user-agent", "grpc-go"),), 5.0, "request", send),
        (metadata, 0.0, b"raw", None),
    ):
        before = time.monotonic()
        ctx = m.context(GrpcContext(items, remaining), request, _as_is, sender)
        expected = CallContext(
            kind="grpc",
            service=definition.full_name,
            method="Echo",
            metadata=_metadata(items),
            deadline=ctx.deadline,
            peer="ipv6:[::1]:5000",
            request=request,
            send=sender,
            attributes=call_attributes(method),
        )
        assert dataclasses.astuple(ctx) == dataclasses.astuple(expected)
        for field in dataclasses.fields(CallContext):
            assert getattr(ctx, field.name) == getattr(expected, field.name), field.name
        assert (ctx.deadline is None) is (remaining is None)
        if remaining is not None:
            assert ctx.deadline is not None
            assert before + remaining <= ctx.deadline <= time.monotonic() + remaining
        # Each call has dictionaries of its own, which the chain may write.
        again = m.context(GrpcContext(items, remaining), request, _as_is, sender)
        assert again.attributes is not ctx.attributes
        assert again.response_metadata is not ctx.response_metadata
        assert again.response_trailers is not ctx.response_trailers


def _as_is(raw: Any) -> Any:
    return raw


def test_the_context_reads_the_request(definition: ServiceDefinition) -> None:
    """The request is read as the context is built: what the method's codec
    decodes, or the error of bytes it cannot decode, carried to the chain."""
    m = _Method(definition.full_name, definition.methods["Echo"], None, lambda handler: handler, InFlight())
    raw = definition.methods["Echo"].request_type(message="hi").SerializeToString()
    assert m.context(GrpcContext((), None), raw, m.decode).request == m.decode(raw)
    rejected = m.context(GrpcContext((), None), b"\xff", m.decode).request
    assert type(rejected) is Rejected
    assert isinstance(rejected.error, InvalidArgument)
    assert rejected.error.reason == "MALFORMED_REQUEST"


def test_metadata_text_binary_and_repeated() -> None:
    """Distinct text keys as they are; binary values in base64; repeated keys joined."""
    assert _metadata(None) == {}
    assert _metadata((("a", "1"), ("b", "2"))) == {"a": "1", "b": "2"}
    assert _metadata((("a", "1"), ("b-bin", b"\x00\xff"))) == {"a": "1", "b-bin": "AP8="}
    assert _metadata((("a", "1"), ("a", "2"), ("b", "3"))) == {"a": "1,2", "b": "3"}
    assert _metadata((("b-bin", b"\x01"), ("b-bin", b"\x02"))) == {"b-bin": "AQ==,Ag=="}


class Recording(GrpcContext):
    """A ServicerContext that records the metadata operations, in order."""

    def __init__(self) -> None:
        super().__init__((), None)
        self.operations: list[tuple[str, Any]] = []

    async def send_initial_metadata(self, metadata: Any) -> None:
        self.operations.append(("headers", metadata))

    def set_trailing_metadata(self, metadata: Any) -> None:
        self.operations.append(("trailers", metadata))


def test_unary_metadata_operations(echo: Generated, definition: ServiceDefinition) -> None:
    """Whatever mix of response metadata and trailers the servicer sets (none
    included), the unary handler sends the headers, when there are any, then
    sets the trailers, when there are any."""
    pairs = ((), (("x-a", "1"),), (("x-a", "1"), ("x-b", "2")))

    class Servicer:
        headers: tuple[tuple[str, str], ...] = ()
        trailers: tuple[tuple[str, str], ...] = ()

        async def echo(self, request: Any, ctx: CallContext) -> Any:
            ctx.response_metadata.update(self.headers)
            ctx.response_trailers.update(self.trailers)
            return echo.pb2.EchoResponse(message=request.message)

        expand = collect = chat = echo  # the contract's other methods, not called here

    servicer = Servicer()
    handler = method_handlers(definition, servicer, lambda handler: handler)["Echo"].unary_unary
    raw = echo.pb2.EchoRequest(message="hi").SerializeToString()

    async def run() -> None:
        for servicer.headers, servicer.trailers in itertools.product(pairs, pairs):
            ours = Recording()
            answer = await handler(raw, ours)
            assert echo.pb2.EchoResponse.FromString(answer).message == "hi"
            expected = [("headers", servicer.headers)] if servicer.headers else []
            expected += [("trailers", servicer.trailers)] if servicer.trailers else []
            assert ours.operations == expected

    asyncio.run(run())


class Streaming(Recording):
    """A ServicerContext that records the messages written too."""

    async def write(self, message: bytes) -> None:
        self.operations.append(("message", message))

    async def abort(self, code: Any, message: str, trailers: Any) -> None:
        self.operations.append(("abort", (code, message, trailers)))
        raise Aborted


class Aborted(Exception):
    """What grpc.aio's abort raises, ending the handler."""


def test_stream_messages_without_the_send(echo: Generated, definition: ServiceDefinition) -> None:
    """A streamed answer writes what it would through ``ctx.send`` (the
    general way, taken when an interceptor replaced it): the headers, when
    there are any, before the first message or, with none, before the
    trailers; every message, in order; and a failure after the messages sent."""
    pairs = ((), (("x-a", "1"),))

    class Servicer:
        headers: tuple[tuple[str, str], ...] = ()
        count = 0
        fail = False

        async def expand(self, request: Any, ctx: CallContext) -> Any:
            ctx.response_metadata.update(self.headers)
            ctx.response_trailers["x-t"] = "1"
            for index in range(self.count):
                yield echo.pb2.EchoResponse(message=f"{request.message}{index}")
            if self.fail:
                raise InvalidArgument("no more")

        echo = collect = chat = expand  # the contract's other methods, not called here

    def through_send(handler: Any) -> Any:
        async def replaced(ctx: CallContext) -> Any:
            send = ctx.send
            assert send is not None

            async def passed_on(item: Any) -> None:
                await send(item)

            ctx.send = passed_on
            return await handler(ctx)

        return replaced

    servicer = Servicer()
    direct = method_handlers(definition, servicer, lambda handler: handler)["Expand"].unary_stream
    general = method_handlers(definition, servicer, through_send)["Expand"].unary_stream
    raw = echo.pb2.EchoRequest(message="hi").SerializeToString()

    async def operations(handler: Any) -> list[tuple[str, Any]]:
        ours = Streaming()
        with contextlib.suppress(Aborted):
            await handler(raw, ours)
        return ours.operations

    async def run() -> None:
        shapes = itertools.product(pairs, (0, 1, 3), (False, True))
        for servicer.headers, servicer.count, servicer.fail in shapes:
            expected = await operations(general)
            assert await operations(direct) == expected
            messages = [op for op in expected if op[0] == "message"]
            assert len(messages) == servicer.count
            # A stream that fails before its first message sends its headers with the status.
            if servicer.headers and (servicer.count or not servicer.fail):
                assert expected[0] == ("headers", servicer.headers)

    asyncio.run(run())


def test_a_stream_leaves_no_cycle_behind(echo: Generated, definition: ServiceDefinition) -> None:
    """The call's context and its send hold each other until the headers go out; a stream that
    fails before its first message never sends them: the handler still lets go of both, so
    the context is freed when the call ends, not at the cyclic collector's next pass."""
    contexts: list[weakref.ref[Held]] = []

    class Held:
        """Held by the call's context only: freed with it."""

    class Servicer:
        async def expand(self, request: Any, ctx: CallContext) -> Any:
            ctx.attributes["held"] = held = Held()
            contexts.append(weakref.ref(held))
            ctx.response_metadata["x-a"] = "1"
            if request.message == "fail":
                raise InvalidArgument("no")
            yield echo.pb2.EchoResponse(message="one")

        echo = collect = chat = expand  # the contract's other methods, not called here

    handler = method_handlers(definition, Servicer(), lambda handler: handler)["Expand"].unary_stream

    async def run() -> None:
        for message in ("fail", "ok"):
            with contextlib.suppress(Aborted):
                await handler(echo.pb2.EchoRequest(message=message).SerializeToString(), Streaming())

    gc.disable()
    try:
        asyncio.run(run())
        assert [ref() for ref in contexts] == [None, None]
    finally:
        gc.enable()
