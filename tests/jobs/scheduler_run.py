"""Three scheduler replicas, the leader killed with SIGKILL part-way: every tick once.

The suite runs it for 12 seconds (tests/jobs/test_scheduler_replicas.py);
for the issue's two minutes run it by hand::

    python -m tests.jobs.scheduler_run --seconds 120 --store redis
    python -m tests.jobs.scheduler_run --seconds 120 --store postgresql

It prints the ticks, who fired them and the report of :func:`check`.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field

from redis.asyncio import Redis

REDIS_URL = "redis://127.0.0.1:6379/0"
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
"""The PostgreSQL runs use this database; their rows are namespaced."""


@dataclass
class Run:
    """What a run saw: each fired tick with its fencing token, the process that ran it
    and when it was fired."""

    ticks: list[tuple[float, int, int, float]] = field(default_factory=list)
    killed: int = 0
    killed_at: float = 0.0
    started_at: float = 0.0
    stopped_at: float = 0.0


async def _leader_pid(namespace: str) -> int | None:
    redis = Redis.from_url(REDIS_URL)
    try:
        value = await redis.get(f"{namespace}:soak:leader")
    finally:
        await redis.aclose()
    return None if value is None else int(value)


async def _first_tick(namespace: str, timeout: float = 60.0) -> None:
    redis = Redis.from_url(REDIS_URL)
    try:
        async with asyncio.timeout(timeout):
            while not await redis.llen(f"{namespace}:soak:ticks"):  # type: ignore[misc]  # noqa: ASYNC110
                await asyncio.sleep(0.1)
    finally:
        await redis.aclose()


async def run(seconds: float, store: str, *, kill_after: float | None = None) -> Run:
    """Run three replicas for ``seconds``, SIGKILL the leader at ``kill_after``."""
    namespace = f"soak{uuid.uuid4().hex[:8]}"
    url = REDIS_URL if store == "redis" else PG_URL
    env = dict(os.environ)
    procs = []
    for _ in range(3):
        procs.append(
            subprocess.Popen(  # noqa: ASYNC220 - started once, before the loop has work
                [sys.executable, "-m", "tests.jobs._replica", url, namespace],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    result = Run(started_at=time.time())
    kill_after = seconds * 0.4 if kill_after is None else kill_after
    try:
        # The window starts with the first tick: starting three processes takes a while.
        await _first_tick(namespace)
        await asyncio.sleep(kill_after)
        pids = {p.pid for p in procs}
        leader = None
        for _ in range(50):
            leader = await _leader_pid(namespace)
            if leader in pids:
                break
            await asyncio.sleep(0.1)
        assert leader in pids, f"no replica holds the lease (found {leader})"
        os.kill(leader, signal.SIGKILL)
        result.killed, result.killed_at = leader, time.time()
        await asyncio.sleep(seconds - kill_after)
    finally:
        result.stopped_at = time.time()
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    redis = Redis.from_url(REDIS_URL)
    try:
        entries = await redis.lrange(f"{namespace}:soak:ticks", 0, -1)  # type: ignore[misc]
        keys = [k async for k in redis.scan_iter(match=f"{namespace}:*")]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()
    for entry in entries:
        tick, fence, pid, fired = entry.decode().split()
        result.ticks.append((float(tick), int(fence), int(pid), float(fired)))
    return result


def takeover(result: Run) -> float:
    """Seconds from the kill to the first tick fired under a later token than the killed leader's."""
    before = max(fence for _, fence, _, fired in result.ticks if fired < result.killed_at)
    return min(fired for _, fence, _, fired in result.ticks if fence > before) - result.killed_at


def check(result: Run) -> list[str]:
    """What is wrong with a run: duplicates, gaps, tokens going back."""
    problems = []
    ticks = sorted(t for t, _, _, _ in result.ticks)
    duplicates = sorted({t for t in ticks if ticks.count(t) > 1})
    if duplicates:
        problems.append(f"ticks fired more than once: {duplicates}")
    if ticks:
        expected = {ticks[0] + k for k in range(int(ticks[-1] - ticks[0]) + 1)}
        missing = sorted(expected - set(ticks))
        if missing:
            problems.append(f"ticks never fired: {missing}")
    by_tick = sorted(result.ticks)
    for (t1, f1, _, _), (t2, f2, _, _) in itertools.pairwise(by_tick):
        if f2 < f1:
            problems.append(f"tick {t2} fired under token {f2} after tick {t1} under {f1}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--store", choices=["redis", "postgresql"], default="redis")
    args = parser.parse_args()
    result = asyncio.run(run(args.seconds, args.store))
    for tick, fence, pid, fired in sorted(result.ticks):
        print(f"{tick:.0f} token={fence} pid={pid} fired {fired - tick:+.2f}s")
    problems = check(result)
    print(
        f"killed leader pid {result.killed}; {len(result.ticks)} ticks;",
        f"another replica fired {takeover(result):.2f}s after the kill (lease_ttl 2, renew_interval 0.5);",
        "; ".join(problems) or "every tick once",
    )
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
