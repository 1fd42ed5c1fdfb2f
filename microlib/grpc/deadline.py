"""The ``deadline`` slot: the caller's deadline bounds the handler.

gRPC already fails the call for the client when its deadline passes; this
interceptor also stops the server-side work at that moment and reports it as
DEADLINE_EXCEEDED rather than letting a handler run on for nobody. It is
transport-neutral: any call whose context carries a deadline is bounded.
"""

from __future__ import annotations

import asyncio
from typing import Any

from microlib.core.chain import Stage
from microlib.core.context import CallContext
from microlib.core.errors import DeadlineExceeded

__all__ = ["DeadlineInterceptor"]


class DeadlineInterceptor(Stage):
    """Cancels the rest of the chain when ``ctx.deadline`` passes."""

    def enter(self, ctx: CallContext) -> _Timer | None:
        """Arm a timer that cancels the call's task at ``ctx.deadline``."""
        deadline = ctx.deadline
        if deadline is None:
            return None
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("a deadline needs the call to run in an asyncio task")
        return _Timer(task, deadline)

    def exit(
        self, ctx: CallContext, state: _Timer | None, failure: BaseException | None
    ) -> BaseException | None:
        """Disarm the timer; the cancellation it caused becomes ``DeadlineExceeded``."""
        if state is None or not state.disarm(failure):
            return None
        expired = DeadlineExceeded(f"deadline of {ctx.full_method} expired")
        expired.__suppress_context__ = True
        return expired


class _Timer:
    """``asyncio.timeout_at`` without its two coroutines per call, same rules.

    The timer cancels the task; on the way out the cancellation it asked for
    is withdrawn (``uncancel``), and only when no one else cancelled the task
    too does the call end as timed out rather than cancelled.
    """

    __slots__ = ("cancelling", "expired", "handle", "task")

    def __init__(self, task: asyncio.Task[Any], deadline: float) -> None:
        self.task = task
        self.cancelling = task.cancelling()
        self.expired = False
        # CallContext deadlines are time.monotonic() values, the clock of
        # asyncio's loops (uvloop's too): no conversion, one clock read less.
        self.handle = asyncio.get_running_loop().call_at(deadline, self._expire)

    def _expire(self) -> None:
        self.expired = True
        self.task.cancel()

    def disarm(self, failure: BaseException | None) -> bool:
        """Stop the timer; whether the call ended because it expired."""
        self.handle.cancel()
        if not self.expired:
            return False
        return self.task.uncancel() <= self.cancelling and isinstance(failure, asyncio.CancelledError)
