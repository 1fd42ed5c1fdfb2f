"""Units of work: ``async with db.transaction() as session:``.

A transaction commits when its block succeeds and rolls back when anything
escapes it, ``asyncio.CancelledError`` included. A block opened inside
another one of the same database, in the same task, becomes a SAVEPOINT.

The open transaction lives in a context variable together with the task
that opened it. A task created inside a transaction inherits a copy of the
variable, but never the session: it gets a transaction of its own, because
an ``AsyncSession`` must not be used by two tasks at once.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import exc as sa_exc

from microlib.data.errors import map_db_errors

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

__all__ = ["AfterCommit", "BeforeCommit", "Transaction", "current_transaction", "open_transaction"]

BeforeCommit = Callable[["AsyncSession"], Awaitable[None]]
"""Runs inside the transaction, right before COMMIT (an outbox writes here)."""

AfterCommit = Callable[[], Awaitable[None] | None]
"""Runs once the transaction is committed (wake a relay, publish an event)."""

log = structlog.get_logger("microlib.data")

_current: ContextVar[Transaction | None] = ContextVar("microlib_transaction", default=None)


class Transaction:
    """The open unit of work of one task: its session and its commit hooks.

    Args:
        session: The session every block of the transaction shares.
        owner: The object that opened it (the ``Database``).
    """

    __slots__ = ("_after", "_before", "owner", "session", "task")

    def __init__(self, session: AsyncSession, owner: object) -> None:
        self.session = session
        self.owner = owner
        self.task = asyncio.current_task()
        self._before: list[BeforeCommit] = []
        self._after: list[AfterCommit] = []

    def before_commit(self, hook: BeforeCommit) -> None:
        """Run ``hook(session)`` right before COMMIT; an error rolls back.

        A hook added inside a savepoint that rolls back is dropped with it.
        """
        self._before.append(hook)

    def after_commit(self, hook: AfterCommit) -> None:
        """Run ``hook()`` after a successful COMMIT; errors are logged only.

        A hook added inside a savepoint that rolls back is dropped with it.
        """
        self._after.append(hook)

    async def _run_before(self) -> None:
        # A hook may add more hooks (an outbox writer registering a relay wake-up).
        i = 0
        while i < len(self._before):
            await self._before[i](self.session)
            i += 1

    async def _run_after(self) -> None:
        for hook in self._after:
            try:
                result = hook()
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:
                log.error(
                    "after-commit hook failed", hook=getattr(hook, "__qualname__", repr(hook)), error=str(exc)
                )


def current_transaction(owner: object | None = None) -> Transaction | None:
    """The transaction the current task has open (of ``owner``, if given).

    Returns:
        The transaction, or None when this task has none open: one opened
        by a parent task does not count.
    """
    tx = _current.get()
    if tx is None or tx.task is not asyncio.current_task():
        return None
    if owner is not None and tx.owner is not owner:
        return None
    return tx


@asynccontextmanager
async def open_transaction(
    owner: object,
    new_session: Callable[[], AsyncSession],
    observe: Callable[[str, float], Any] | None = None,
) -> AsyncIterator[AsyncSession]:
    """Open a transaction of ``owner``, or a savepoint in the one already open.

    Args:
        owner: The database the transaction belongs to.
        new_session: Makes the session of a new top-level transaction.
        observe: Called with the outcome (``commit``/``rollback``) and the
            duration in seconds of each top-level transaction.

    Raises:
        microlib.core.errors.Error: database errors, mapped by
            :func:`~microlib.data.errors.map_db_errors`.
    """
    outer = current_transaction(owner)
    if outer is not None:
        async with _savepoint(outer):
            yield outer.session
        return
    loop = asyncio.get_running_loop()
    started = loop.time()
    tx = Transaction(new_session(), owner)
    token = _current.set(tx)
    outcome = "rollback"
    try:
        with map_db_errors("transaction"):
            try:
                yield tx.session
                await tx._run_before()
                await tx.session.commit()
                outcome = "commit"
            except BaseException:
                await _quietly(tx.session.rollback, "rollback")
                raise
    finally:
        _current.reset(token)
        await _quietly(tx.session.close, "close session")
        if observe is not None:
            observe(outcome, loop.time() - started)
    await tx._run_after()


@asynccontextmanager
async def _savepoint(tx: Transaction) -> AsyncIterator[None]:
    marks = len(tx._before), len(tx._after)
    with map_db_errors("savepoint"):
        nested = await tx.session.begin_nested()
        try:
            yield
        except BaseException:
            # A failed flush leaves the savepoint deactivated, still to be rolled back.
            with suppress(sa_exc.InvalidRequestError):
                await nested.rollback()
            del tx._before[marks[0] :], tx._after[marks[1] :]
            raise
        if nested.is_active:
            await nested.commit()


async def _quietly(step: Callable[[], Awaitable[None]], what: str) -> None:
    """Run a clean-up step whose failure must not hide the original error."""
    try:
        await step()
    except Exception as exc:
        log.warning("database clean-up failed", step=what, error=f"{type(exc).__name__}: {exc}")
