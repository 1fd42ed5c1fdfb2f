"""The job behaviours every queue implementation shares, on real time.

``tests/jobs/test_queues.py`` runs them on memory, Redis, RabbitMQ and
PostgreSQL (the ``backend`` fixture).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time

from prometheus_client import generate_latest

from microlib import Service
from microlib.jobs import MemoryQueue
from microlib.testing import TestService
from tests.jobs._contract import DEFINITION, Handlers, Line, Receipt, ShopJobs, ShopJobsEnqueuer, Total
from tests.jobs.conftest import Backend

_receipt = DEFINITION.jobs["send_receipt"]
UNTIMED = dataclasses.replace(
    DEFINITION,
    jobs={**DEFINITION.jobs, "send_receipt": dataclasses.replace(_receipt, timeout=None)},
    handler_protocol=ShopJobs,
)


class UntimedHandlers(Handlers):
    """send_receipt without its 0.5 s timeout: it may run as long as its payload says."""


UntimedHandlers.__microlib_jobs__ = UNTIMED  # type: ignore[attr-defined]


def _service(handlers: Handlers | None = None) -> tuple[Service, Handlers]:
    service = Service("shop")
    handlers = handlers or Handlers()
    service.include(handlers)
    return service, handlers


async def _until(condition: object, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        # Polled: the conditions are other components' state, with no event to wait on.
        while not condition():  # type: ignore[operator]  # noqa: ASYNC110
            await asyncio.sleep(0.02)


class JobQueueCases:
    """Shared cases; ``backend`` is the fixture of tests/jobs/conftest.py."""

    async def test_a_job_round_trips_with_its_result_and_trace(self, backend: Backend) -> None:
        """The payload arrives typed, the result comes back, the trace is continued."""
        service, handlers = _service()
        async with TestService(service, overrides=backend.overrides):
            tracer = service.observability.tracing.tracer
            with tracer.start_as_current_span("enqueuer") as span:
                trace_id = format(span.get_span_context().trace_id, "032x")
                handle = await ShopJobsEnqueuer(service.jobs).send_receipt(
                    Receipt(order_id="r1", lines=[Line(sku="a", qty=3)])
                )
            assert await handle.result(timeout=10) == Total(order_id="r1", items=3)
            ctx = handlers.runs[0][2]
            assert ctx.id == handle.id
            assert ctx.call.attributes["trace_id"] == trace_id

    async def test_a_crashing_job_is_retried_then_dead_lettered_and_replayed(self, backend: Backend) -> None:
        """Three attempts (0.2 s and 0.4 s apart at least), then the dead-letter queue; a
        replay runs it again as attempt 1."""
        service, handlers = _service()
        async with TestService(service, overrides=backend.overrides):
            queue = service.jobs.queue
            started = time.monotonic()
            handle = await ShopJobsEnqueuer(service.jobs).send_receipt(Receipt(order_id="r2", crash_times=9))
            await _until(lambda: len(handlers.runs) == 3)
            letters = []
            async with asyncio.timeout(10):
                while not letters:
                    letters = await queue.dead_letters()
                    await asyncio.sleep(0.02)
            assert time.monotonic() - started >= 0.6
            [letter] = letters
            assert (letter.envelope.id, letter.code, letter.error) == (
                handle.id,
                "INTERNAL",
                "RuntimeError: crash 3",
            )
            assert (await queue.dead_letter(handle.id)) == letter
            assert await queue.replay(handle.id)
            await _until(lambda: len(handlers.runs) == 4)
            assert handlers.runs[3][1] == 1
            assert handlers.runs[3][2].id == handle.id

    async def test_the_dead_letters_waiting_are_counted_into_a_gauge(self, backend: Backend) -> None:
        """job_dead_letters follows the dead-letter queue: up as jobs fail for good, down when it
        is purged (read from the store, so another process's purge or replay counts too)."""
        service, handlers = _service()
        async with TestService(service, overrides=backend.overrides):
            depth = service.component("jobs-dead-letters")
            assert await depth.refresh() == 0  # type: ignore[attr-defined]
            enqueue = ShopJobsEnqueuer(service.jobs)
            for i in range(3):
                await enqueue.send_receipt(Receipt(order_id=f"d{i}", permanent=True))
            await _until(lambda: len(handlers.runs) == 3)
            async with asyncio.timeout(10):
                # Polled: the last bury lands in the store after the handler returned.
                while await depth.refresh() < 3:  # type: ignore[attr-defined]  # noqa: ASYNC110
                    await asyncio.sleep(0.02)
            waiting = generate_latest(service.metrics.registry).decode()  # type: ignore[attr-defined]
            assert await service.jobs.queue.purge() == 3
            assert await depth.refresh() == 0  # type: ignore[attr-defined]
            assert await depth.check() == {"dead_letters": 0}
        assert 'job_dead_letters{service="shop"} 3.0' in waiting

    async def test_a_job_past_its_timeout_is_cancelled(self, backend: Backend) -> None:
        """The 0.5 s timeout cancels the handler; the attempt is retried."""
        service, handlers = _service()
        async with TestService(service, overrides=backend.overrides):
            await ShopJobsEnqueuer(service.jobs).send_receipt(Receipt(order_id="r3", sleep=30))
            await _until(lambda: handlers.cancelled == ["r3"])
            await _until(lambda: len(handlers.runs) == 2)
            assert handlers.runs[1][1] == 2

    async def test_a_delayed_job_runs_after_its_delay(self, backend: Backend) -> None:
        """``delay`` holds the job back at least that long."""
        service, handlers = _service()
        async with TestService(service, overrides=backend.overrides):
            started = time.monotonic()
            await ShopJobsEnqueuer(service.jobs).send_receipt(Receipt(order_id="r4"), delay=0.5)
            await _until(lambda: handlers.runs)
            assert time.monotonic() - started >= 0.5

    async def test_an_idempotency_key_queues_once(self, backend: Backend) -> None:
        """The second enqueue with a key returns the first job's id and queues nothing."""
        service, handlers = _service()
        async with TestService(service, overrides=backend.overrides):
            enqueue = ShopJobsEnqueuer(service.jobs)
            first = await enqueue.send_receipt(
                Receipt(order_id="r5"), idempotency_key=f"{backend.namespace}-k"
            )
            second = await enqueue.send_receipt(
                Receipt(order_id="r5"), idempotency_key=f"{backend.namespace}-k"
            )
            assert (second.id, second.queued) == (first.id, False)
            await first.result(timeout=10)
            await asyncio.sleep(0.2)
            assert len(handlers.runs) == 1

    async def test_a_key_says_which_job_holds_it_since_when_and_is_freed_for_that_job_only(
        self, backend: Backend
    ) -> None:
        """``key_holder`` names the job holding a key and when it took it (what `microlib jobs
        overlap show` prints), None once it is free; ``forget_key`` for another job id keeps it."""
        service, _ = _service()
        async with TestService(service, overrides=[*backend.overrides, "jobs.worker=false"]):
            queue, key = service.jobs.queue, f"{backend.namespace}-held"
            before = time.time()
            handle = await ShopJobsEnqueuer(service.jobs).send_receipt(
                Receipt(order_id="r6"), idempotency_key=key
            )
            holder = await queue.key_holder(key)
            assert holder is not None
            assert holder[0] == handle.id
            assert before - 1 <= holder[1] <= time.time() + 1  # the store's clock, to its precision
            await queue.forget_key(key, "another-job")
            kept = await queue.key_holder(key)
            assert kept is not None
            assert kept[0] == handle.id
            await queue.forget_key(key, handle.id)
            assert await queue.key_holder(key) is None

    async def test_shutdown_finishes_running_jobs_and_requeues_the_rest(self, backend: Backend) -> None:
        """One slot: the running job finishes within the drain budget; the one not
        started is left queued and another replica runs it."""
        # Untimed: the contract's 0.5 s timeout is not what this tests, and a loaded
        # machine can stretch a 0.3 s job past it.
        service, handlers = _service(UntimedHandlers())
        overrides = [*backend.overrides, "jobs.concurrency=1", "shutdown.drain_timeout=10"]
        async with TestService(service, overrides=overrides):
            enqueue = ShopJobsEnqueuer(service.jobs)
            await enqueue.send_receipt(Receipt(order_id="long", sleep=0.3))
            await enqueue.send_receipt(Receipt(order_id="next"))
            await _until(lambda: handlers.runs)
            queue = service.jobs.queue
        assert [o for o, _, _ in handlers.runs] == ["long"]
        assert handlers.cancelled == []
        if not backend.shared:
            assert isinstance(queue, MemoryQueue)
            assert queue.ready() == 1
            return
        replica, other = _service()
        async with TestService(replica, overrides=backend.overrides):
            await _until(lambda: other.runs)
        assert [o for o, _, _ in other.runs] == ["next"]

    async def test_a_job_cut_off_by_the_drain_budget_is_requeued(self, backend: Backend) -> None:
        """A job still running when the budget ends is cancelled and requeued unchanged."""
        service, handlers = _service()
        async with TestService(service, overrides=[*backend.overrides, "shutdown.drain_timeout=0.1"]):
            await ShopJobsEnqueuer(service.jobs).send_receipt(Receipt(order_id="cut", sleep=0.45))
            await _until(lambda: handlers.runs)
            queue = service.jobs.queue
        assert handlers.cancelled == ["cut"]
        if not backend.shared:
            assert isinstance(queue, MemoryQueue)
            assert queue.ready() == 1
            return
        replica, other = _service()
        async with TestService(replica, overrides=backend.overrides):
            await _until(lambda: other.runs)
        assert [(o, a) for o, a, _ in other.runs] == [("cut", 1)]

    async def test_a_job_running_past_the_redelivery_timeout_runs_once(self, backend: Backend) -> None:
        """A job running three times ``jobs.redelivery_timeout``, two workers: its worker keeps
        its claim alive, so the other one never takes it over while it runs."""
        overrides = [*backend.overrides, "jobs.redelivery_timeout=1"]
        service, handlers = _service(UntimedHandlers())
        replica, other = _service(UntimedHandlers())
        async with TestService(service, overrides=overrides), contextlib.AsyncExitStack() as replicas:
            if backend.shared:
                await replicas.enter_async_context(TestService(replica, overrides=overrides))
            handle = await ShopJobsEnqueuer(service.jobs).send_receipt(Receipt(order_id="long", sleep=3))
            assert await handle.result(timeout=10) == Total(order_id="long", items=0)
            await asyncio.sleep(1.5)  # a late takeover would show by now
        runs = [o for o, _, _ in handlers.runs + other.runs]
        assert runs == ["long"], runs
