"""One ordered interceptor list shared by HTTP, gRPC, messaging and jobs.

As in Starlette's middleware list, the first interceptor runs outermost. The
chain is composed once per method when it is registered, so a call costs one
function call per interceptor and nothing else.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, runtime_checkable

from microlib.core.context import CallContext, _bind, _unbind

__all__ = ["CallNext", "Interceptor", "compose"]

CallNext = Callable[[CallContext], Awaitable[Any]]
"""Calls the rest of the chain (and finally the handler) with a context."""


@runtime_checkable
class Interceptor(Protocol):
    """Something that runs around every call.

    A streaming response is pushed through ``ctx.send`` inside the call, so
    ``call_next`` returns only once the whole stream is written: an
    interceptor that times or counts calls covers streams unchanged.
    """

    async def intercept(self, ctx: CallContext, call_next: CallNext) -> Any:
        """Handle ``ctx``, usually by awaiting ``call_next(ctx)``."""
        ...


def compose(interceptors: Sequence[Interceptor], handler: CallNext) -> CallNext:
    """Wrap ``handler`` in ``interceptors``, the first one outermost.

    The returned callable binds the context to the current task, so
    ``current_context()`` works in the handler and everything it calls.
    """
    call: CallNext = handler
    for interceptor in reversed(interceptors):
        call = _link(interceptor, call)

    async def run(ctx: CallContext) -> Any:
        token = _bind(ctx)
        try:
            return await call(ctx)
        finally:
            _unbind(token)

    return run


def _link(interceptor: Interceptor, call_next: CallNext) -> CallNext:
    intercept = interceptor.intercept

    async def call(ctx: CallContext) -> Any:
        return await intercept(ctx, call_next)

    return call
