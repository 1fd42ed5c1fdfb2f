"""The worker on the embedded queue: chain, results, retries, timeouts, dead letters, drain."""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
import sys
from typing import Any

import pytest
from opentelemetry import context as otel_context
from opentelemetry import trace
from prometheus_client import generate_latest

from microlib import Service
from microlib.core.errors import InvalidArgument
from microlib.jobs import JobContext, JobEnvelope, MemoryQueue
from microlib.jobs.memory import _MemoryDelivery
from microlib.testing import TestService
from tests.jobs._contract import DEFINITION, FAST, Handlers, Line, Receipt, ShopJobsEnqueuer, Tick, Total

NO_SCHEDULER = ["jobs.scheduler.enabled=false"]


def _service() -> tuple[Service, Handlers]:
    service = Service("shop")
    handlers = Handlers()
    service.include(handlers)
    return service, handlers


def _scrape(service: Service) -> str:
    return generate_latest(service.metrics.registry).decode()  # type: ignore[attr-defined]


async def test_an_enqueued_job_runs_through_the_chain_and_returns_its_result() -> None:
    """The handler gets the typed payload; the result comes back through the handle;
    the run is a ``job`` call of the chain (access line, metrics)."""
    service, handlers = _service()
    async with TestService(service, overrides=NO_SCHEDULER) as t:
        enqueue = ShopJobsEnqueuer(service.jobs)
        handle = await enqueue.send_receipt(Receipt(order_id="o1", lines=[Line(sku="a", qty=2)]))
        assert handle.queued
        assert await handle.result(timeout=5) == Total(order_id="o1", items=2)
        assert [(order, attempt) for order, attempt, _ in handlers.runs] == [("o1", 1)]
        ctx = handlers.runs[0][2]
        assert (ctx.call.kind, ctx.call.service, ctx.call.method) == ("job", "shop.jobs", "send_receipt")
        assert ctx.id == handle.id
        lines = [e for e in t.logs if e.get("event") == "call completed"]
        assert lines[-1]["method"] == "shop.jobs/send_receipt"
        assert lines[-1]["code"] == "OK"
        text = _scrape(service)
        assert 'job_runs_total{code="OK",method="send_receipt",service="shop.jobs"} 1.0' in text
        assert 'job_queued_total{job="send_receipt",queue="mail",service="shop.jobs"} 1.0' in text


async def test_an_invalid_payload_is_refused_at_enqueue_naming_the_field() -> None:
    """Enqueue validates the payload against the job's model; the error names the field path."""
    service, _ = _service()
    async with TestService(service, overrides=NO_SCHEDULER):
        with pytest.raises(InvalidArgument) as caught:
            await service.jobs.enqueue(
                service.jobs.contracts["shop.jobs"].jobs["send_receipt"],
                {"order_id": "o1", "lines": [{"sku": "a", "qty": 0}]},
            )
        assert [v.field for v in caught.value.violations] == ["payload.lines[0].qty"]


async def test_a_bad_payload_from_the_queue_is_dead_lettered_without_retry() -> None:
    """A message that does not validate (another producer, an old version) fails with
    INVALID_ARGUMENT naming the field, and goes to the dead-letter queue at once."""
    service, handlers = _service()
    async with TestService(service, overrides=NO_SCHEDULER) as t:
        queue = service.jobs.queue
        await queue.enqueue(JobEnvelope("send_receipt", {"lines": [{"sku": "a", "qty": "x"}]}, queue="mail"))
        await t.jobs.run_until_idle()
        [letter] = await t.jobs.dead_letters()
        assert letter.code == "INVALID_ARGUMENT"
        # Each field and what is wrong with it: the dead letter keeps only this text.
        assert letter.error == (
            "INVALID_ARGUMENT: invalid payload for job send_receipt: payload.order_id: Field required; "
            "payload.lines[0].qty: Input should be a valid integer (received 'x')"
        )
        assert handlers.runs == []


async def test_a_crashing_job_is_retried_after_its_backoff_then_succeeds() -> None:
    """Attempt 1 crashes; the retry waits the contract's backoff (0.2 s, then 0.4 s) on the clock."""
    service, handlers = _service()
    async with TestService(service, overrides=NO_SCHEDULER, frozen_time=True) as t:
        handle = await ShopJobsEnqueuer(service.jobs).send_receipt(Receipt(order_id="o2", crash_times=2))
        await t.jobs.run_until_idle()
        assert [a for _, a, _ in handlers.runs] == [1]
        await t.jobs.advance(0.15)
        assert [a for _, a, _ in handlers.runs] == [1]
        await t.jobs.advance(0.1)
        assert [a for _, a, _ in handlers.runs] == [1, 2]
        # Attempt 2 ran when the clock passed 0.2: its backoff ends at 0.6.
        await t.jobs.advance(0.3)
        assert [a for _, a, _ in handlers.runs] == [1, 2]
        await t.jobs.advance(0.1)
        assert [a for _, a, _ in handlers.runs] == [1, 2, 3]
        assert (await handle.result(1)).order_id == "o2"
        assert {ctx.id for _, _, ctx in handlers.runs} == {handle.id}
        assert 'job_retries_total{job="send_receipt",service="shop.jobs"} 2.0' in _scrape(service)


async def test_retry_backoffs_are_jittered_as_the_contract_says() -> None:
    """A contract's jitter of 0.5 on a 0.2 s backoff: each retry waits between 0.1 and 0.2 s,
    drawn apart, so that jobs that failed together do not all come back together."""
    job = dataclasses.replace(DEFINITION.jobs["send_receipt"], retry=dataclasses.replace(FAST, jitter=0.5))

    class Jittery(Handlers):
        pass

    Jittery.__microlib_jobs__ = dataclasses.replace(  # type: ignore[attr-defined]
        DEFINITION, jobs={**DEFINITION.jobs, "send_receipt": job}
    )
    service, handlers = Service("shop"), Jittery()
    service.include(handlers)
    async with TestService(service, overrides=NO_SCHEDULER, frozen_time=True) as t:
        for i in range(20):
            await service.jobs.enqueue(job, Receipt(order_id=f"j{i}", crash_times=1))
        await t.jobs.run_until_idle()
        backoffs = [e["backoff_s"] for e in t.logs if e.get("event") == "job retry scheduled"]
        assert len(backoffs) == 20
        assert all(0.1 <= backoff <= 0.2 for backoff in backoffs)
        assert len(set(backoffs)) > 10
        await t.jobs.advance(0.15)
        assert 0 < len(handlers.runs) - 20 < 20  # the shorter backoffs have come due
        await t.jobs.advance(0.05)
        assert len(handlers.runs) == 40


async def test_a_job_crashing_on_every_attempt_is_dead_lettered_and_replay_runs_it_again() -> None:
    """After max_attempts the job is dead-lettered with the crash; replay queues it as attempt 1."""
    service, handlers = _service()
    async with TestService(service, overrides=NO_SCHEDULER, frozen_time=True) as t:
        handle = await ShopJobsEnqueuer(service.jobs).send_receipt(Receipt(order_id="o3", crash_times=3))
        await t.jobs.run_until_idle()
        await t.jobs.advance(10)
        await t.jobs.advance(10)
        assert [a for _, a, _ in handlers.runs] == [1, 2, 3]
        [letter] = await t.jobs.dead_letters()
        assert (letter.envelope.id, letter.code, letter.error) == (
            handle.id,
            "INTERNAL",
            "RuntimeError: crash 3",
        )
        with pytest.raises(Exception, match="crash 3") as failed:
            await handle.result(1)
        assert failed.value.code.name == "INTERNAL"  # type: ignore[attr-defined]
        assert 'job_dead_lettered_total{code="INTERNAL",job="send_receipt",service="shop.jobs"} 1.0' in (
            _scrape(service)
        )
        assert await service.jobs.queue.replay(handle.id)
        await t.jobs.run_until_idle()
        assert [a for _, a, _ in handlers.runs] == [1, 2, 3, 1]
        assert await t.jobs.dead_letters() == []
        assert not await service.jobs.queue.replay(handle.id)


class WrongResult(Handlers):
    """Returns a dict lacking a field of the contract's result, as a handler written in haste would."""

    async def send_receipt(self, payload: Receipt, ctx: JobContext) -> Total:
        await super().send_receipt(payload, ctx)
        return {"order_id": payload.order_id}  # type: ignore[return-value]


async def test_a_result_its_contract_refuses_fails_the_job_saying_why() -> None:
    """Not stored for a handle to trip on, nor left unsettled to run again and again: the job
    fails as if the handler had raised (retried, then dead-lettered), the reason logged at each
    attempt, in the dead letter and raised by the handle."""
    service, handlers = Service("shop"), WrongResult()
    service.include(handlers)
    async with TestService(service, overrides=NO_SCHEDULER, frozen_time=True) as t:
        handle = await ShopJobsEnqueuer(service.jobs).send_receipt(Receipt(order_id="o5"))
        await t.jobs.run_until_idle()
        await t.jobs.advance(10)
        await t.jobs.advance(10)
        assert [a for _, a, _ in handlers.runs] == [1, 2, 3]
        why = "job send_receipt returned dict, not its result Total: items: Field required"
        logged = [e["error"] for e in t.logs if e.get("event") == "job result breaks its contract"]
        assert logged == [why] * 3
        [letter] = await t.jobs.dead_letters()
        assert (letter.envelope.id, letter.code, letter.error) == (handle.id, "INTERNAL", f"INTERNAL: {why}")
        with pytest.raises(Exception, match="items: Field required"):
            await handle.result(1)


async def test_a_permanent_failure_is_dead_lettered_at_once() -> None:
    """FAILED_PRECONDITION cannot change on a retry: one attempt, then the dead-letter queue."""
    service, handlers = _service()
    async with TestService(service, overrides=NO_SCHEDULER, frozen_time=True) as t:
        await ShopJobsEnqueuer(service.jobs).send_receipt(Receipt(order_id="o4", permanent=True))
        await t.jobs.run_until_idle()
        await t.jobs.advance(60)
        assert len(handlers.runs) == 1
        [letter] = await t.jobs.dead_letters()
        assert letter.code == "FAILED_PRECONDITION"
        assert await service.jobs.queue.purge() == 1
        assert await t.jobs.dead_letters() == []


async def test_a_job_past_its_timeout_is_cancelled_and_retried() -> None:
    """The contract's 0.5 s timeout cancels the handler at its await; the attempt
    ends DEADLINE_EXCEEDED and is retried."""
    service, handlers = _service()
    async with TestService(service, overrides=NO_SCHEDULER, frozen_time=True) as t:
        await ShopJobsEnqueuer(service.jobs).send_receipt(Receipt(order_id="o5", sleep=30))
        await t.jobs.run_until_idle()
        assert handlers.cancelled == ["o5"]
        assert service.jobs.queue.delayed() == 1  # type: ignore[attr-defined]
        lines = [e for e in t.logs if e.get("event") == "job retry scheduled"]
        assert lines[0]["code"] == "DEADLINE_EXCEEDED"


async def test_an_idempotency_key_queues_the_job_once() -> None:
    """A second enqueue with the same key queues nothing and returns the first job's id."""
    service, handlers = _service()
    async with TestService(service, overrides=NO_SCHEDULER) as t:
        enqueue = ShopJobsEnqueuer(service.jobs)
        first = await enqueue.send_receipt(Receipt(order_id="o6"), idempotency_key="order-o6")
        second = await enqueue.send_receipt(Receipt(order_id="o6"), idempotency_key="order-o6")
        other = await enqueue.send_receipt(Receipt(order_id="o6"), idempotency_key="order-o6-b")
        await t.jobs.run_until_idle()
        assert (first.queued, second.queued, other.queued) == (True, False, True)
        assert second.id == first.id != other.id
        assert len(handlers.runs) == 2


async def test_a_delayed_job_waits_for_its_time() -> None:
    """``delay`` keeps the job off the queue until the clock reaches it."""
    service, handlers = _service()
    async with TestService(service, overrides=NO_SCHEDULER, frozen_time=True) as t:
        await ShopJobsEnqueuer(service.jobs).send_receipt(Receipt(order_id="o7"), delay=30)
        await t.jobs.run_until_idle()
        await t.jobs.advance(29)
        assert handlers.runs == []
        await t.jobs.advance(1)
        assert [o for o, _, _ in handlers.runs] == ["o7"]


async def test_the_job_continues_the_enqueuers_trace() -> None:
    """The job's span is a child of the span that enqueued it (W3C traceparent in the labels)."""
    service, handlers = _service()
    async with TestService(service, overrides=NO_SCHEDULER) as t:
        tracer = service.observability.tracing.tracer
        with tracer.start_as_current_span("enqueuer") as span:
            trace_id = format(span.get_span_context().trace_id, "032x")
            await ShopJobsEnqueuer(service.jobs).send_receipt(Receipt(order_id="o8"))
        assert otel_context.get_current() is not None
        await t.jobs.run_until_idle()
        ctx = handlers.runs[0][2]
        assert ctx.call.metadata["traceparent"].split("-")[1] == trace_id
        assert ctx.call.attributes["trace_id"] == trace_id
        assert trace.get_current_span() is trace.INVALID_SPAN


async def test_shutdown_lets_running_jobs_finish_and_requeues_the_rest() -> None:
    """With one slot, the running job finishes within the drain budget; the waiting
    job is never started and stays queued for another replica."""
    service, handlers = _service()
    t = TestService(service, overrides=[*NO_SCHEDULER, "jobs.concurrency=1", "shutdown.drain_timeout=5"])
    async with t:
        enqueue = ShopJobsEnqueuer(service.jobs)
        await enqueue.send_receipt(Receipt(order_id="long", sleep=0.3))
        await enqueue.send_receipt(Receipt(order_id="next"))
        await handlers.started.wait()
        queue = service.jobs.queue
        assert isinstance(queue, MemoryQueue)
    assert [o for o, _, _ in handlers.runs] == ["long"]
    assert handlers.cancelled == []
    assert queue.ready() == 1


async def test_shutdown_requeues_a_job_still_running_when_the_budget_ends() -> None:
    """A job running past the drain budget is cancelled and requeued with its attempt unchanged."""
    service, handlers = _service()
    async with TestService(service, overrides=[*NO_SCHEDULER, "shutdown.drain_timeout=0.1"]):
        await ShopJobsEnqueuer(service.jobs).send_receipt(Receipt(order_id="slow", sleep=0.45))
        await handlers.started.wait()
        queue = service.jobs.queue
        assert isinstance(queue, MemoryQueue)
    assert handlers.cancelled == ["slow"]
    assert queue.ready() == 1
    envelope = queue._take(["mail"])
    assert envelope is not None
    assert envelope.attempt == 1


async def test_the_worker_takes_no_job_once_shutdown_starts() -> None:
    """From the moment shutdown starts (before the drain delay, which is for load balancers)
    the worker takes no more jobs: one enqueued then stays queued for another replica."""
    service, handlers = _service()
    async with TestService(service, overrides=[*NO_SCHEDULER, "shutdown.drain_delay=0.5"]):
        queue = service.jobs.queue
        assert isinstance(queue, MemoryQueue)
        stopping = asyncio.create_task(service.stop())
        await asyncio.sleep(0.1)
        await ShopJobsEnqueuer(service.jobs).send_receipt(Receipt(order_id="late"))
        await asyncio.sleep(0.1)
        assert not stopping.done()  # still in the drain delay
        assert handlers.runs == []
        await stopping
    assert queue.ready() == 1


def test_handlers_missing_a_job_are_refused_naming_it() -> None:
    """include() names the missing method, its job and the contract line."""

    class Partial(Handlers.__mro__[1]):  # type: ignore[misc]
        async def heartbeat(self, payload: object, ctx: object) -> None:
            return None

    with pytest.raises(TypeError, match=r"send_receipt \(job send_receipt, tests/jobs/jobs.yaml:4\)"):
        Service("shop").include(Partial())


def test_handlers_drifted_from_the_contract_are_refused_at_startup() -> None:
    """A handler whose payload is annotated with another model (the contract changed it), or a
    handler of a job the contract no longer has, is refused naming each: not found at run time."""

    class Drifted(Handlers):
        async def send_receipt(self, payload: Tick, ctx: JobContext) -> Total:  # type: ignore[override]
            raise AssertionError("never run")

        async def purge_carts(self, payload: Tick, ctx: JobContext) -> None:
            return None

    with pytest.raises(TypeError) as refused:
        Service("shop").include(Drifted())
    message = str(refused.value)
    assert "send_receipt (job send_receipt, tests/jobs/jobs.yaml:4): payload is annotated Tick" in message
    assert "the contract carries Receipt" in message
    assert "purge_carts runs no job of shop.jobs any more (removed or renamed in the contract)" in message

    class Loose(Handlers):
        async def send_receipt(self, payload: Any, ctx: JobContext) -> Total:
            return Total(order_id="x", items=0)

        async def heartbeat(self, payload, ctx):  # type: ignore[no-untyped-def]
            return None

    Service("shop").include(Loose())  # Any and no annotation: nothing to compare


def test_a_service_without_jobs_imports_neither_taskiq_nor_croniter() -> None:
    """Importing microlib and assembling a service leaves the queue libraries unloaded."""
    code = (
        "import sys\n"
        "from microlib import Service\n"
        "s = Service('plain'); s.configure(overrides=['http.enabled=false']); s.app\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('taskiq', 'croniter')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


async def test_the_worker_reports_its_load_in_health() -> None:
    """The worker's check reports the queues it consumes and its concurrency."""
    service, _ = _service()
    async with TestService(service, overrides=NO_SCHEDULER):
        details = await service.component("jobs-worker").check()
        assert details == {"running": 0, "concurrency": 10, "queues": ["default", "mail"]}
        await asyncio.sleep(0)


async def test_an_enqueue_only_service_declares_the_contract() -> None:
    """declare() lets a service enqueue jobs that another service runs: no worker here."""
    import dataclasses

    from tests.jobs._contract import DEFINITION

    service = Service("front")
    service.jobs.declare(DEFINITION)
    async with TestService(service, overrides=NO_SCHEDULER):
        handle = await ShopJobsEnqueuer(service.jobs).send_receipt(Receipt(order_id="e1"))
        assert handle.queued
        with pytest.raises(KeyError):
            service.component("jobs-worker")
        queue = service.jobs.queue
        assert isinstance(queue, MemoryQueue)
        assert queue.ready() == 1
    other = dataclasses.replace(DEFINITION, name="other.jobs")
    with pytest.raises(ValueError, match=r"job 'send_receipt' of other\.jobs .* is also in shop\.jobs"):
        service.jobs.declare(
            dataclasses.replace(
                other,
                jobs={
                    "send_receipt": dataclasses.replace(
                        DEFINITION.jobs["send_receipt"], contract="other.jobs"
                    )
                },
            )
        )


async def test_enqueue_mistakes_are_named() -> None:
    """Both delay and eta, a naive eta, a result asked of a job without one, a queue before assembly."""
    import datetime as dt

    from tests.jobs._contract import Tick

    service, _ = _service()
    with pytest.raises(RuntimeError, match="exists once the service is assembled"):
        _ = service.jobs.queue
    with pytest.raises(TypeError, match="implements no generated jobs Protocol"):
        service.jobs.include(object())
    async with TestService(service, overrides=NO_SCHEDULER) as t:
        enqueue = ShopJobsEnqueuer(service.jobs)
        job = service.jobs.contracts["shop.jobs"].jobs["send_receipt"]
        soon = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=60)
        with pytest.raises(ValueError, match="delay or eta, not both"):
            await service.jobs.enqueue(job, Receipt(order_id="x"), delay=1, eta=soon)
        with pytest.raises(ValueError, match="time-zone aware"):
            await service.jobs.enqueue(job, Receipt(order_id="x"), eta=soon.replace(tzinfo=None))
        later = await service.jobs.enqueue(job, Receipt(order_id="x"), eta=soon)
        assert service.jobs.queue.delayed() == 1  # type: ignore[attr-defined]
        assert later.queued
        beat = await enqueue.heartbeat(Tick())
        await t.jobs.run_until_idle()
        with pytest.raises(TypeError, match="declares no result"):
            await beat.result()


async def test_a_run_that_cannot_settle_its_job_lets_go_of_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """The result cannot be stored (the store is down): the run ends with the job unsettled,
    logged, and the delivery abandoned, so that the broker hands the job out again (after
    ``jobs.redelivery_timeout``) instead of the worker holding it for as long as it lives."""
    abandoned: list[str] = []
    monkeypatch.setattr(_MemoryDelivery, "abandon", lambda self: abandoned.append(self.envelope.id))
    service, handlers = _service()
    async with TestService(service, overrides=NO_SCHEDULER) as t:

        async def store_down(*args: object) -> None:
            raise ConnectionError("store down")

        monkeypatch.setattr(service.jobs.queue, "set_outcome", store_down)
        handle = await ShopJobsEnqueuer(service.jobs).send_receipt(Receipt(order_id="o9"))
        async with asyncio.timeout(5):
            while not abandoned:  # noqa: ASYNC110  # polled: the run ends in the worker's task
                await asyncio.sleep(0.01)
        assert abandoned == [handle.id]
        [line] = [e for e in t.logs if e.get("event") == "job not settled, left for redelivery"]
        assert line["job_id"] == handle.id
        assert line["error"] == "ConnectionError('store down')"
    assert [order for order, _, _ in handlers.runs] == ["o9"]
