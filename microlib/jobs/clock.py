"""The clock jobs and schedules read: the system's, or a frozen one in tests."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from typing import Protocol

__all__ = ["Clock", "FrozenClock", "SystemClock"]


class Clock(Protocol):
    """Wall-clock time (Unix seconds) and sleeping until a moment of it."""

    def time(self) -> float:
        """The current Unix time."""
        ...

    async def sleep_until(self, when: float) -> None:
        """Return at ``when`` (at once if it has passed)."""
        ...


class SystemClock:
    """The system's clock."""

    def time(self) -> float:
        """The current Unix time."""
        return time.time()

    async def sleep_until(self, when: float) -> None:
        """Sleep until ``when``."""
        await asyncio.sleep(max(0.0, when - time.time()))


class FrozenClock:
    """A clock that moves only when told to; sleepers wake as it passes them.

    Args:
        start: The Unix time it shows first.
    """

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def time(self) -> float:
        """The frozen Unix time."""
        return self._now

    async def sleep_until(self, when: float) -> None:
        """Wait until the clock is advanced to ``when`` or beyond."""
        if when <= self._now:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (when, next(self._order), future))
        await future

    async def advance(self, seconds: float) -> None:
        """Move the clock forward, waking every sleeper it passes, in time order.

        Each sleeper woken runs (and may schedule more sleeps) before the
        clock moves past the next one.
        """
        if seconds < 0:
            raise ValueError("a frozen clock only moves forward")
        target = self._now + seconds
        while self._sleepers and self._sleepers[0][0] <= target:
            when, _, future = heapq.heappop(self._sleepers)
            self._now = max(self._now, when)
            if not future.done():
                future.set_result(None)
            await _settle()
        self._now = target
        await _settle()

    async def jump(self, seconds: float) -> None:
        """Move the clock forward at once, as a paused process sees it: every
        sleeper it passes wakes afterwards, at the new time."""
        if seconds < 0:
            raise ValueError("a frozen clock only moves forward")
        self._now += seconds
        while self._sleepers and self._sleepers[0][0] <= self._now:
            future = heapq.heappop(self._sleepers)[2]
            if not future.done():
                future.set_result(None)
        await _settle()


async def _settle() -> None:
    # Let woken tasks run until they block again.
    for _ in range(20):
        await asyncio.sleep(0)
