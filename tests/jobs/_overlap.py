"""A scheduled job that can outlast its 1 s interval, and a replica the test kills mid-run.

``report`` ticks every second. ``definition(overlap)`` is its contract with the schedule's
``overlap`` set; ``reports(contract, gate)`` runs it through a :class:`Gate` the test opens.

Usage (the killed replica): python -m tests.jobs._overlap OVERRIDE...; it prints
``started <job id>`` when a run starts, and the run lasts until the process is killed.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from typing import Literal, Protocol

from pydantic import BaseModel

from microlib.core.errors import FailedPrecondition, Unimplemented
from microlib.jobs import JobContext, JobDefinition, JobsDefinition, RetryPolicy, Schedule
from tests.jobs._doomed import serve


class Report(BaseModel):
    pass


class ReportJobs(Protocol):
    async def report(self, payload: Report, ctx: JobContext) -> None:
        raise Unimplemented("report is not implemented")


def definition(overlap: Literal["allow", "skip"], retry: RetryPolicy | None = None) -> JobsDefinition:
    """The contract, its schedule's ``overlap`` as given."""
    job = JobDefinition(
        name="report",
        python_name="report",
        payload_type=Report,
        schedule=Schedule(interval=1.0, overlap=overlap, source="overlap.yaml:5"),
        source="overlap.yaml:3",
        contract="shop.reports",
    )
    if retry is not None:
        job = dataclasses.replace(job, retry=retry)
    return JobsDefinition(name="shop.reports", version="1", jobs={"report": job}, handler_protocol=ReportJobs)


class Gate:
    """Shared by the replicas of a test: the runs that started, how many ran at once at most;
    a run lasts until ``open`` is set (or as long as ``hold`` says), and the attempts of
    ``failing`` raise."""

    def __init__(self) -> None:
        self.started: list[tuple[str, int, float | None]] = []
        self.running = 0
        self.most = 0
        self.open = asyncio.Event()
        self.hold: Callable[[], Awaitable[object]] = self.open.wait
        self.failing: dict[int, Exception] = {}  # attempt -> what that attempt raises

    async def run(self, ctx: JobContext) -> None:
        self.started.append((ctx.id, ctx.attempt, ctx.tick))
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            failure = self.failing.get(ctx.attempt)
            if failure is not None:
                raise failure
            await self.hold()
        finally:
            self.running -= 1


def reports(contract: JobsDefinition, gate: Gate) -> ReportJobs:
    """Handlers of ``contract`` running each run through ``gate``."""

    class Reports(ReportJobs):
        async def report(self, payload: Report, ctx: JobContext) -> None:
            await gate.run(ctx)

    Reports.__microlib_jobs__ = contract  # type: ignore[attr-defined]
    return Reports()


PERMANENT = FailedPrecondition("the report's source is gone")


class Announcing(ReportJobs):
    """The killed replica's handler: says which run started, then runs until killed."""

    async def report(self, payload: Report, ctx: JobContext) -> None:
        print("started", ctx.id, flush=True)
        await asyncio.Event().wait()


Announcing.__microlib_jobs__ = definition("skip")  # type: ignore[attr-defined]


if __name__ == "__main__":
    serve(Announcing())
