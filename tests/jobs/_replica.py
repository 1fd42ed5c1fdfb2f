"""One scheduler replica, run as a process by tests/jobs/scheduler_run.py.

It schedules ``beat`` every second; each run records ``tick fence pid
fired_at`` in a Redis list, so the orchestrator sees every tick that fired,
when, which worker ran it and under which fencing token.

Usage: python -m tests.jobs._replica URL NAMESPACE
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping
from typing import Any, Protocol

from pydantic import BaseModel
from redis.asyncio import Redis

from microlib import Service
from microlib.core.errors import Unimplemented
from microlib.jobs import JobContext, JobDefinition, JobsDefinition, Schedule

REDIS_URL = "redis://127.0.0.1:6379/0"


class Beat(BaseModel):
    pass


class BeatJobs(Protocol):
    async def beat(self, payload: Beat, ctx: JobContext) -> None:
        raise Unimplemented("beat")


DEFINITION = JobsDefinition(
    name="soak.jobs",
    version="1",
    handler_protocol=BeatJobs,
    jobs={
        "beat": JobDefinition(
            name="beat",
            python_name="beat",
            payload_type=Beat,
            schedule=Schedule(interval=1.0, source="soak.yaml:3"),
            contract="soak.jobs",
        )
    },
)
BeatJobs.__microlib_jobs__ = DEFINITION  # type: ignore[attr-defined]


class Recorder(BeatJobs):
    def __init__(self, namespace: str) -> None:
        self._key = f"{namespace}:soak:ticks"
        self._redis = Redis.from_url(REDIS_URL)

    async def beat(self, payload: Beat, ctx: JobContext) -> None:
        fence = ctx.call.attributes["job_envelope"].fence
        # enqueued_at: when the leader fired the tick (a tick of a gap fires late).
        line = f"{ctx.tick} {fence} {os.getpid()} {ctx.enqueued_at}"
        await self._redis.rpush(self._key, line)  # type: ignore[misc]


class LeaderFlag:
    """Publishes ``{ns}:soak:leader = pid`` while this replica leads, for the orchestrator."""

    name = "leader-flag"

    def __init__(self, service: Service, namespace: str) -> None:
        self._service = service
        self._key = f"{namespace}:soak:leader"
        self._redis = Redis.from_url(REDIS_URL)
        self._task: asyncio.Task[None] | None = None

    async def _loop(self) -> None:
        scheduler = self._service.component("jobs-scheduler")
        while True:
            if getattr(scheduler, "leader", False):
                await self._redis.set(self._key, os.getpid(), px=500)
            await asyncio.sleep(0.1)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._redis.aclose()

    async def check(self) -> Mapping[str, Any] | None:
        return None


def main() -> None:
    url, namespace = sys.argv[1], sys.argv[2]
    service = Service("soak")
    service.include(Recorder(namespace))
    service.add(LeaderFlag(service, namespace), critical=False)
    service.configure(
        overrides=[
            "http.enabled=false",
            "logging.level=WARNING",
            f"jobs.url={url}",
            f"jobs.namespace={namespace}",
            "jobs.poll_interval=0.1",
            "jobs.scheduler.lease_ttl=2",
            "jobs.scheduler.renew_interval=0.5",
            "jobs.scheduler.missed_ticks=catch_up",
            "jobs.scheduler.max_catch_up=10",
        ]
    )
    service.run()


if __name__ == "__main__":
    main()
