"""The calls a gRPC server is running, so its drain can end those that outstay it.

grpc.aio cancels the calls left when a stop's grace period ends, and its
clients then see ``CANCELLED``. The drain ends them itself a moment before,
so each answers ``UNAVAILABLE`` (safe to retry elsewhere) instead.
"""

from __future__ import annotations

import asyncio

from microlib.core.errors import CANCELLED_BY_SHUTDOWN

__all__ = ["InFlight"]


class InFlight:
    """The tasks of the calls in progress."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[object]] = set()
        # Made by a drain that waits for the calls to end, set by the last one:
        # the calls themselves only add and remove their task.
        self._idle: asyncio.Event | None = None
        self.expired = False
        """Whether the drain's budget ended: a cancelled call was cancelled by it."""

    def begin(self) -> asyncio.Task[object]:
        """Count the current task as a call in progress, until :meth:`end`.

        A pair of calls rather than a context manager: its generator would
        cost as much as the rest of the bookkeeping, on every call.
        """
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        return task

    def end(self, task: asyncio.Task[object]) -> None:
        """The call of ``task`` has ended."""
        tasks = self._tasks
        tasks.discard(task)
        if not tasks and self._idle is not None:
            self._idle.set()

    async def expire(self, timeout: float) -> int:
        """Wait up to ``timeout`` s for every call to end, then cancel the rest.

        Returns:
            How many calls were cancelled; they have ended (or had a second
            to) when this returns.
        """
        if not self._tasks:
            return 0
        idle = self._idle = asyncio.Event()
        try:
            async with asyncio.timeout(timeout):
                await idle.wait()
            return 0
        except TimeoutError:
            pass
        self.expired = True
        left = list(self._tasks)
        for task in left:
            task.cancel(CANCELLED_BY_SHUTDOWN)
        await asyncio.wait(left, timeout=1.0)
        return len(left)
