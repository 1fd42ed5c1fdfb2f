"""A jobs contract written as ``microlib codegen`` writes one, and a handler for it."""

from __future__ import annotations

import asyncio
from typing import Protocol

from pydantic import BaseModel, Field

from microlib.core.errors import FailedPrecondition, Unimplemented
from microlib.jobs import (
    JobContext,
    JobDefinition,
    JobHandle,
    Jobs,
    JobsDefinition,
    RetryPolicy,
    Schedule,
)


class Line(BaseModel):
    sku: str
    qty: int = Field(ge=1)


class Receipt(BaseModel):
    order_id: str
    lines: list[Line] = Field(default_factory=list)
    crash_times: int = 0
    sleep: float = 0.0
    permanent: bool = False


class Total(BaseModel):
    order_id: str
    items: int


class Tick(BaseModel):
    label: str = "tick"


class ShopJobs(Protocol):
    async def send_receipt(self, payload: Receipt, ctx: JobContext) -> Total:
        raise Unimplemented("send_receipt is not implemented")

    async def heartbeat(self, payload: Tick, ctx: JobContext) -> None:
        raise Unimplemented("heartbeat is not implemented")


FAST = RetryPolicy(max_attempts=3, initial_backoff=0.2, max_backoff=10.0, multiplier=2.0, jitter=0.0)

DEFINITION = JobsDefinition(
    name="shop.jobs",
    version="1.0.0",
    handler_protocol=ShopJobs,
    source="tests/jobs/jobs.yaml",
    jobs={
        "send_receipt": JobDefinition(
            name="send_receipt",
            python_name="send_receipt",
            payload_type=Receipt,
            result_type=Total,
            queue="mail",
            retry=FAST,
            timeout=0.5,
            source="tests/jobs/jobs.yaml:4",
            contract="shop.jobs",
        ),
        "heartbeat": JobDefinition(
            name="heartbeat",
            python_name="heartbeat",
            payload_type=Tick,
            schedule=Schedule(interval=1.0, payload={"label": "hb"}, source="tests/jobs/jobs.yaml:20"),
            source="tests/jobs/jobs.yaml:18",
            contract="shop.jobs",
        ),
    },
)


ShopJobs.__microlib_jobs__ = DEFINITION  # type: ignore[attr-defined]


class ShopJobsEnqueuer:
    def __init__(self, jobs: Jobs) -> None:
        self._jobs = jobs

    async def send_receipt(
        self, payload: Receipt, *, delay: float | None = None, idempotency_key: str | None = None
    ) -> JobHandle[Total]:
        return await self._jobs.enqueue(
            DEFINITION.jobs["send_receipt"], payload, delay=delay, idempotency_key=idempotency_key
        )

    async def heartbeat(self, payload: Tick) -> JobHandle[None]:
        return await self._jobs.enqueue(DEFINITION.jobs["heartbeat"], payload)


class Handlers(ShopJobs):
    """Records every run; crashes, sleeps or fails as the payload says."""

    def __init__(self) -> None:
        self.runs: list[tuple[str, int, JobContext]] = []
        self.ticks: list[float | None] = []
        self.started = asyncio.Event()
        self.cancelled: list[str] = []

    async def send_receipt(self, payload: Receipt, ctx: JobContext) -> Total:
        self.runs.append((payload.order_id, ctx.attempt, ctx))
        self.started.set()
        if payload.permanent:
            raise FailedPrecondition(f"order {payload.order_id} is closed")
        if ctx.attempt <= payload.crash_times:
            raise RuntimeError(f"crash {ctx.attempt}")
        if payload.sleep:
            try:
                await asyncio.sleep(payload.sleep)
            except asyncio.CancelledError:
                self.cancelled.append(payload.order_id)
                raise
        return Total(order_id=payload.order_id, items=sum(line.qty for line in payload.lines))

    async def heartbeat(self, payload: Tick, ctx: JobContext) -> None:
        self.ticks.append(ctx.tick)
