"""Deadlines and cancellation reach the handler."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import grpc
import h2.config
import h2.connection
import h2.events
import pytest

from examples.bookshop.catalog import Catalog
from examples.bookshop.gen.bookshop.v1 import Book, GetBookRequest
from examples.bookshop.services.bookshop_service import BookshopServiceServicer
from microlib import Service
from microlib.core.chain import compose
from microlib.core.context import CallContext
from microlib.core.errors import DeadlineExceeded
from microlib.grpc import DeadlineInterceptor
from microlib.testing import TestService
from tests.grpc.support import Generated, Record


async def test_client_deadline_cancels_the_handler(echo: Generated, stub: Any, record: Record) -> None:
    """When the caller's deadline passes, the client gets DEADLINE_EXCEEDED and the handler is cancelled."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Echo(echo.pb2.EchoRequest(message="hang"), timeout=0.2)
    assert caught.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    await asyncio.wait_for(record.cancelled.wait(), 10)


async def test_client_cancellation_reaches_the_handler(echo: Generated, stub: Any, record: Record) -> None:
    """Cancelling the call on the client cancels the handler's task."""
    call = stub.Echo(echo.pb2.EchoRequest(message="hang"))
    await record.started.wait()
    call.cancel()
    await asyncio.wait_for(record.cancelled.wait(), 10)


async def test_cancelling_a_stream_reaches_the_handler(echo: Generated, stub: Any, record: Record) -> None:
    """Cancelling a bidi stream mid-way cancels the handler."""
    call = stub.Chat()
    await call.write(echo.pb2.EchoRequest(message="hang"))
    await record.started.wait()
    call.cancel()
    await asyncio.wait_for(record.cancelled.wait(), 10)


async def test_deadline_interceptor_bounds_the_handler() -> None:
    """The interceptor stops a handler that outlives ctx.deadline with DeadlineExceeded."""
    cancelled = asyncio.Event()

    async def slow(ctx: CallContext) -> Any:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    call = compose([DeadlineInterceptor()], slow)
    with pytest.raises(DeadlineExceeded, match="svc/m"):
        await call(CallContext("grpc", "svc", "m", deadline=time.monotonic() + 0.05))
    assert cancelled.is_set()
    with pytest.raises(DeadlineExceeded, match="svc/m expired"):
        await call(CallContext("grpc", "svc", "m", deadline=time.monotonic() - 1))


async def test_deadline_interceptor_passes_results_and_own_timeouts() -> None:
    """Without a deadline, or within it, results pass; a handler's own TimeoutError is not relabelled."""

    async def ok(ctx: CallContext) -> Any:
        return "done"

    async def times_out(ctx: CallContext) -> Any:
        raise TimeoutError("upstream")

    assert await compose([DeadlineInterceptor()], ok)(CallContext("grpc", "s", "m")) == "done"
    ctx = CallContext("grpc", "s", "m", deadline=time.monotonic() + 60)
    assert await compose([DeadlineInterceptor()], ok)(ctx) == "done"
    with pytest.raises(TimeoutError, match="upstream"):
        await compose([DeadlineInterceptor()], times_out)(ctx)


class _FakeHandle:
    def __init__(self, when: float, callback: Any) -> None:
        self.when, self.callback, self.cancelled = when, callback, False

    def cancel(self) -> None:
        self.cancelled = True


class _FakeLoop:
    """A loop clock moved by hand: its timers run, in order, when the test advances it."""

    def __init__(self) -> None:
        self.now = 0.0
        self.handles: list[_FakeHandle] = []

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Any, *, context: Any = None) -> _FakeHandle:
        handle = _FakeHandle(when, callback)
        self.handles.append(handle)
        return handle

    def advance(self, to: float) -> None:
        while due := sorted(
            (h for h in self.handles if not h.cancelled and h.when <= to), key=lambda h: h.when
        ):
            handle = due[0]
            self.handles.remove(handle)
            self.now = max(self.now, handle.when)
            handle.callback()
        self.now = to


class _FakeTask:
    def __init__(self) -> None:
        self.cancels = 0

    def cancelling(self) -> int:
        return self.cancels

    def cancel(self) -> None:
        self.cancels += 1

    def uncancel(self) -> int:
        self.cancels -= 1
        return self.cancels


def test_shared_deadline_queue_cancels_as_a_timer_per_call_would() -> None:
    """One loop timer for every call's deadline cancels exactly the calls a timer each would.

    The general path is a timer per call: a call is cancelled when the loop
    runs its timers at or past the call's deadline while the call runs, and
    not after it ended. Random deadlines (past, out of order, tied), ends and
    clock moves, enough for the queue to sweep its disarmed timers many times.
    """
    import random

    from microlib.grpc.deadline import _Queue

    rng = random.Random(7)
    loop = _FakeLoop()
    queue = _Queue(loop)  # type: ignore[arg-type]
    running: dict[int, tuple[_FakeTask, Any, float]] = {}
    fired: set[int] = set()  # the calls whose own timer would have fired
    expired = 0
    for call in range(5000):
        deadline = loop.now + rng.choice([-1.0, 0.0, 0.5, 1.0, 1.0, rng.uniform(0, 20), 60.0])
        task = _FakeTask()
        running[call] = (task, queue.arm(task, deadline), deadline)  # type: ignore[arg-type]
        for ending in rng.sample(sorted(running), k=min(len(running), rng.choice([0, 1, 1, 2]))):
            task, timer, deadline = running.pop(ending)
            assert task.cancels == (ending in fired), (ending, deadline, loop.now)
            expired += timer.disarm(asyncio.CancelledError() if task.cancels else None)
            assert task.cancels == 0
        if rng.random() < 0.02:
            to = loop.now + rng.choice([0.0, 0.25, 0.5, 1.0, 3.0])
            fired |= {c for c, (_, _, deadline) in running.items() if deadline <= to}
            loop.advance(to)
    for call, (task, _, _) in running.items():
        assert task.cancels == (call in fired)
    assert expired == len(fired) - sum(call in fired for call in running)
    assert len(queue.heap) < 2 * len(running) + 200  # swept, not grown with every call


async def test_deadline_interceptor_ends_calls_as_a_timer_per_call_would() -> None:
    """Many concurrent calls end the same under the interceptor as with a loop timer each.

    The general path is ``asyncio.timeout_at``'s rule on a loop timer of the
    call's own (``call_at``, so a deadline already past fires after the
    call's next step, not before it).
    """
    loop = asyncio.get_running_loop()

    async def work(how: str) -> str:
        if how == "yield":
            await asyncio.sleep(0)
        elif how == "short":
            await asyncio.sleep(0.01)
        elif how == "hang":
            await asyncio.Event().wait()
        return "ok"

    async def handler(ctx: CallContext) -> str:
        return await work(ctx.method)

    call = compose([DeadlineInterceptor()], handler)

    async def ours(how: str, deadline: float) -> str:
        try:
            return str(await call(CallContext("grpc", "s", how, deadline=deadline)))
        except DeadlineExceeded:
            return "expired"
        except asyncio.CancelledError:
            return "cancelled"

    async def general(how: str, deadline: float) -> str:
        task = asyncio.current_task()
        assert task is not None
        cancelling = task.cancelling()
        handle = loop.call_at(deadline, task.cancel)
        try:
            return await work(how)
        except asyncio.CancelledError:
            if handle.when() <= loop.time() and task.uncancel() <= cancelling:
                return "expired"
            return "cancelled"
        finally:
            handle.cancel()

    cases = [
        (how, offset)
        for how in ("instant", "yield", "short", "hang")
        for offset in (-1.0, 0.0, 0.3, 0.2, 60.0)
        for _ in range(3)
    ]
    now = loop.time()
    tasks = [
        (loop.create_task(ours(how, now + offset)), loop.create_task(general(how, now + offset)))
        for how, offset in cases
    ]
    await asyncio.sleep(0.5)
    for pair in tasks:
        for task in pair:
            task.cancel()  # the calls past every deadline: cancelled by someone else
    outcomes = [(await a, await b) for a, b in tasks]
    assert [a for a, _ in outcomes] == [b for _, b in outcomes]
    assert {a for a, _ in outcomes} == {"ok", "expired", "cancelled"}


async def _call_that_never_cancels(
    port: int, method: str, message: bytes, timeout: str
) -> dict[bytes, bytes]:
    """One unary call over raw HTTP/2 with ``grpc-timeout``, from a caller that never cancels it
    (a grpc client cancels its own call at the deadline): the headers and trailers it gets."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    connection.initiate_connection()
    stream = connection.get_next_available_stream_id()
    connection.send_headers(
        stream,
        [
            (":method", "POST"),
            (":scheme", "http"),
            (":path", method),
            (":authority", f"127.0.0.1:{port}"),
            ("content-type", "application/grpc"),
            ("te", "trailers"),
            ("grpc-timeout", timeout),
        ],
    )
    connection.send_data(stream, b"\x00" + len(message).to_bytes(4, "big") + message, end_stream=True)
    received: dict[bytes, bytes] = {}
    try:
        while True:
            writer.write(connection.data_to_send())
            await writer.drain()
            data = await reader.read(65536)
            assert data, "the server closed the connection without ending the call"
            for event in connection.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived | h2.events.TrailersReceived):
                    received.update(event.headers)
                elif isinstance(event, h2.events.StreamEnded | h2.events.StreamReset):
                    return received
    finally:
        writer.close()


async def test_a_call_past_its_deadline_is_deadline_exceeded_on_a_real_server() -> None:
    """Served by a started Service (default chain), to a caller that never cancels: grpc core
    ends the call at its deadline (DEADLINE_EXCEEDED in the trailers), the handler is cancelled,
    and the server's metrics, span and access line say DEADLINE_EXCEEDED, not CANCELLED."""
    cancelled = asyncio.Event()

    class Hanging(BookshopServiceServicer):
        async def get_book(self, request: GetBookRequest, ctx: CallContext) -> Book:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled.set()
                raise
            raise AssertionError("never set")

    service = Service("bookshop")
    service.include(Hanging(Catalog()))
    async with TestService(service, overrides=["logging.level=INFO", "tracing.sample_ratio=1.0"]) as t:
        port = getattr(service.component("grpc"), "port")  # noqa: B009
        request = bytes(GetBookRequest(id="1"))
        received = await asyncio.wait_for(
            _call_that_never_cancels(port, "/bookshop.v1.BookshopService/GetBook", request, "200m"), 10
        )
        assert received[b"grpc-status"] == str(grpc.StatusCode.DEADLINE_EXCEEDED.value[0]).encode()
        # The chain's stages exit in the same step as the handler's cancellation, before this resumes.
        await asyncio.wait_for(cancelled.wait(), 10)
        labels = {"service": "bookshop.v1.BookshopService", "method": "GetBook"}
        assert t.metric("rpc_server_requests_total", **labels, code="DEADLINE_EXCEEDED") == 1
        assert t.metric("rpc_server_requests_total", **labels, code="CANCELLED") is None
        [line] = t.logged("call completed", method="bookshop.v1.BookshopService/GetBook")
        assert line["code"] == "DEADLINE_EXCEEDED"
        span = t.spans.one("bookshop.v1.BookshopService/GetBook")
        assert span.attributes is not None
        assert span.attributes["microlib.code"] == "DEADLINE_EXCEEDED"
