"""An interceptor that runs each call inside one database transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from microlib.core.chain import CallNext
    from microlib.core.context import CallContext
    from microlib.data.database import Database

__all__ = ["UnitOfWork"]


class UnitOfWork:
    """Open a transaction around each call; commit if the handler returns.

    Install it in the chain's ``user`` slot (``Service(interceptors=[...])``
    or ``service.chain.install("user", UnitOfWork(db))``); the handler then
    reaches the session with ``db.current_session()``. An error raised by
    the handler rolls everything back, and a streamed response is written
    inside the transaction.

    Args:
        database: The database whose transaction wraps each call.
        applies: Which calls get a transaction (by default all of them),
            e.g. ``lambda ctx: not ctx.method.startswith("Get")``.
    """

    def __init__(self, database: Database, *, applies: Callable[[CallContext], bool] | None = None) -> None:
        self._database = database
        self._applies = applies

    async def intercept(self, ctx: CallContext, call_next: CallNext) -> Any:
        """Run ``call_next(ctx)`` in a transaction of the database."""
        if self._applies is not None and not self._applies(ctx):
            return await call_next(ctx)
        async with self._database.transaction():
            return await call_next(ctx)
