"""One timer for every call's time budget, instead of one timer per call.

``asyncio.timeout`` schedules a timer per call and cancels it when the call
ends: a heap push, a context copy and a cancelled handle for the loop to
purge, on every call. Every call one watchdog keeps (the requests of the
HTTP timeout, the publishes of a messaging publisher) has the same budget,
so deadlines come in the order calls start: a periodic check reads them
from the oldest and stops at the first that is not due.
"""

from __future__ import annotations

import asyncio
from time import monotonic
from typing import Any

from microlib.core.errors import CANCELLED_BY_DEADLINE

__all__ = ["Watchdog"]


class Watchdog:
    """Cancels watched tasks that outlive ``seconds``, checking every tenth of it (at most every second).

    A task is cancelled between ``seconds`` and ``seconds`` plus the check
    interval after it was watched.

    Args:
        seconds: The budget of each watched task.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._interval = min(1.0, seconds / 10)
        self._loop: asyncio.AbstractEventLoop | None = None
        # Insertion order is deadline order: the budget is the same for all.
        self._deadlines: dict[asyncio.Task[Any], float] = {}
        self.watched = self._deadlines
        """Each task watched and not yet released nor expired, with its deadline
        (``time.monotonic()``). A task of :attr:`armed_on` may be put here with its
        deadline rather than through :meth:`watch`, and a task popped from here had no
        cancellation from the watchdog to withdraw (no :meth:`release` needed)."""
        self.armed_on: asyncio.AbstractEventLoop | None = None
        """The loop whose check is scheduled, if any: all :meth:`watch` would do for a task
        of that loop is to put it in :attr:`watched`."""
        self._expired: set[asyncio.Task[Any]] = set()
        self._timer: asyncio.TimerHandle | None = None

    def watch(self, task: asyncio.Task[Any]) -> None:
        """Start the budget of ``task``, a task of the running loop."""
        loop = task.get_loop()
        if loop is not self._loop:
            # A new event loop (tests run one each): the old one's tasks are gone.
            self._loop = loop
            self._deadlines.clear()
            self._expired.clear()
            self._timer = self.armed_on = None
        # The clock asyncio's loop.time() reads, without that method's frame; _check reads the same.
        self._deadlines[task] = monotonic() + self.seconds
        if self._timer is None:
            self._timer = loop.call_later(self._interval, self._check)
            self.armed_on = loop

    def expired(self, task: asyncio.Task[Any]) -> bool:
        """Whether ``task`` was cancelled because its budget ran out."""
        return task in self._expired

    def expired_alone(self, task: asyncio.Task[Any], cancelling: int) -> bool:
        """Whether ``task``'s cancellation is the budget's, and only the budget's
        (``asyncio.timeout``'s rule), ``cancelling`` being ``task.cancelling()``
        when it was watched: someone else cancelling too (shutdown, a client
        gone) wins."""
        return task in self._expired and task.cancelling() <= cancelling + 1

    def release(self, task: asyncio.Task[Any]) -> None:
        """Stop watching ``task``; withdraw its cancellation if the budget ran out."""
        if self._deadlines.pop(task, None) is None and task in self._expired:
            self._expired.discard(task)
            task.uncancel()

    def _check(self) -> None:
        loop = self._loop
        assert loop is not None
        now = monotonic()
        due = []
        for task, deadline in self._deadlines.items():
            if deadline > now:
                break
            due.append(task)
        for task in due:
            del self._deadlines[task]
            self._expired.add(task)
            task.cancel(CANCELLED_BY_DEADLINE)
        self._timer = loop.call_later(self._interval, self._check) if self._deadlines else None
        self.armed_on = loop if self._timer is not None else None
