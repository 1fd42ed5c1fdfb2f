"""Deadlines and cancellation reach the handler."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import grpc
import pytest

from microlib.core.chain import compose
from microlib.core.context import CallContext
from microlib.core.errors import DeadlineExceeded
from microlib.grpc import DeadlineInterceptor
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
