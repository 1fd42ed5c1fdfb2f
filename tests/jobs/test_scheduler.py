"""The scheduler on the embedded lease and a frozen clock: ticks, missed ticks, fencing, cron."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

import pytest
from prometheus_client import generate_latest

from microlib import Service
from microlib.core.lifecycle import StartupError
from microlib.jobs import Claim, JobsDefinition, MemoryLease, Schedule
from microlib.jobs.schedule import CronCadence, IntervalCadence
from microlib.testing import TestService
from tests.jobs._contract import DEFINITION, Handlers, ShopJobs

T0 = 1_800_000_000.0  # a whole second: interval ticks fall on T0 + k


def _service(definition: JobsDefinition = DEFINITION) -> tuple[Service, Handlers]:
    service = Service("shop")
    handlers = Handlers()
    if definition is not DEFINITION:

        class Other(Handlers):
            pass

        Other.__microlib_jobs__ = definition  # type: ignore[attr-defined]
        handlers = Other()
    service.include(handlers)
    return service, handlers


async def test_each_interval_tick_fires_once_with_its_time_and_fencing_token() -> None:
    """Advancing three seconds fires the 1 s schedule three times, each run knowing its tick."""
    service, handlers = _service()
    async with TestService(service, frozen_time=T0) as t:
        await t.jobs.run_until_idle()
        assert handlers.ticks == []
        await t.jobs.advance(3)
        assert handlers.ticks == [T0 + 1, T0 + 2, T0 + 3]
        scheduler = service.component("jobs-scheduler")
        assert await scheduler.check() == {"leader": True, "jobs": ["heartbeat"]}
        text = generate_latest(service.metrics.registry).decode()  # type: ignore[attr-defined]
        assert 'job_ticks_fired_total{job="heartbeat",service="shop.jobs"} 3.0' in text
        assert 'job_scheduler_leader{service="shop"} 1.0' in text


SKIP = ["jobs.scheduler.missed_ticks=skip", "jobs.scheduler.misfire_grace=0.5"]


@pytest.mark.parametrize(
    ("policy", "stall", "fired", "missed"),
    [
        (SKIP, 10, [T0 + 10], 9),
        # The latest tick is 0.7 s late, past the 0.5 s grace: nothing fires.
        (SKIP, 10.7, [], 10),
        (
            ["jobs.scheduler.missed_ticks=catch_up", "jobs.scheduler.max_catch_up=3"],
            10,
            [T0 + 8, T0 + 9, T0 + 10],
            7,
        ),
    ],
)
async def test_after_a_pause_missed_ticks_follow_the_policy(
    policy: list[str], stall: float, fired: list[float], missed: int
) -> None:
    """A 10 s stall: ``skip`` fires only the latest tick, and only within the grace,
    ``catch_up`` the latest ``max_catch_up``; the rest are counted as missed."""
    service, handlers = _service()
    async with TestService(service, frozen_time=T0, overrides=policy) as t:
        await t.jobs.run_until_idle()
        await t.jobs.jump(stall)
        await t.jobs.run_until_idle()
        assert handlers.ticks == fired
        text = generate_latest(service.metrics.registry).decode()  # type: ignore[attr-defined]
        assert f'job_ticks_missed_total{{job="heartbeat",service="shop.jobs"}} {float(missed)}' in text


async def test_a_stale_token_is_refused_and_the_leader_stops_firing() -> None:
    """When another holder's token is current, the claim is refused and the old leader
    stops at once; a later acquisition takes over with the new token."""
    service, handlers = _service()
    async with TestService(service, frozen_time=T0) as t:
        await t.jobs.run_until_idle()
        await t.jobs.advance(1)
        scheduler = service.component("jobs-scheduler")
        lease = scheduler._lease  # type: ignore[attr-defined]
        assert isinstance(lease, MemoryLease)
        assert scheduler.token == 1  # type: ignore[attr-defined]
        # Someone else took the lease behind the scheduler's back.
        await lease.release()
        assert await lease.acquire() == 2
        await t.jobs.advance(1)
        assert handlers.ticks == [T0 + 1]
        assert not scheduler.leader  # type: ignore[attr-defined]
        # The next renewal round acquires again: the lease is free of other holders here.
        await t.jobs.advance(4)
        assert scheduler.token == 2  # type: ignore[attr-defined]
        assert handlers.ticks[-1] == T0 + 6


class FailingLease(MemoryLease):
    """The one-process lease, told to refuse renewals (another replica took over) or
    to be unreachable; counts the claims it is asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.refusing = False
        self.unreachable = False
        self.claims = 0

    async def acquire(self) -> int | None:
        if self.unreachable:
            raise ConnectionError("lease store unreachable")
        return None if self.refusing else await super().acquire()

    async def renew(self) -> bool:
        if self.unreachable:
            raise ConnectionError("lease store unreachable")
        return not self.refusing and await super().renew()

    async def claim(self, job: str, tick: float, token: int) -> Claim:
        self.claims += 1
        return await super().claim(job, tick, token)


@pytest.fixture
def failing_lease(monkeypatch: pytest.MonkeyPatch) -> FailingLease:
    """The lease the service's scheduler gets."""
    lease = FailingLease()
    monkeypatch.setattr("microlib.jobs.scheduler.open_lease", lambda settings, namespace: lease)
    return lease


def _leader_gauge(service: Service) -> str:
    text = generate_latest(service.metrics.registry).decode()  # type: ignore[attr-defined]
    return next(line for line in text.splitlines() if line.startswith("job_scheduler_leader{"))


async def test_a_refused_renewal_stops_firing_at_once(failing_lease: FailingLease) -> None:
    """Renewal refused (the lease passed to another replica): not one more claim, though
    the lease's time (10 s) has not run out locally."""
    service, handlers = _service()
    async with TestService(service, frozen_time=T0) as t:
        await t.jobs.run_until_idle()
        await t.jobs.advance(3)
        assert handlers.ticks == [T0 + 1, T0 + 2, T0 + 3]
        failing_lease.refusing = True
        claims = failing_lease.claims
        await t.jobs.advance(0.5)  # the renewal at T0 + 3.33 is refused
        assert not service.component("jobs-scheduler").leader  # type: ignore[attr-defined]
        assert _leader_gauge(service).endswith(" 0.0")
        await t.jobs.advance(10)
        assert failing_lease.claims == claims
        assert handlers.ticks == [T0 + 1, T0 + 2, T0 + 3]
        [lost] = [e for e in t.logs if e.get("event") == "scheduler leadership lost"]
        assert lost["reason"] == "renewal refused"


async def test_a_leader_cut_off_from_its_lease_stops_when_the_lease_runs_out(
    failing_lease: FailingLease,
) -> None:
    """The lease's store unreachable: the leader fires on while its lease (10 s from the
    last successful acquisition or renewal) lasts, and not a tick after, though nothing
    refused it: by then another replica may hold the lease."""
    service, handlers = _service()
    async with TestService(service, frozen_time=T0) as t:
        await t.jobs.run_until_idle()  # acquired at T0: the lease lasts until T0 + 10
        failing_lease.unreachable = True
        await t.jobs.advance(20)
        assert handlers.ticks == [T0 + k for k in range(1, 10)]
        assert not service.component("jobs-scheduler").leader  # type: ignore[attr-defined]
        assert _leader_gauge(service).endswith(" 0.0")
        [lost] = [e for e in t.logs if e.get("event") == "scheduler leadership lost"]
        assert lost["reason"] == "lease expired"


async def test_the_lease_refuses_stale_tokens_and_repeated_ticks() -> None:
    """A claim needs the current token and a tick later than the last one."""
    lease = MemoryLease()
    token = await lease.acquire()
    assert token == 1
    assert await lease.claim("j", 10.0, 1) is Claim.FIRED
    assert await lease.claim("j", 10.0, 1) is Claim.DUPLICATE
    await lease.release()
    assert await lease.claim("j", 11.0, 1) is Claim.STALE
    assert await lease.acquire() == 2
    assert await lease.claim("j", 11.0, 1) is Claim.STALE
    assert await lease.claim("j", 11.0, 2) is Claim.FIRED
    assert await lease.last_tick("j") == 11.0


async def test_shutdown_releases_leadership() -> None:
    """Draining the scheduler gives the lease up and sets the leadership gauge to 0. It says so
    at info: a rolling update hands the lease on at every deploy, and a warning there would
    teach on-call to ignore the one that means the lease was lost."""
    service, _ = _service()
    async with TestService(service, frozen_time=T0) as t:
        await t.jobs.run_until_idle()
        scheduler = service.component("jobs-scheduler")
        lease = scheduler._lease  # type: ignore[attr-defined]
    assert not await lease.renew()
    text = generate_latest(service.metrics.registry).decode()  # type: ignore[attr-defined]
    assert 'job_scheduler_leader{service="shop"} 0.0' in text
    [released] = [e for e in t.logs if e["event"].startswith("scheduler leadership")][1:]
    assert (released["event"], released["level"], released["reason"]) == (
        "scheduler leadership released",
        "info",
        "shutdown",
    )


async def test_the_lease_is_released_as_shutdown_starts_not_after_the_drain_delay() -> None:
    """Shutdown gives the lease up first thing: during the drain delay (readiness
    failing, servers still serving) another replica can already lead."""
    service, _ = _service()
    async with TestService(service, frozen_time=T0, overrides=["shutdown.drain_delay=1"]) as t:
        await t.jobs.run_until_idle()
        scheduler = service.component("jobs-scheduler")
        lease = scheduler._lease  # type: ignore[attr-defined]
        assert scheduler.leader  # type: ignore[attr-defined]
        stopping = asyncio.create_task(service.stop())
        await asyncio.sleep(0.2)
        assert not stopping.done()  # still in the drain delay
        assert not scheduler.leader  # type: ignore[attr-defined]
        assert not await lease.renew()
        assert _leader_gauge(service).endswith(" 0.0")
        await stopping


def _with_schedule(schedule: Schedule) -> JobsDefinition:
    job = dataclasses.replace(DEFINITION.jobs["heartbeat"], schedule=schedule)
    return dataclasses.replace(
        DEFINITION, jobs={**DEFINITION.jobs, "heartbeat": job}, handler_protocol=ShopJobs
    )


async def test_an_invalid_cron_expression_fails_startup_naming_the_job_and_line() -> None:
    """The error names the contract file and line, the job and the expression."""
    service, _ = _service(_with_schedule(Schedule(cron="61 * * * *", source="contracts/jobs.yaml:21")))
    with pytest.raises(
        ValueError, match=r"contracts/jobs.yaml:21: job heartbeat: invalid cron expression '61"
    ):
        async with TestService(service):
            pass


async def test_an_unknown_time_zone_fails_startup_naming_the_job() -> None:
    """A time zone that is not an IANA name fails like a bad expression."""
    schedule = Schedule(cron="0 3 * * *", timezone="Mars/Olympus", source="contracts/jobs.yaml:21")
    service, _ = _service(_with_schedule(schedule))
    with pytest.raises((ValueError, StartupError), match="unknown time zone 'Mars/Olympus'"):
        async with TestService(service):
            pass


def test_a_cron_schedule_reads_in_its_time_zone_across_daylight_saving() -> None:
    """03:30 Paris is 01:30 UTC in summer, 02:30 in winter; the skipped 02:30 of the
    spring change fires at 03:00."""
    cadence = CronCadence("30 3 * * *", "Europe/Paris")
    summer = dt.datetime(2026, 7, 1, tzinfo=dt.UTC).timestamp()
    assert dt.datetime.fromtimestamp(cadence.next_after(summer), dt.UTC).hour == 1
    winter = dt.datetime(2026, 1, 1, tzinfo=dt.UTC).timestamp()
    assert dt.datetime.fromtimestamp(cadence.next_after(winter), dt.UTC).hour == 2
    spring = CronCadence("30 2 * * *", "Europe/Paris")
    eve = dt.datetime(2026, 3, 28, 12, tzinfo=dt.UTC).timestamp()
    fired = dt.datetime.fromtimestamp(spring.next_after(eve), dt.UTC)
    assert (fired.day, fired.hour, fired.minute) == (29, 1, 0)


def test_cadences_count_the_ticks_of_a_gap() -> None:
    """``between`` gives the latest ticks and the count, for intervals and cron alike."""
    assert IntervalCadence(1.0).between(T0, T0 + 10, 3) == ([T0 + 8, T0 + 9, T0 + 10], 10)
    assert IntervalCadence(1.0).between(T0 + 0.5, T0 + 0.9, 3) == ([], 0)
    minute = CronCadence("* * * * *", "UTC")
    assert minute.between(T0, T0 + 600, 2) == ([T0 + 540, T0 + 600], 10)
    seconds = CronCadence("*/15 * * * * *", "UTC")
    assert seconds.between(T0, T0 + 60, 10)[1] == 4
