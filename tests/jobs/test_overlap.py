"""``schedule.overlap: skip``: a tick whose job's earlier run is still queued or running
enqueues nothing, on every replica of every jobs store; the run frees its job as it ends for
good (done or dead-lettered), a crashed one once another worker ran it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable
from typing import Literal

import pytest

from microlib import Service
from microlib.jobs import RetryPolicy
from microlib.testing import TestService
from tests.jobs._overlap import PERMANENT, Gate, definition, reports
from tests.jobs.conftest import Backend

T0 = 1_800_000_000.0  # a whole second: the 1 s ticks fall on T0 + k


def _service(overlap: Literal["allow", "skip"], gate: Gate, retry: RetryPolicy | None = None) -> Service:
    service = Service("shop")
    service.include(reports(definition(overlap, retry), gate))
    return service


def _skipped(*services: Service) -> float:
    """Ticks the services' schedulers skipped as overlapping (whichever replica led)."""
    labels = {"service": "shop.reports", "job": "report"}
    registries = [s.metrics.registry for s in services]  # type: ignore[attr-defined]
    return sum(r.get_sample_value("job_ticks_skipped_total", labels) or 0.0 for r in registries)


async def _until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    async with asyncio.timeout(timeout):
        # Polled: the condition is the replicas' state, with no event to wait on.
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


@pytest.mark.parametrize(
    ("overlap", "ticks", "most", "skipped"), [("skip", [1, 4, 7], 1, 5), ("allow", list(range(1, 9)), 3, 0)]
)
async def test_a_job_slower_than_its_interval_runs_once_at_a_time_under_skip(
    overlap: Literal["allow", "skip"], ticks: list[int], most: int, skipped: float
) -> None:
    """Runs of 2.5 s on a 1 s schedule, eight ticks, in memory on a frozen clock: under
    ``skip`` a tick fires only once the run before it has ended, the others are counted as
    skipped; under ``allow`` every tick fires and three runs overlap."""
    gate = Gate()
    service = _service(overlap, gate)
    # The runs still going at the end are given back at once: no tick would let them end.
    async with TestService(service, frozen_time=T0, overrides=["shutdown.drain_timeout=0.01"]) as t:
        clock = t.jobs.clock
        gate.hold = lambda: clock.sleep_until(clock.time() + 2.5)
        await t.jobs.run_until_idle()
        for _ in range(8):
            await clock.advance(1)
        assert [tick - T0 for _, _, tick in gate.started if tick is not None] == ticks
        assert (gate.most, _skipped(service)) == (most, skipped)
    if overlap == "skip":
        [first, *_] = [
            e for e in t.logs if e["event"] == "schedule tick skipped: the job's last run has not ended"
        ]
        assert (first["level"], first["job"], first["tick"]) == ("info", "report", T0 + 2)
        assert first["running_job_id"] == gate.started[0][0]


async def test_a_skipped_tick_says_how_long_the_run_has_held_the_key() -> None:
    """A run that never ends (a run the broker lost would look the same) on a 1 s schedule:
    each skipped tick logs how long the run has held the overlap key, and
    ``job_overlap_held_seconds`` says it too, so an alert can tell a schedule stuck behind a
    lost run from a slow one. Before, the skip named the holding job only, not since when."""
    gate = Gate()
    service = _service("skip", gate)
    async with TestService(service, frozen_time=T0, overrides=["shutdown.drain_timeout=0.01"]) as t:
        clock = t.jobs.clock
        await t.jobs.run_until_idle()
        for _ in range(5):
            await clock.advance(1)
        labels = {"service": "shop.reports", "job": "report"}
        held = service.metrics.registry.get_sample_value("job_overlap_held_seconds", labels)  # type: ignore[attr-defined]
    skips = [e for e in t.logs if e["event"] == "schedule tick skipped: the job's last run has not ended"]
    assert [e["held_for_s"] for e in skips] == [1.0, 2.0, 3.0, 4.0]
    assert held == 4.0


async def test_a_retried_run_holds_its_schedule_and_a_dead_lettered_one_frees_it() -> None:
    """Attempt 1 fails (retried 1.5 s later), attempt 2 fails for good: the tick during the
    backoff is skipped, the tick after the dead letter fires."""
    gate = Gate()
    gate.failing = {1: RuntimeError("flaky"), 2: PERMANENT}
    retry = RetryPolicy(max_attempts=2, initial_backoff=1.5, jitter=0.0)
    service = _service("skip", gate, retry)
    async with TestService(service, frozen_time=T0) as t:
        await t.jobs.run_until_idle()
        await t.jobs.advance(3)
        letters = await t.jobs.dead_letters()
    first = gate.started[0][0]
    assert [(job_id == first, attempt, tick) for job_id, attempt, tick in gate.started] == [
        (True, 1, T0 + 1),
        (True, 2, T0 + 1),
        (False, 1, T0 + 3),
    ]
    assert [letter.envelope.id for letter in letters] == [first]
    assert _skipped(service) == 1


@pytest.mark.parametrize("overlap", ["skip", "allow"])
async def test_replicas_run_a_slow_scheduled_job_once_at_a_time_under_skip(
    backend: Backend, overlap: Literal["allow", "skip"]
) -> None:
    """Real time, two replicas on a shared store (one on memory), runs held until the test
    lets them end: under ``skip`` the ticks are skipped while the first run is held, and the
    next tick runs once it ended; under ``allow`` a second run starts beside the first."""
    gate = Gate()
    overrides = [*backend.overrides, "jobs.scheduler.enabled=true"]
    services = [_service(overlap, gate) for _ in range(2 if backend.shared else 1)]
    try:
        async with contextlib.AsyncExitStack() as stack:
            for service in services:
                await stack.enter_async_context(TestService(service, overrides=overrides))
            if overlap == "allow":
                await _until(lambda: gate.running >= 2)
            else:
                await _until(lambda: _skipped(*services) >= 2)
                assert len(gate.started) == 1
                gate.open.set()
                await _until(lambda: len(gate.started) >= 2)
            gate.open.set()
    finally:
        gate.open.set()
    if overlap == "skip":
        assert gate.most == 1
    else:
        assert gate.most >= 2


@pytest.mark.connected
@pytest.mark.parametrize("backend", ["redis", "amqp", "postgresql"], indirect=True)
async def test_the_run_of_a_killed_worker_holds_the_schedule_until_another_ran_it(backend: Backend) -> None:
    """A replica killed (SIGKILL) mid-run: its lease passes to another replica within 1 s, and
    the run to that replica's worker after ``jobs.redelivery_timeout`` (3 s; RabbitMQ: at
    once); the ticks in between are skipped, so the run goes first, and its end frees the
    schedule: the next ticks fire again."""
    overrides = [
        *backend.overrides,
        "jobs.scheduler.enabled=true",
        "jobs.scheduler.lease_ttl=1",
        "jobs.redelivery_timeout=3",
    ]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    doomed = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.jobs._overlap", *overrides, stdout=asyncio.subprocess.PIPE, env=env
    )
    try:
        assert doomed.stdout is not None
        async with asyncio.timeout(30):
            line = await doomed.stdout.readline()
        assert line.startswith(b"started ")
        orphan = line.split()[1].decode()
    finally:
        doomed.send_signal(signal.SIGKILL)
        await doomed.wait()
    gate = Gate()
    gate.open.set()
    service = _service("skip", gate)
    async with TestService(service, overrides=overrides):
        await _until(lambda: len({job_id for job_id, _, _ in gate.started}) >= 2)
    assert gate.started[0][:2] == (orphan, 1)
    assert gate.most == 1
