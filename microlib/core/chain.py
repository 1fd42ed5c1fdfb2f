"""One ordered interceptor list shared by HTTP, gRPC, messaging and jobs.

As in Starlette's middleware list, the first interceptor runs outermost. The
chain is composed once per method when it is registered, so a call costs one
function call per interceptor and nothing else.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, runtime_checkable

from microlib.core.context import CallContext, _bind, _unbind

__all__ = ["SLOTS", "CallNext", "Chain", "Interceptor", "compose"]

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
    # A plain function handing back the interceptor's coroutine: an async
    # wrapper would add a coroutine and an await per interceptor per call.
    return lambda ctx: intercept(ctx, call_next)


SLOTS = (
    "request_id",
    "recovery",
    "tracing",
    "metrics",
    "logging",
    "user",
    "authn",
    "authz",
    "deadline",
    "validation",
)
"""The chain's slots, outermost first: errors are caught around everything,
and validation runs last, right before the handler."""


class Chain:
    """The service's interceptors, kept in named slots in a fixed order.

    Framework features install into their slot (observability into
    ``tracing``, security into ``authn``...); the user's own interceptors
    fill the ``user`` slot, in the order given. Transports call
    :meth:`wrap` once per method when they register it.

    Args:
        user: The user's interceptors, outermost first.
        disabled: Slots to leave empty whatever is installed into them.
    """

    def __init__(self, user: Sequence[Interceptor] = (), *, disabled: Sequence[str] = ()) -> None:
        unknown = sorted(set(disabled) - set(SLOTS))
        if unknown:
            raise ValueError(f"unknown chain slot(s) {unknown}; the slots are {list(SLOTS)}")
        self._slots: dict[str, list[Interceptor]] = {slot: [] for slot in SLOTS}
        self._slots["user"].extend(user)
        self._disabled = frozenset(disabled)
        self._frozen = False

    def install(self, slot: str, interceptor: Interceptor) -> None:
        """Append ``interceptor`` to ``slot``.

        Raises:
            ValueError: if ``slot`` is not one of :data:`SLOTS`.
            RuntimeError: once the chain has served a call.
        """
        if slot not in self._slots:
            raise ValueError(f"unknown chain slot {slot!r}; the slots are {list(SLOTS)}")
        if self._frozen:
            raise RuntimeError("the chain has already served a call; install interceptors before starting")
        self._slots[slot].append(interceptor)

    @property
    def interceptors(self) -> list[Interceptor]:
        """Every active interceptor, outermost first."""
        return [i for slot in SLOTS if slot not in self._disabled for i in self._slots[slot]]

    def wrap(self, handler: CallNext) -> CallNext:
        """Compose the active interceptors around ``handler``.

        Routes are declared before the service installs its interceptors,
        so the composition happens on the first call; from then on the
        chain is frozen and :meth:`install` refuses.
        """
        composed: CallNext | None = None

        def call(ctx: CallContext) -> Awaitable[Any]:
            nonlocal composed
            if composed is None:
                self._frozen = True
                composed = compose(self.interceptors, handler)
            return composed(ctx)

        return call
