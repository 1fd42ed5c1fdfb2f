"""JobsHarness: run a service's jobs in memory in a test, on a clock the test moves."""

from __future__ import annotations

import asyncio

from microlib.jobs import DeadLetter, FrozenClock, Jobs, MemoryQueue

__all__ = ["JobsHarness"]


class JobsHarness:
    """The jobs of a service under test (``t.jobs``).

    Enqueue through the generated enqueuers as the service does; then
    :meth:`run_until_idle` runs every job that is due, and :meth:`advance`
    moves the frozen clock, firing the schedules' ticks and the retry
    backoffs it passes.

    Args:
        jobs: The service's jobs.
    """

    __test__ = False

    def __init__(self, jobs: Jobs) -> None:
        self._jobs = jobs

    @property
    def clock(self) -> FrozenClock:
        """The frozen clock.

        Raises:
            RuntimeError: the service runs on the system clock
                (``TestService(..., frozen_time=False)``).
        """
        clock = self._jobs.clock
        if not isinstance(clock, FrozenClock):
            raise RuntimeError("time is not frozen: use TestService(service, frozen_time=True)")
        return clock

    def _memory(self) -> MemoryQueue:
        queue = self._jobs.queue
        if not isinstance(queue, MemoryQueue):
            raise RuntimeError("run_until_idle needs the in-memory queue (jobs.url memory://)")
        return queue

    async def run_until_idle(self, timeout: float = 10.0) -> None:
        """Wait until no job is due or running (delayed jobs stay delayed).

        Raises:
            TimeoutError: jobs still ran after ``timeout`` seconds.
        """
        queue = self._memory()
        worker = self._jobs.worker
        async with asyncio.timeout(timeout):
            while True:
                for _ in range(5):
                    await asyncio.sleep(0)
                if queue.ready() == 0 and (worker is None or worker.running == 0):
                    return
                await asyncio.sleep(0.001)

    async def advance(self, seconds: float) -> None:
        """Move the frozen clock forward, then run what came due."""
        await self.clock.advance(seconds)
        await self.run_until_idle()

    async def jump(self, seconds: float) -> None:
        """Move the frozen clock at once, as a paused process sees it, then run what came due."""
        await self.clock.jump(seconds)
        await self.run_until_idle()

    async def dead_letters(self) -> list[DeadLetter]:
        """The dead-letter queue, oldest first."""
        return await self._jobs.queue.dead_letters()
