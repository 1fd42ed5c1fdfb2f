"""Broker commands issued in the same turn of the event loop, sent as one batch.

Concurrent handlers finish, and concurrent publishers send, within the same
turn of the loop; a broker client pays a round trip (and a pooled
connection, a frame, a parse) per command. A :class:`Batch` gathers the
items submitted during one turn and hands them to one ``send`` call at the
start of the next, while each submitter still awaits its own outcome: a
publish returns once the broker answered for its message, an
acknowledgement once the broker has it, exactly as when sent alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

__all__ = ["Batch"]

Item = TypeVar("Item")
Result = TypeVar("Result")


class Batch(Generic[Item, Result]):
    """Gathers items for one turn of the loop, then sends them together.

    Args:
        send: Sends a batch; returns one outcome per item, in order (a
            result, or the exception that item failed with). Raising fails
            every item of the batch with that exception.
    """

    def __init__(
        self,
        send: Callable[[list[Item]], Awaitable[Sequence[Result | BaseException]]],
    ) -> None:
        self._send = send
        self._items: list[Item] = []
        self._waiters: list[asyncio.Future[Result]] = []
        self._sending: set[asyncio.Task[None]] = set()
        # The task that will take the batch being gathered.
        self._gathering: asyncio.Task[None] | None = None
        # Items being sent at once, in their submitters' tasks (see send_at_once).
        self._at_once = 0

    @property
    def gathering(self) -> bool:
        """Whether items submitted in this turn wait for their batch to be sent."""
        return bool(self._items)

    @property
    def idle(self) -> bool:
        """Whether no batch is being gathered or sent."""
        return not self._items and not self._sending

    def send_at_once(self, item: Item) -> Awaitable[Result]:
        """Send ``item`` alone, in the caller's task, when nothing would go with it; else submit it.

        Nothing goes with it when no batch is being gathered and no other item
        is being sent at once: the usual case of one handler returning at a
        time then costs no task and no turn of the loop. Items arriving
        meanwhile are gathered as by :meth:`submit`.
        """
        if self._items or self._at_once:
            return self.submit(item)
        self._at_once += 1
        return self._alone(item)

    async def _alone(self, item: Item) -> Result:
        try:
            [outcome] = await self._send([item])
        finally:
            self._at_once -= 1
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def submit(self, item: Item) -> asyncio.Future[Result]:
        """Queue ``item`` for this turn's batch; the future gets its outcome."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Result] = loop.create_future()
        if not self._items:
            # A task's first step runs at the next turn: it takes what this
            # turn gathered (one scheduled callback, not a callback and a task).
            task = self._gathering = loop.create_task(self._run())
            # Held until done: the loop keeps only weak references to tasks.
            self._sending.add(task)
            task.add_done_callback(self._done)
        self._items.append(item)
        self._waiters.append(waiter)
        return waiter

    def _done(self, task: asyncio.Task[None]) -> None:
        self._sending.discard(task)
        if self._gathering is task:
            # Cancelled before its first step (the loop shutting down): its
            # batch was never taken, and is cancelled with it.
            self._gathering = None
            waiters, self._items, self._waiters = self._waiters, [], []
            for waiter in waiters:
                waiter.cancel()

    async def _run(self) -> None:
        self._gathering = None
        items, waiters = self._items, self._waiters
        self._items, self._waiters = [], []
        try:
            outcomes = await self._send(items)
        except BaseException as exc:  # every item failed with it, cancellation included
            for waiter in waiters:
                if waiter.done():
                    continue
                if isinstance(exc, asyncio.CancelledError):
                    waiter.cancel()
                else:
                    waiter.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for waiter, outcome in zip(waiters, outcomes, strict=True):
            if waiter.done():  # its submitter gave up waiting (a timeout)
                continue
            if isinstance(outcome, BaseException):
                waiter.set_exception(outcome)
            else:
                waiter.set_result(outcome)
