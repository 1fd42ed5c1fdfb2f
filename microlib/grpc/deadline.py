"""The ``deadline`` slot: the caller's deadline bounds the handler.

gRPC already fails the call for the client when its deadline passes; this
interceptor also stops the server-side work at that moment and reports it as
DEADLINE_EXCEEDED rather than letting a handler run on for nobody. It is
transport-neutral: any call whose context carries a deadline is bounded.

A gRPC call needs no timer of ours: grpc core cancels the call at its
deadline and grpc.aio then cancels the handler's task, so for gRPC calls the
stage only reports that cancellation as DEADLINE_EXCEEDED (see
:meth:`DeadlineInterceptor.for_kind`).
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import math
import time
from heapq import heapify, heappop, heappush
from typing import Any

from microlib.core.chain import Stage
from microlib.core.context import CallContext
from microlib.core.errors import DeadlineExceeded

__all__ = ["DeadlineInterceptor"]

# Disarmed timers a loop's queue keeps before it sweeps them out (when they
# are also half of it), as asyncio does with its cancelled timer handles.
_SWEEP_AFTER = 64
# The loop timer runs in a context of its own, not holding on to the call's that armed it.
_NO_CONTEXT = contextvars.Context()


class DeadlineInterceptor(Stage):
    """Cancels the rest of the chain when ``ctx.deadline`` passes."""

    # Without a deadline (most HTTP requests, messages and jobs) there is no timer to arm
    # nor to disarm.
    exit_needs_state = True
    enter_needs = "deadline"

    def __init__(self) -> None:
        # The queue of the loop that ran the last call: a service has one.
        self._queue: _Queue | None = None

    def for_kind(self, kind: str) -> Stage:
        """For gRPC calls, the stage that reports grpc core's cancellation at the deadline.

        grpc core cancels a call when its deadline passes (grpc.aio then
        cancels the handler's task): a timer of ours would only race it.
        Other kinds (HTTP's ``X-Request-Timeout``, jobs) keep the timer.
        """
        return _CORE_DEADLINE if kind == "grpc" else self

    def enter(self, ctx: CallContext) -> _Timer | None:
        """Arm a timer that cancels the call's task at ``ctx.deadline``."""
        deadline = ctx.deadline
        if deadline is None:
            return None
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("a deadline needs the call to run in an asyncio task")
        queue = self._queue
        loop = task.get_loop()
        if queue is None or queue.loop is not loop:
            queue = self._queue = _Queue(loop)
        return queue.arm(task, deadline)

    def exit(
        self, ctx: CallContext, state: _Timer | None, failure: BaseException | None
    ) -> BaseException | None:
        """Disarm the timer; the cancellation it caused becomes ``DeadlineExceeded``."""
        if state is None or not state.disarm(failure):
            return None
        return _expired(ctx)


class _CoreDeadline(Stage):
    """A gRPC call's deadline, which grpc core enforces: no timer, only the outcome.

    The call's task is cancelled by grpc.aio when core cancels the call: at
    its deadline, or when the caller cancels or goes away. A cancellation
    once the deadline has passed ends the call as timed out.
    """

    # A success has nothing to report.
    exit_needs_failure = True

    def exit(self, ctx: CallContext, state: None, failure: BaseException | None) -> BaseException | None:
        """The cancellation at or after ``ctx.deadline`` becomes ``DeadlineExceeded``."""
        deadline = ctx.deadline
        if deadline is None or not isinstance(failure, asyncio.CancelledError) or time.monotonic() < deadline:
            return None
        return _expired(ctx)


_CORE_DEADLINE = _CoreDeadline()


def _expired(ctx: CallContext) -> DeadlineExceeded:
    expired = DeadlineExceeded(f"deadline of {ctx.full_method} expired")
    expired.__suppress_context__ = True
    return expired


class _Timer:
    """One call's deadline, with ``asyncio.timeout_at``'s rules.

    The timer cancels the task; on the way out the cancellation it asked for
    is withdrawn (``uncancel``), and only when no one else cancelled the task
    too does the call end as timed out rather than cancelled.
    """

    __slots__ = ("cancelling", "expired", "queue", "task")

    def __init__(self, task: asyncio.Task[Any], queue: _Queue) -> None:
        self.task: asyncio.Task[Any] | None = task
        self.queue = queue
        self.cancelling = task.cancelling()
        self.expired = False

    def expire(self) -> None:
        self.expired = True
        assert self.task is not None
        self.task.cancel()

    def disarm(self, failure: BaseException | None) -> bool:
        """Stop the timer; whether the call ended because it expired."""
        task = self.task
        assert task is not None
        if not self.expired:
            # It stays queued until swept, without the task (done by now).
            self.task = None
            self.queue.disarmed()
            return False
        return task.uncancel() <= self.cancelling and isinstance(failure, asyncio.CancelledError)


class _Queue:
    """One loop's call deadlines behind a single loop timer.

    A loop timer per call costs its handle, a push onto the loop's heap and a
    cancellation nearly every time (calls end before their deadline); here a
    call pushes a tuple onto a heap of its own, and the loop timer, armed for
    the earliest deadline, is moved only when an earlier one comes. When it
    fires, the calls due by then are cancelled, in deadline order, as their
    own timers would have been.
    """

    __slots__ = ("dead", "handle", "heap", "loop", "order", "when")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.heap: list[tuple[float, int, _Timer]] = []
        self.order = itertools.count()  # ties in arming order, never comparing timers
        self.handle: asyncio.TimerHandle | None = None
        self.when = math.inf  # when the handle fires
        self.dead = 0  # disarmed timers still in the heap

    def arm(self, task: asyncio.Task[Any], deadline: float) -> _Timer:
        timer = _Timer(task, self)
        heappush(self.heap, (deadline, next(self.order), timer))
        if deadline < self.when:
            self._schedule(deadline)
        return timer

    def disarmed(self) -> None:
        self.dead += 1
        if self.dead > _SWEEP_AFTER and self.dead * 2 > len(self.heap):
            heap = self.heap
            heap[:] = [entry for entry in heap if entry[2].task is not None]
            heapify(heap)
            self.dead = 0

    def _schedule(self, when: float) -> None:
        if self.handle is not None:
            self.handle.cancel()
        self.when = when
        # CallContext deadlines are time.monotonic() values, the clock of
        # asyncio's loops (uvloop's too): no conversion, one clock read less.
        self.handle = self.loop.call_at(when, self._fire, context=_NO_CONTEXT)

    def _fire(self) -> None:
        # Due: whatever the loop ran this handle for, and anything since.
        due = max(self.when, self.loop.time())
        self.handle = None
        self.when = math.inf
        heap = self.heap
        while heap:
            deadline, _, timer = heap[0]
            if timer.task is None:
                heappop(heap)
                self.dead -= 1
            elif deadline <= due:
                heappop(heap)
                timer.expire()
            else:
                self._schedule(deadline)
                break
