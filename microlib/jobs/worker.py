"""The worker: takes jobs from the queue and runs each through the service's chain.

Every run is a :class:`~microlib.core.context.CallContext` of kind ``job``
(``service`` the contract's name, ``method`` the job's), so recovery, logs,
metrics and traces (continued from the enqueuer's ``traceparent``) are the
same as for any call. A failed run is queued again after its backoff, or
dead-lettered when the contract's attempts are spent or the failure is
permanent (:data:`~microlib.jobs.retry.PERMANENT_CODES`). A scheduled run
under ``overlap: skip`` frees its job's overlap key as it ends for good
(done or dead-lettered; not when retried, nor when given back unrun).

As shutdown starts (``leaving``) the worker takes no more jobs; running ones
get the drain's budget to finish, and those still running then are cancelled and requeued,
unchanged, for another replica.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from pydantic import TypeAdapter, ValidationError

from microlib.core.chain import CallNext, Chain
from microlib.core.context import CallContext
from microlib.core.errors import Code, Error, Internal
from microlib.jobs._tasks import cancel_and_wait
from microlib.jobs.clock import Clock, SystemClock
from microlib.jobs.definition import JobDefinition, JobsDefinition, overlap_key
from microlib.jobs.envelope import JobEnvelope
from microlib.jobs.handlers import Handler, JobContext, validate_payload
from microlib.jobs.metrics import JobMetrics
from microlib.jobs.queue import DeadLetter, Delivery, JobOutcome, JobQueue
from microlib.jobs.retry import retries
from microlib.observability._outage import FailureStreak
from microlib.observability.outcome import outcome_code

__all__ = ["JobWorker", "RegisteredJob"]

log = structlog.get_logger("microlib.jobs")

_LISTEN_BACKOFF, _LISTEN_BACKOFF_MAX = 0.5, 10.0
"""Seconds between a failed listening and the next, doubling up to the cap (as
``messaging.reconnect_backoff`` and ``reconnect_backoff_max`` default)."""


@dataclass(frozen=True, slots=True)
class RegisteredJob:
    """A job this service runs: its contract, definition and handler.

    Args:
        contract: The contract it belongs to.
        job: Its definition.
        handler: The user's bound method.
    """

    contract: JobsDefinition
    job: JobDefinition
    handler: Handler


class JobWorker:
    """The ``jobs-worker`` component: at most ``concurrency`` jobs at a time.

    Args:
        queue: Where jobs come from and go back to.
        jobs: The jobs it runs, by name.
        chain: The service's chain.
        metrics: The jobs' metrics.
        queues: The queues it consumes.
        concurrency: Jobs run at once at most.
        result_ttl: Seconds an outcome is kept.
        clock: The clock backoffs are counted on.
    """

    name = "jobs-worker"

    def __init__(
        self,
        queue: JobQueue,
        jobs: Mapping[str, RegisteredJob],
        chain: Chain,
        metrics: JobMetrics,
        *,
        queues: Sequence[str],
        concurrency: int = 10,
        result_ttl: float = 86400.0,
        clock: Clock | None = None,
    ) -> None:
        self._queue = queue
        self._jobs = dict(jobs)
        self._metrics = metrics
        self._queues = tuple(queues)
        self._slots = asyncio.Semaphore(concurrency)
        self._concurrency = concurrency
        self._result_ttl = result_ttl
        self._clock = clock or SystemClock()
        self._calls: dict[str, CallNext] = {
            name: chain.wrap(self._handler(entry)) for name, entry in self._jobs.items()
        }
        self._results = {
            name: TypeAdapter(entry.job.result_type)
            for name, entry in self._jobs.items()
            if entry.job.result_type is not None
        }
        self._consumer: asyncio.Task[None] | None = None
        self._failure: Exception | None = None
        self._streak = FailureStreak()
        self._running: dict[asyncio.Task[None], Delivery] = {}
        self._draining = False

    @property
    def running(self) -> int:
        """Jobs running now."""
        return len(self._running)

    async def start(self) -> None:
        """Start taking jobs."""
        self._draining = False
        self._consumer = asyncio.create_task(self._consume(), name="microlib-jobs-worker")

    def leaving(self) -> None:
        """Shutdown started: take no more jobs, from now rather than after the drain delay
        (which is for load balancers); running ones go on."""
        self._draining = True
        if self._consumer is not None:
            self._consumer.cancel()

    async def drain(self, timeout: float) -> None:
        """Take no more jobs; let running ones finish within ``timeout``, requeue the rest."""
        self.leaving()
        consumer, self._consumer = self._consumer, None
        running = list(self._running)
        if running:
            log.info("jobs draining", running=len(running), timeout=timeout)
            _, late = await asyncio.wait(running, timeout=timeout)
            for task in late:
                task.cancel()
            if late:
                log.warning("jobs requeued at shutdown", jobs=len(late))
                await asyncio.gather(*late, return_exceptions=True)
        if consumer is not None and not await cancel_and_wait(consumer):
            log.error("the job listener did not stop")

    async def stop(self) -> None:
        """Drain at once if the service did not drain first."""
        await self.drain(0)

    async def check(self) -> Mapping[str, Any] | None:
        """Report the load; unhealthy when the consumer loop died."""
        failure = self._failure
        if failure is not None:
            raise RuntimeError(
                f"the job consumer failed, listening again: {type(failure).__name__}: {failure}"
            )
        return {"running": self.running, "concurrency": self._concurrency, "queues": list(self._queues)}

    async def _consume(self) -> None:
        """Listen, and listen again with backoff when the broker fails (refuses the
        connection at start, say): a worker never stops taking jobs for good."""
        pause = _LISTEN_BACKOFF
        while True:
            try:
                await self._listen()
                return
            except Exception as exc:
                self._failure = exc
                if self._streak.failed():  # said once; listening again says how many failed
                    log.error("job consumer failed; listening again", error=_describe(exc), retry_in=pause)
            await asyncio.sleep(pause)
            pause = min(pause * 2, _LISTEN_BACKOFF_MAX)

    async def _listen(self) -> None:
        deliveries: AsyncIterator[Delivery] = self._queue.deliveries(self._queues, listening=self._listening)
        try:
            while True:
                await self._slots.acquire()
                try:
                    delivery = await anext(deliveries)
                except BaseException:
                    self._slots.release()
                    raise
                if self._draining:
                    # A listener that missed its cancellation (see _tasks.cancel_and_wait).
                    self._slots.release()
                    await delivery.requeue()
                    return
                task = asyncio.create_task(self._run(delivery))
                self._running[task] = delivery
                task.add_done_callback(self._finished)
        finally:
            await _close(deliveries)

    def _listening(self) -> None:
        """Listening again after a failure: healthy from now, not from the next job."""
        ended = self._streak.ended()
        if ended is not None:
            log.info("job consumer listening again", queues=list(self._queues), **ended)
            self._failure = None

    def _finished(self, task: asyncio.Task[None]) -> None:
        delivery = self._running.pop(task, None)
        if delivery is not None:
            # Settled, or the settling failed: then the job goes to another worker.
            delivery.abandon()
            error = None if task.cancelled() else task.exception()
            if error is not None:
                log.error(
                    "job not settled, left for redelivery", job_id=delivery.envelope.id, error=repr(error)
                )
        self._slots.release()

    async def _run(self, delivery: Delivery) -> None:
        envelope = delivery.envelope
        entry = self._jobs.get(envelope.job)
        try:
            if entry is None:
                await self._bury(delivery, None, Code.UNIMPLEMENTED, f"no handler for job {envelope.job!r}")
                return
            job = entry.job
            ctx = CallContext(
                kind="job",
                service=entry.contract.name,
                method=job.name,
                metadata=envelope.headers,
                deadline=None if job.timeout is None else time.monotonic() + job.timeout,
                request=envelope.payload,
                attributes={"job_id": envelope.id, "attempt": envelope.attempt, "job_envelope": envelope},
            )
            try:
                value = await self._calls[envelope.job](ctx)
            except Exception as exc:
                await self._failed(delivery, job, exc)
                return
            adapter = self._results.get(envelope.job)
            if adapter is not None:
                try:
                    result = adapter.dump_python(adapter.validate_python(value), mode="json")
                except ValidationError as exc:
                    # Stored as it is, a handle would fail to read it, far from the handler's bug;
                    # failed, the job is retried or dead-lettered as if the handler had raised.
                    error = _not_the_result(job, value, exc)
                    log.error("job result breaks its contract", job_id=envelope.id, error=error.message)
                    await self._failed(delivery, job, error)
                    return
                await self._queue.set_outcome(
                    envelope.id, JobOutcome(ok=True, value=result), self._result_ttl
                )
            await self._ended(delivery)
        except asyncio.CancelledError:
            # Shutdown ran out of budget: the job goes back unchanged.
            await asyncio.shield(delivery.requeue())
            raise

    async def _failed(self, delivery: Delivery, job: JobDefinition, exc: Exception) -> None:
        envelope = delivery.envelope
        code = Code[outcome_code(exc)]
        if retries(job.retry, envelope.attempt, code):
            delay = job.retry.backoff(envelope.attempt)
            await self._queue.enqueue(envelope.retried(), not_before=self._clock.time() + delay)
            self._metrics.retries.labels(self._service(envelope.job), job.name).inc()
            log.info(
                "job retry scheduled",
                job=job.name,
                job_id=envelope.id,
                attempt=envelope.attempt,
                code=code.name,
                backoff_s=round(delay, 3),
            )
            await delivery.ack()
            return
        await self._bury(delivery, job, code, _describe(exc))

    async def _bury(self, delivery: Delivery, job: JobDefinition | None, code: Code, error: str) -> None:
        envelope = delivery.envelope
        await self._queue.bury(DeadLetter(envelope, code.name, error, self._clock.time()))
        self._metrics.dead_lettered.labels(self._service(envelope.job), envelope.job, code.name).inc()
        log.warning(
            "job dead-lettered",
            job=envelope.job,
            job_id=envelope.id,
            attempt=envelope.attempt,
            code=code.name,
            error=error,
        )
        if job is not None and job.result_type is not None:
            outcome = JobOutcome(ok=False, code=code.name, message=error)
            await self._queue.set_outcome(envelope.id, outcome, self._result_ttl)
        await self._ended(delivery)

    async def _ended(self, delivery: Delivery) -> None:
        """Settle a job that ended for good, first freeing the overlap key its tick holds: a
        store that fails here leaves the job unsettled, run again like any unsettled job."""
        envelope = delivery.envelope
        key = overlap_key(envelope.job)
        if envelope.idempotency_key == key:
            await self._queue.forget_key(key, envelope.id)
        await delivery.ack()

    def _service(self, job: str) -> str:
        entry = self._jobs.get(job)
        return entry.contract.name if entry is not None else ""

    @staticmethod
    def _handler(entry: RegisteredJob) -> CallNext:
        job = entry.job
        handler = entry.handler

        async def run(ctx: CallContext) -> Any:
            payload = validate_payload(job, ctx.request)
            envelope: JobEnvelope = ctx.attributes["job_envelope"]
            context = JobContext(
                job=job,
                id=envelope.id,
                attempt=envelope.attempt,
                enqueued_at=envelope.enqueued_at,
                tick=envelope.tick,
                call=ctx,
            )
            return await handler(payload, context)

        return run


def _not_the_result(job: JobDefinition, value: object, exc: ValidationError) -> Internal:
    """A handler's return value its contract's result type refuses, each refusal named."""
    expected = getattr(job.result_type, "__name__", str(job.result_type))
    problems = "; ".join(
        f"{'.'.join(map(str, error['loc'])) or 'result'}: {error['msg']}" for error in exc.errors()
    )
    return Internal(f"job {job.name} returned {type(value).__name__}, not its result {expected}: {problems}")


def _describe(exc: Exception) -> str:
    """What the dead letter says: the crash itself, not recovery's generic Internal."""
    cause = exc.__cause__ if isinstance(exc, Internal) and exc.__cause__ is not None else exc
    if isinstance(cause, Error):
        reason = f" ({cause.reason})" if cause.reason else ""
        return f"{cause.code.name}{reason}: {cause.message}"
    return f"{type(cause).__name__}: {cause}"


async def _close(deliveries: AsyncIterator[Delivery]) -> None:
    aclose = getattr(deliveries, "aclose", None)
    if aclose is not None:
        # RuntimeError: the generator is still running (cancelled mid-step); it closes with its task.
        with contextlib.suppress(RuntimeError):
            await aclose()
