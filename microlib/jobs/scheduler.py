"""The scheduler: one leader among the replicas enqueues each tick of each schedule.

Every replica runs the loop; the one holding the lease
(:mod:`microlib.jobs.lease`) fires. A tick is fired by claiming it with the
lease's fencing token (refused for a stale leader or a tick already
claimed) and then enqueuing the job with the token and the tick in its
labels. Leadership is given up the moment a renewal fails or the lease's
time runs out locally, and released as shutdown starts (``leaving``, before
the drain delay), so another replica takes over at its next attempt instead
of after the TTL.

Missed ticks (no leader for a while, a long pause): under ``skip`` only the
latest tick still within ``misfire_grace`` fires; under ``catch_up`` the new
leader fires up to ``max_catch_up`` of the latest missed ticks, oldest
first. Every tick not fired is counted in ``job_ticks_missed_total``.
A tick claimed by a leader that then dies before its enqueue is lost.

A schedule with ``overlap: skip`` enqueues under its job's overlap key (an
idempotency key in the queue's store, shared by the replicas), which the
run frees as it ends for good: a tick whose enqueue finds the key held
enqueues nothing, is logged with the job id holding it and for how long, and
counted in ``job_ticks_skipped_total``; ``job_overlap_held_seconds`` says how
long the key has been held (0 once a tick fires).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import structlog

from microlib.config.model import JobsSettings, SchedulerSettings
from microlib.core.extras import MissingExtra
from microlib.jobs._tasks import cancel_and_wait
from microlib.jobs.clock import Clock
from microlib.jobs.definition import JobDefinition, overlap_key
from microlib.jobs.handle import JobHandle
from microlib.jobs.lease import Claim, Lease, MemoryLease
from microlib.jobs.metrics import JobMetrics
from microlib.jobs.queue import JobQueue
from microlib.jobs.schedule import Plan, plan

__all__ = ["Scheduler", "TickEnqueuer", "open_lease"]

log = structlog.get_logger("microlib.jobs.scheduler")


class TickEnqueuer(Protocol):
    """What the scheduler queues fired ticks through: :class:`~microlib.jobs.feature.Jobs`.

    A protocol, so this module does not import ``feature``, which builds the scheduler.
    """

    @property
    def queue(self) -> JobQueue:
        """The queue the jobs go to (which keeps the overlap keys)."""
        ...

    async def enqueue(
        self,
        job: JobDefinition,
        payload: Any,
        *,
        idempotency_key: str | None = None,
        fence: int | None = None,
        tick: float | None = None,
    ) -> JobHandle[Any]:
        """Queue a run of ``job``, fenced by the leader's token, for the tick at ``tick``."""
        ...


def open_lease(settings: JobsSettings, namespace: str) -> Lease:
    """The lease kept in ``settings.store_url``, or in memory without a store.

    Raises:
        MissingExtra: the store's driver is missing, naming the extra.
    """
    url = settings.store_url
    if url is None:
        return MemoryLease()
    scheme = url.partition("://")[0].split("+")[0]
    try:
        if scheme.startswith("redis"):
            from microlib.jobs.redis_lease import RedisLease

            return RedisLease(url, namespace, ttl=settings.scheduler.lease_ttl)
        from microlib.jobs.postgres_lease import PostgresLease

        return PostgresLease(url, namespace)
    except ImportError as exc:
        extra = "redis" if scheme.startswith("redis") else "postgres"
        raise MissingExtra(
            f"jobs.store {scheme}:// needs pip install 'microlib[jobs-{extra}]' ({exc})"
        ) from exc


class Scheduler:
    """The ``jobs-scheduler`` component.

    Args:
        plans: The scheduled jobs and their cadences.
        jobs: Enqueues the fired ticks.
        lease: The leadership lease.
        settings: Lease timings and the missed-tick policy.
        metrics: Leadership and tick metrics.
        service: The service name (metric label).
        clock: The clock ticks are read on.
    """

    name = "jobs-scheduler"

    def __init__(
        self,
        plans: Sequence[Plan],
        jobs: TickEnqueuer,
        lease: Lease,
        settings: SchedulerSettings,
        metrics: JobMetrics,
        service: str,
        clock: Clock,
    ) -> None:
        self._plans = list(plans)
        self._jobs = jobs
        self._lease = lease
        self._settings = settings
        self._metrics = metrics
        self._leader_gauge = metrics.leader.labels(service)
        self._clock = clock
        self._token: int | None = None
        self._valid_until = 0.0
        self._last: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None
        self._stepping_down: asyncio.Task[None] | None = None

    @staticmethod
    def plan(jobs: Sequence[JobDefinition]) -> list[Plan]:
        """The plans of ``jobs``, each checked.

        Raises:
            ValueError: an invalid cron expression or time zone, naming the
                job and its contract file and line.
        """
        return [plan(job) for job in jobs]

    @property
    def leader(self) -> bool:
        """Whether this replica leads now."""
        return self._token is not None and self._clock.time() < self._valid_until

    @property
    def token(self) -> int | None:
        """The fencing token while leading."""
        return self._token if self.leader else None

    async def start(self) -> None:
        """Connect the lease and start the loop."""
        await self._lease.start()
        self._stepping_down = None
        self._task = asyncio.create_task(self._loop(), name="microlib-jobs-scheduler")

    def leaving(self) -> None:
        """Shutdown started: stop firing and release the lease now, before the drain
        delay, so another replica leads while this one still serves."""
        if self._stepping_down is None:
            self._stepping_down = asyncio.create_task(self._step_down(), name="microlib-jobs-step-down")

    async def drain(self, timeout: float) -> None:
        """Stop firing and release the lease (done already if shutdown called :meth:`leaving`)."""
        self.leaving()
        assert self._stepping_down is not None
        await self._stepping_down

    async def _step_down(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None
        if self._token is not None:
            # Handing the lease on at shutdown is the rolling update working, not a warning.
            log.info("scheduler leadership released", reason="shutdown", fence=self._token)
            self._drop()
            try:
                await self._lease.release()
            except Exception as exc:
                log.warning("scheduler lease release failed", error=str(exc))

    async def stop(self) -> None:
        """Release (if not drained yet) and disconnect."""
        await self.drain(0)
        await self._lease.stop()

    async def check(self) -> Mapping[str, Any] | None:
        """Leadership and the jobs scheduled; unhealthy when the loop died."""
        task = self._task
        if task is not None and task.done() and not task.cancelled():
            raise RuntimeError(f"the scheduler loop stopped: {task.exception()!r}")
        return {"leader": self.leader, "jobs": [p.job.name for p in self._plans]}

    async def _loop(self) -> None:
        renew_at = self._clock.time()
        while True:
            now = self._clock.time()
            if now >= renew_at:
                await self._lead()
                renew_at = now + self._settings.renew_every
            if self.leader:
                await self._fire_due()
            elif self._token is not None:
                self._lose("lease expired")
            wake = renew_at
            if self.leader:
                wake = min([wake, *(self._next_tick(p) for p in self._plans)])
            await self._clock.sleep_until(wake)

    async def _lead(self) -> None:
        """Acquire or renew; leadership is dropped on any doubt."""
        started = self._clock.time()
        try:
            if self._token is None:
                token = await self._lease.acquire()
                if token is not None:
                    await self._take(token)
            elif await self._lease.renew():
                self._valid_until = started + self._settings.lease_ttl
            else:
                self._lose("renewal refused")
                return
        except Exception as exc:
            log.warning("scheduler lease unreachable", error=str(exc), leader=self._token is not None)
            return
        if self._token is not None:
            self._valid_until = started + self._settings.lease_ttl

    async def _take(self, token: int) -> None:
        self._token = token
        self._leader_gauge.set(1)
        now = self._clock.time()
        for p in self._plans:
            last = await self._lease.last_tick(p.job.name)
            # A first leader ever starts from now: nothing to catch up on.
            self._last[p.job.name] = now if last is None else last
        log.info("scheduler leadership acquired", fence=token)

    def _lose(self, reason: str) -> None:
        log.warning("scheduler leadership lost", reason=reason, fence=self._token)
        self._drop()

    def _drop(self) -> None:
        self._token = None
        self._valid_until = 0.0
        self._leader_gauge.set(0)

    def _next_tick(self, p: Plan) -> float:
        return p.cadence.next_after(self._last.get(p.job.name, self._clock.time()))

    async def _fire_due(self) -> None:
        settings = self._settings
        catch_up = settings.missed_ticks == "catch_up"
        for p in self._plans:
            name = p.job.name
            now = self._clock.time()
            last = self._last.get(name, now)
            due, count = p.cadence.between(last, now, max(settings.max_catch_up, 1) if catch_up else 1)
            if not count:
                continue
            if catch_up:
                ticks = due[-settings.max_catch_up :] if settings.max_catch_up else []
            else:
                ticks = [t for t in due if now - t <= settings.misfire_grace]
            for tick in ticks:
                if not self.leader:
                    return
                if await self._fire(p.job, tick) is Claim.STALE:
                    self._lose("fencing token refused")
                    return
            self._last[name] = due[-1]
            missed = count - len(ticks)
            if missed > 0:
                self._metrics.ticks_missed.labels(p.job.contract, name).inc(missed)
                log.warning("schedule ticks missed", job=name, missed=missed, policy=settings.missed_ticks)

    async def _held_for(self, key: str, job_id: str) -> float | None:
        """Seconds ``job_id`` has held overlap key ``key``; None when the store does not say."""
        try:
            holder = await self._jobs.queue.key_holder(key)
        except Exception as exc:  # the store's own: the skip is said all the same
            log.warning("overlap key not read", key=key, error=f"{type(exc).__name__}: {exc}")
            return None
        if holder is None or holder[0] != job_id:
            return None
        return round(max(0.0, self._clock.time() - holder[1]), 1)

    async def _fire(self, job: JobDefinition, tick: float) -> Claim:
        token = self._token
        assert token is not None
        try:
            claim = await self._lease.claim(job.name, tick, token)
        except Exception as exc:
            log.warning("scheduler claim failed", job=job.name, tick=tick, error=str(exc))
            return Claim.DUPLICATE
        if claim is Claim.FIRED:
            schedule = job.schedule
            assert schedule is not None
            key = overlap_key(job.name) if schedule.overlap == "skip" else None
            try:
                handle = await self._jobs.enqueue(
                    job, dict(schedule.payload), idempotency_key=key, fence=token, tick=tick
                )
            except Exception as exc:
                log.error("scheduled job not enqueued; tick lost", job=job.name, tick=tick, error=str(exc))
                return claim
            if not handle.queued:
                assert key is not None
                held_for = await self._held_for(key, handle.id)
                self._metrics.ticks_skipped.labels(job.contract, job.name).inc()
                self._metrics.overlap_held.labels(job.contract, job.name).set(held_for or 0.0)
                log.info(
                    "schedule tick skipped: the job's last run has not ended",
                    job=job.name,
                    tick=tick,
                    running_job_id=handle.id,
                    held_for_s=held_for,
                )
                return claim
            if key is not None:
                self._metrics.overlap_held.labels(job.contract, job.name).set(0.0)
            self._metrics.ticks_fired.labels(job.contract, job.name).inc()
            log.info("schedule tick fired", job=job.name, tick=tick, fence=token)
        return claim
