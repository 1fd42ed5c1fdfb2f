"""The framework's interceptors fused into steps around a user's: error mapping and deadlines as before."""

from __future__ import annotations

import asyncio
import io
import time
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from microlib.config.model import Settings
from microlib.core.chain import Chain
from microlib.core.context import CallContext
from microlib.core.errors import DeadlineExceeded, Internal
from microlib.grpc.deadline import DeadlineInterceptor
from microlib.grpc.validation import ValidationInterceptor
from microlib.observability import Observability, ServiceIdentity
from tests.observability.helpers import json_lines
from tests.observability.test_interceptors import _samples


class Seen:
    """A user interceptor (between logging and authn) recording what reached it."""

    def __init__(self) -> None:
        self.outcomes: list[str] = []

    async def intercept(self, ctx: CallContext, call_next: Any) -> Any:
        try:
            result = await call_next(ctx)
        except BaseException as exc:
            self.outcomes.append(type(exc).__name__)
            raise
        self.outcomes.append("ok")
        return result


@pytest.fixture
def setup() -> tuple[Chain, Seen, Observability, InMemorySpanExporter, io.StringIO]:
    """The default chain's framework slots, with a user interceptor in its slot."""
    exporter = InMemorySpanExporter()
    stream = io.StringIO()
    settings = Settings.model_validate({"logging": {"format": "json"}, "tracing": {"schedule_delay": 0.01}})
    obs = Observability(settings, ServiceIdentity("orders"), log_stream=stream, span_exporter=exporter)
    seen = Seen()
    chain = Chain([seen])
    for slot, interceptor in obs.interceptors().items():
        chain.install(slot, interceptor)
    chain.install("deadline", DeadlineInterceptor())
    chain.install("validation", ValidationInterceptor())
    return chain, seen, obs, exporter, stream


def _code(obs: Observability, code: str, metric: str = "rpc_server_requests_total") -> float:
    labels = frozenset({"service": "s", "method": "m", "code": code}.items())
    return _samples(obs).get((metric, labels), 0.0)


async def test_a_crash_is_internal_outside_recovery_and_itself_inside(
    setup: tuple[Chain, Seen, Observability, InMemorySpanExporter, io.StringIO],
) -> None:
    """The user interceptor (inside recovery) sees the crash; the caller gets
    INTERNAL with the trace id as correlation id, caused by the crash; the
    span, the metric and the access line all say INTERNAL."""
    chain, seen, obs, exporter, stream = setup

    async def crash(ctx: CallContext) -> None:
        raise ZeroDivisionError("boom")

    ctx = CallContext("grpc", "s", "m")
    with pytest.raises(Internal) as raised:
        await chain.wrap(crash)(ctx)
    await obs.stop()
    assert isinstance(raised.value.__cause__, ZeroDivisionError)
    assert raised.value.metadata["correlation_id"] == ctx.attributes["trace_id"]
    assert seen.outcomes == ["ZeroDivisionError"]
    [span] = exporter.get_finished_spans()
    assert span.status.status_code is trace.StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["rpc.grpc.status_code"] == 13
    assert _code(obs, "INTERNAL") == 1
    lines = json_lines(stream)
    [unhandled] = [e for e in lines if e["event"] == "unhandled exception"]
    assert unhandled["correlation_id"] == ctx.attributes["trace_id"]
    [completed] = [e for e in lines if e["event"] == "call completed"]
    assert (completed["level"], completed["code"], completed["request_id"]) == (
        "error",
        "INTERNAL",
        ctx.attributes["request_id"],
    )


async def test_the_deadline_stops_the_handler_and_every_signal_says_so(
    setup: tuple[Chain, Seen, Observability, InMemorySpanExporter, io.StringIO],
) -> None:
    """A handler outliving ctx.deadline is cancelled; the user interceptor
    (outside the deadline) and the caller see DEADLINE_EXCEEDED, metrics count
    it, and the task is left without a pending cancellation (a job: a gRPC
    call's deadline is grpc core's to enforce, below)."""
    chain, seen, obs, _, _ = setup
    cancelled = asyncio.Event()

    async def slow(ctx: CallContext) -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with pytest.raises(DeadlineExceeded, match="s/m expired"):
        await chain.wrap(slow)(CallContext("job", "s", "m", deadline=time.monotonic() + 0.05))
    task = asyncio.current_task()
    assert task is not None
    assert task.cancelling() == 0
    assert cancelled.is_set()
    assert seen.outcomes == ["DeadlineExceeded"]
    assert _code(obs, "DEADLINE_EXCEEDED", "job_runs_total") == 1
    await obs.stop()


async def test_a_call_within_its_deadline_leaves_no_timer_behind(
    setup: tuple[Chain, Seen, Observability, InMemorySpanExporter, io.StringIO],
) -> None:
    """The timer is disarmed when the call ends: the task runs on past the deadline."""
    chain, seen, obs, _, _ = setup

    async def quick(ctx: CallContext) -> str:
        return "done"

    assert await chain.wrap(quick)(CallContext("job", "s", "m", deadline=time.monotonic() + 0.02)) == "done"
    await asyncio.sleep(0.05)  # would be cancelled by a timer left armed
    assert seen.outcomes == ["ok"]
    assert _code(obs, "OK", "job_runs_total") == 1
    await obs.stop()


async def test_someone_elses_cancellation_stays_a_cancellation(
    setup: tuple[Chain, Seen, Observability, InMemorySpanExporter, io.StringIO],
) -> None:
    """A call cancelled by its caller before its deadline is CANCELLED, not
    DEADLINE_EXCEEDED (the timer's rule: only its own cancellation is relabelled)."""
    chain, seen, obs, _, _ = setup
    started = asyncio.Event()

    async def slow(ctx: CallContext) -> None:
        started.set()
        await asyncio.sleep(10)

    call = asyncio.create_task(chain.wrap(slow)(CallContext("grpc", "s", "m", deadline=time.monotonic() + 5)))
    await started.wait()
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert seen.outcomes == ["CancelledError"]
    assert _code(obs, "CANCELLED") == 1
    await obs.stop()


async def test_a_grpc_calls_deadline_is_grpc_cores_to_enforce(
    setup: tuple[Chain, Seen, Observability, InMemorySpanExporter, io.StringIO],
) -> None:
    """The chain arms no timer for a gRPC call (grpc core cancels the call at
    its deadline, and grpc.aio its task): a handler past its deadline that
    nobody cancels runs to its end."""
    chain, seen, obs, _, _ = setup

    async def slow(ctx: CallContext) -> str:
        await asyncio.sleep(0.1)
        return "done"

    assert await chain.wrap(slow)(CallContext("grpc", "s", "m", deadline=time.monotonic() + 0.01)) == "done"
    assert seen.outcomes == ["ok"]
    assert _code(obs, "OK") == 1
    await obs.stop()


async def test_the_cancellation_past_a_grpc_deadline_is_deadline_exceeded(
    setup: tuple[Chain, Seen, Observability, InMemorySpanExporter, io.StringIO],
) -> None:
    """The task cancelled at or after the deadline, as grpc.aio does when core
    cancels the call: the user interceptor, the caller, the metrics, the span
    and the access line see DEADLINE_EXCEEDED."""
    chain, seen, obs, exporter, stream = setup
    started = asyncio.Event()

    async def slow(ctx: CallContext) -> None:
        started.set()
        await asyncio.sleep(10)

    ctx = CallContext("grpc", "s", "m", deadline=time.monotonic() + 0.02)
    call = asyncio.create_task(chain.wrap(slow)(ctx))
    await started.wait()
    await asyncio.sleep(0.05)
    call.cancel()
    with pytest.raises(DeadlineExceeded, match="s/m expired"):
        await call
    await obs.stop()
    assert seen.outcomes == ["DeadlineExceeded"]
    assert _code(obs, "DEADLINE_EXCEEDED") == 1
    [span] = exporter.get_finished_spans()
    assert span.attributes is not None
    assert span.attributes["microlib.code"] == "DEADLINE_EXCEEDED"
    [line] = [line for line in json_lines(stream) if line.get("event") == "call completed"]
    assert line["code"] == "DEADLINE_EXCEEDED"
