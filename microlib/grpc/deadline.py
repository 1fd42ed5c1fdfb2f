"""The ``deadline`` slot: the caller's deadline bounds the handler.

gRPC already fails the call for the client when its deadline passes; this
interceptor also stops the server-side work at that moment and reports it as
DEADLINE_EXCEEDED rather than letting a handler run on for nobody. It is
transport-neutral: any call whose context carries a deadline is bounded.
"""

from __future__ import annotations

import asyncio
from typing import Any

from microlib.core.chain import CallNext
from microlib.core.context import CallContext
from microlib.core.errors import DeadlineExceeded

__all__ = ["DeadlineInterceptor"]


class DeadlineInterceptor:
    """Cancels the rest of the chain when ``ctx.deadline`` passes."""

    async def intercept(self, ctx: CallContext, call_next: CallNext) -> Any:
        """Run the rest of the chain within the time the caller left.

        Raises:
            DeadlineExceeded: the deadline passed before the handler finished.
        """
        deadline = ctx.deadline
        if deadline is None:
            return await call_next(ctx)
        # CallContext deadlines are time.monotonic() values, the clock of
        # asyncio's loops (uvloop's too): no conversion, one clock read less.
        timeout = asyncio.timeout_at(deadline)
        try:
            async with timeout:
                return await call_next(ctx)
        except TimeoutError:
            if not timeout.expired():
                raise
            raise DeadlineExceeded(f"deadline of {ctx.full_method} expired") from None
