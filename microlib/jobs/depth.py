"""How many dead letters wait: the ``job_dead_letters`` gauge, read from the queue's store.

The dead-letter queue lives in the store every replica shares (or in this
process for ``memory://``), and shrinks when someone replays or purges it,
perhaps from another process (``microlib jobs dlq``): so it is read, every
``jobs.dead_letter_interval`` seconds, rather than counted as jobs fail.
Every worker replica reports the same number; alerts take the maximum.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import structlog

from microlib.jobs._tasks import cancel_and_wait
from microlib.jobs.queue import JobQueue
from microlib.observability.metrics import Gauge

__all__ = ["DeadLetterDepth"]

log = structlog.get_logger("microlib.jobs")


class DeadLetterDepth:
    """The ``jobs-dead-letters`` component: reads the dead letters' count into a gauge.

    Args:
        queue: The service's queue.
        gauge: The ``job_dead_letters`` gauge, labelled for the service.
        interval: Seconds between reads.
    """

    name = "jobs-dead-letters"

    def __init__(self, queue: JobQueue, gauge: Gauge, *, interval: float) -> None:
        self._queue = queue
        self._gauge = gauge
        self._interval = interval
        self._task: asyncio.Task[None] | None = None
        self.count: int | None = None
        """The last count read, None before the first."""

    async def start(self) -> None:
        """Read now and then every ``interval`` seconds."""
        self._task = asyncio.create_task(self._run(), name="microlib-jobs-dead-letters")

    async def stop(self) -> None:
        """Stop reading."""
        task, self._task = self._task, None
        if task is not None:
            await cancel_and_wait(task)

    async def check(self) -> Mapping[str, Any] | None:
        """The last count (it is a metric, not a health signal)."""
        return {"dead_letters": self.count}

    async def refresh(self) -> int:
        """Read the count once and set the gauge.

        Raises:
            Exception: whatever the store raises (the loop logs it and keeps going).
        """
        count = await self._queue.dead_letter_count()
        self._gauge.set(count)
        self.count = count
        return count

    async def _run(self) -> None:
        while True:
            try:
                await self.refresh()
            except Exception as exc:
                # The last value stays: a store outage is the queue's health check's to report.
                log.warning("reading the dead letters' count failed", error=f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(self._interval)
