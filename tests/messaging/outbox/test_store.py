"""The relay's claims: one row per key in flight, across replicas; the SQLite single-writer lock."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from microlib.data import Database, Migrations
from microlib.messaging.outbox import MIGRATIONS, OutboxRow, OutboxStore, outbox


@contextlib.asynccontextmanager
async def migrated(url: str) -> AsyncIterator[Database]:
    """A started database with the outbox's table, emptied."""
    database = Database(url)
    await database.start()
    await Migrations(Path("/nonexistent"), branches=[MIGRATIONS], progress=lambda _: None).upgrade(
        database.engine
    )
    async with database.engine.begin() as conn:
        await conn.execute(outbox.delete())
    try:
        yield database
    finally:
        await database.stop()


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    """A started database of each backend with the outbox's table, emptied."""
    async with migrated(db_url) as database:
        yield database


async def backlog(db: Database, lanes: dict[str, int]) -> None:
    """Commit ``count`` rows in each lane, interleaved."""
    rows = []
    for i in range(max(lanes.values())):
        for lane, count in lanes.items():
            if i < count:
                rows.append(
                    {
                        "message_id": f"{lane}-{i}",
                        "lane": lane,
                        "key": lane,
                        "operation": "op",
                        "channel": "ch",
                        "address": "a",
                        "bindings": "{}",
                        "headers": "{}",
                        "body": b"",
                        "content_type": "application/json",
                        "created_at": time.time(),
                    }
                )
    async with db.engine.begin() as conn:
        await conn.execute(outbox.insert(), rows)


async def test_a_batch_holds_the_head_of_each_key_only(db: Database) -> None:
    """A claim returns the oldest unsent row of each key, never two of one key; once
    they are marked sent, the next claim returns the rows behind them."""
    await backlog(db, {"a": 3, "b": 2, "c": 1})
    store = OutboxStore(db.engine)
    async with store.claim(10) as batch:
        assert [r.message_id for r in batch.rows] == ["a-0", "b-0", "c-0"]
        batch.sent.extend(r.id for r in batch.rows[:2])
        batch.failed[batch.rows[2].id] = "Unavailable: broker down"
    async with store.claim(10) as batch:
        assert [r.message_id for r in batch.rows] == ["c-0", "a-1", "b-1"]
        assert batch.rows[0].attempts == 1
        assert batch.rows[0].last_error == "Unavailable: broker down"
    count, oldest = await store.stats()
    assert count == 4
    assert oldest == batch.rows[0].created_at


async def test_a_round_that_fails_marks_nothing_and_leaves_the_pool_clean(db: Database) -> None:
    """An error inside a claim (the relay cancelled, a bug) rolls the round back: its rows
    stay unsent and claimable, and no pooled connection is left inside that transaction
    (on PostgreSQL the relay runs it on the driver, where SQLAlchemy's reset does not see it)."""
    await backlog(db, {"a": 2, "b": 1})
    store = OutboxStore(db.engine)

    async def failing_round() -> None:
        async with store.claim(10) as batch:
            batch.sent.extend(r.id for r in batch.rows)
            raise RuntimeError("mid-round")

    with pytest.raises(RuntimeError, match="mid-round"):
        await failing_round()
    async with store.claim(10) as batch:
        assert [r.message_id for r in batch.rows] == ["a-0", "b-0"]
    for _ in range(db.settings.pool_size):
        async with db.engine.connect() as conn:
            driver = (await conn.get_raw_connection()).driver_connection
            assert not getattr(driver, "is_in_transaction", lambda: False)()


def test_the_rows_a_claim_returns_have_the_tables_columns() -> None:
    """The PostgreSQL claim names its columns by hand, for the driver: they follow the table."""
    assert OutboxRow._fields == tuple(column.name for column in outbox.columns)


@pytest.mark.connected
async def test_a_second_relay_skips_the_keys_a_first_one_holds(pg_url: str, tmp_path: Path) -> None:
    """While one relay holds its batch (PostgreSQL, FOR UPDATE SKIP LOCKED on each
    key's head), another relay's claim gets the other keys' heads and nothing of the
    held keys: not even the row behind a held head, which would overtake it."""
    db = Database(pg_url)
    await db.start()
    try:
        await Migrations(tmp_path / "none", branches=[MIGRATIONS], progress=lambda _: None).upgrade(db.engine)
        async with db.engine.begin() as conn:
            await conn.execute(outbox.delete())
        await backlog(db, {"a": 3, "b": 3, "c": 3})
        first, second = OutboxStore(db.engine), OutboxStore(db.engine)
        async with first.claim(2) as held:
            assert [r.message_id for r in held.rows] == ["a-0", "b-0"]
            async with second.claim(10) as other:
                assert [r.message_id for r in other.rows] == ["c-0"]
                other.sent.append(other.rows[0].id)
            held.sent.extend(r.id for r in held.rows)
        async with second.claim(10) as after:
            assert [r.message_id for r in after.rows] == ["a-1", "b-1", "c-1"]
    finally:
        await db.stop()


async def test_one_relay_at_a_time_works_a_sqlite_file(tmp_path: Path) -> None:
    """On SQLite the relay holding the lock file works; another waits until it is released."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/app.db")
    await db.start()
    try:
        first, second = OutboxStore(db.engine), OutboxStore(db.engine)
        assert first.acquire()
        assert first.acquire()  # already held
        assert not second.acquire()
        first.release()
        assert second.acquire()
        second.release()
    finally:
        await db.stop()


async def test_the_failing_heads_are_listed_and_one_skipped_frees_its_key(db: Database) -> None:
    """`failing` lists the unsent rows the broker refused, oldest first; `skip` deletes an
    unsent row only, returning it, and the row behind it becomes its key's head."""
    await backlog(db, {"a": 2, "b": 2, "c": 1})
    store = OutboxStore(db.engine)
    async with store.claim(10) as batch:
        assert [r.message_id for r in batch.rows] == ["a-0", "b-0", "c-0"]
        batch.failed[batch.rows[0].id] = "InvalidArgument: message too large"
        batch.failed[batch.rows[1].id] = "Unavailable: broker down"
        batch.sent.append(batch.rows[2].id)
    failing = await store.failing(10)
    assert [(r.message_id, r.attempts, r.last_error) for r in failing] == [
        ("a-0", 1, "InvalidArgument: message too large"),
        ("b-0", 1, "Unavailable: broker down"),
    ]
    assert [r.message_id for r in await store.failing(1)] == ["a-0"]
    skipped = await store.skip("a-0")
    assert skipped is not None
    assert (skipped.message_id, skipped.key, skipped.attempts) == ("a-0", "a", 1)
    assert await store.skip("a-0") is None  # gone
    assert await store.skip("c-0") is None  # sent: not skipped
    async with store.claim(10) as batch:
        assert [r.message_id for r in batch.rows] == ["b-0", "a-1"]  # in commit order
