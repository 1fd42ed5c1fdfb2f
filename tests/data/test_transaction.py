"""Transactions: commit, rollback, cancellation, savepoints, tasks, hooks."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from microlib.core.chain import compose
from microlib.core.context import CallContext
from microlib.core.errors import AlreadyExists, FailedPrecondition
from microlib.data import Database, UnitOfWork
from tests.data._metrics import PromMetrics
from tests.data.conftest import authors, books, count


async def test_commits_when_the_block_succeeds(db: Database) -> None:
    """Rows written in a block that returns are visible afterwards."""
    async with db.transaction() as session:
        await session.exec(sa.insert(authors).values(id=1, email="a@x"))
    assert await count(db, authors) == 1


async def test_rolls_back_when_the_block_raises(db: Database) -> None:
    """An exception escaping the block discards its writes and propagates."""

    async def fail() -> None:
        async with db.transaction() as session:
            await session.exec(sa.insert(authors).values(id=1, email="a@x"))
            raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        await fail()
    assert await count(db, authors) == 0


async def test_rolls_back_when_the_task_is_cancelled(db: Database, metrics: PromMetrics) -> None:
    """Cancelling a task mid-transaction rolls back and returns the connection."""
    written = asyncio.Event()

    async def writer() -> None:
        async with db.transaction() as session:
            await session.exec(sa.insert(authors).values(id=1, email="a@x"))
            written.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(writer())
    await written.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await count(db, authors) == 0
    assert metrics.value("microlib_db_pool_connections_in_use", database="database") == 0
    assert (
        metrics.value(
            "microlib_db_transaction_duration_seconds_count", database="database", outcome="rollback"
        )
        == 1
    )


async def test_nested_block_is_a_savepoint(db: Database) -> None:
    """A failing inner block undoes only its own writes; the outer one commits."""

    async def duplicate(outer: object) -> None:
        async with db.transaction() as inner:
            assert inner is outer
            await inner.exec(sa.insert(authors).values(id=2, email="b@x"))
            await inner.exec(sa.insert(authors).values(id=3, email="a@x"))

    async with db.transaction() as outer:
        await outer.exec(sa.insert(authors).values(id=1, email="a@x"))
        with pytest.raises(AlreadyExists):
            await duplicate(outer)
        async with db.transaction() as inner:
            await inner.exec(sa.insert(authors).values(id=4, email="d@x"))
    async with db.engine.connect() as conn:
        ids = (await conn.execute(sa.select(authors.c.id).order_by(authors.c.id))).scalars().all()
    assert ids == [1, 4]


async def test_concurrent_transactions_each_commit(db: Database) -> None:
    """Twenty tasks writing at once each get their own session and all commit."""

    async def write(i: int) -> None:
        async with db.transaction() as session:
            await session.exec(sa.insert(authors).values(id=i, email=f"{i}@x"))
            await asyncio.sleep(0)

    await asyncio.gather(*(write(i) for i in range(20)))
    assert await count(db, authors) == 20


async def test_a_child_task_never_shares_the_parent_session(db: Database) -> None:
    """A task created inside a transaction opens its own, independent one."""
    async with db.transaction() as parent:
        await parent.exec(sa.insert(authors).values(id=1, email="a@x"))
        parent_session = db.current_session()

        async def child() -> object:
            with pytest.raises(RuntimeError, match="no transaction"):
                db.current_session()
            async with db.transaction() as own:
                return own

        child_session = await asyncio.create_task(child())
        assert child_session is not parent_session


async def test_unique_violation_names_the_constraint(db: Database) -> None:
    """A duplicate key becomes AlreadyExists carrying the constraint (or column) name."""
    async with db.transaction() as session:
        await session.exec(sa.insert(authors).values(id=1, email="a@x"))
    with pytest.raises(AlreadyExists) as caught:
        async with db.transaction() as session:
            await session.exec(sa.insert(authors).values(id=2, email="a@x"))
    name = caught.value.metadata["constraint"]
    assert name in {"authors_email_key", "authors.email"}
    assert name in caught.value.message


@pytest.mark.parametrize(
    ("values", "names"),
    [
        ({"id": 1, "title": "t", "pages": 1, "author_id": 99}, {"books_author_fk", None}),
        ({"id": 1, "title": "t", "pages": 0}, {"books_pages_positive"}),
        ({"id": 1, "title": None, "pages": 1}, {"books.title"}),
    ],
    ids=["foreign-key", "check", "not-null"],
)
async def test_other_violations_are_failed_preconditions(
    db: Database, values: dict[str, object], names: set[str | None]
) -> None:
    """Foreign-key, check and not-null violations become FailedPrecondition naming the constraint."""
    with pytest.raises(FailedPrecondition) as caught:
        async with db.transaction() as session:
            await session.exec(sa.insert(books).values(**values))
    assert caught.value.metadata.get("constraint") in names
    assert caught.value.reason.endswith("_VIOLATION")


async def test_commit_hooks_run_around_commit_only(db: Database) -> None:
    """before_commit writes in the same transaction; after_commit runs only once committed."""
    events: list[str] = []

    async def outbox(session: object) -> None:
        await db.current_session().exec(sa.insert(authors).values(id=2, email="outbox@x"))
        events.append("before")

    async def fail_with_hook(label: str) -> None:
        async with db.transaction():
            db.current_transaction().after_commit(lambda: events.append(label))
            raise KeyError(label)

    async with db.transaction() as session:
        await session.exec(sa.insert(authors).values(id=1, email="a@x"))
        db.current_transaction().before_commit(outbox)
        db.current_transaction().after_commit(lambda: events.append("after"))
        with pytest.raises(KeyError):
            await fail_with_hook("dropped with its savepoint")
    assert events == ["before", "after"]
    assert await count(db, authors) == 2

    with pytest.raises(KeyError):
        await fail_with_hook("rolled back")
    assert events == ["before", "after"]


async def test_unit_of_work_wraps_each_call(db: Database) -> None:
    """The interceptor commits a handler's writes and rolls back when it raises."""

    async def handler(ctx: CallContext) -> str:
        await db.current_session().exec(sa.insert(authors).values(email=ctx.method))
        if ctx.method == "fail":
            raise FailedPrecondition("refused")
        return "ok"

    call = compose([UnitOfWork(db)], handler)
    assert await call(CallContext(kind="http", service="s", method="ok")) == "ok"
    with pytest.raises(FailedPrecondition):
        await call(CallContext(kind="http", service="s", method="fail"))
    assert await count(db, authors) == 1


async def test_statement_metrics_are_recorded(db: Database, metrics: PromMetrics) -> None:
    """Each statement is timed by operation and each transaction by outcome."""
    async with db.transaction() as session:
        await session.exec(sa.insert(authors).values(id=1, email="a@x"))
    labels = {"database": "database"}
    assert metrics.value("microlib_db_query_duration_seconds_count", operation="INSERT", **labels) == 1
    assert metrics.value("microlib_db_transaction_duration_seconds_count", outcome="commit", **labels) == 1
    assert metrics.value("microlib_db_pool_connections_in_use", **labels) == 0


async def test_unit_of_work_can_skip_calls(db: Database) -> None:
    """With ``applies``, calls it rejects run without a transaction."""

    async def handler(ctx: CallContext) -> bool:
        try:
            db.current_session()
        except RuntimeError:
            return False
        return True

    call = compose([UnitOfWork(db, applies=lambda ctx: not ctx.method.startswith("Get"))], handler)
    assert await call(CallContext(kind="grpc", service="s", method="CreateBook")) is True
    assert await call(CallContext(kind="grpc", service="s", method="GetBook")) is False
