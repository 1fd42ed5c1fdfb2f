"""The relay's SQL: claim the head of each lane, settle a batch, measure, clean up.

PostgreSQL: a batch is one transaction holding ``FOR UPDATE SKIP LOCKED``
on the head (oldest unsent row) of up to ``limit`` lanes while they are
published; the row lock is the lane's lock. Another relay skips a locked
head and, since only heads are candidates, never takes the row behind it,
so one message per key is in flight across every replica. The rows are
marked sent in that same transaction, after the broker confirmed them: a
relay that dies mid-batch releases its locks with its connection and the
next one sends the batch again (the bounded duplicates of at least once).
ADR 0011 gives the reasoning.

On PostgreSQL the relay's own statements (claim, mark sent) run on the
pooled connection's asyncpg driver, reached through SQLAlchemy's public
``get_raw_connection()``: they are the relay's hot path, and SQLAlchemy's
statement and row layers cost more than the relay's own work there
(docs/outbox.md, Performance). The rows are marked with ``id = ANY($2)``,
one prepared statement whatever the batch's size (an expanded ``IN`` is a
new statement, prepared anew, for each size).

SQLite has one writer at a time: the relay holding an exclusive lock on a
file next to the database (``<db>.outbox-lock``) is the only one working;
others wait as standbys. It reads the heads, publishes, then marks them
sent in a short write transaction, so application writers are not held up
by the broker.
"""

from __future__ import annotations

import contextlib
import fcntl
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, NamedTuple

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from microlib.messaging.outbox.table import outbox

__all__ = ["Batch", "OutboxRow", "OutboxStore"]

_CANDIDATES = 4


class OutboxRow(NamedTuple):
    """One outbox row as a claim returns it: the table's columns, in the table's order."""

    id: int
    message_id: str
    lane: str
    key: str | None
    operation: str
    channel: str
    address: str
    bindings: str
    headers: str
    body: bytes
    content_type: str
    correlation_id: str | None
    created_at: float
    attempts: int
    last_error: str | None
    sent_at: float | None


def _claim_query(limit: int) -> Select[Any]:
    """The heads of up to ``limit`` lanes, oldest first (ADR 0011)."""
    # The heads: each lane's oldest unsent row, oldest lanes first. A grouped scan of the
    # (lane, id) index, linear in the backlog: an anti-join ("no older unsent row in the
    # lane") was planned as a hash join, quadratic in one hot key's backlog (12.8 s for
    # 20,000 rows of one key). Candidates are a few times the batch, so that heads another
    # relay holds (skipped, locked) leave this one enough.
    heads = (
        select(func.min(outbox.c.id))
        .where(outbox.c.sent_at.is_(None))
        .group_by(outbox.c.lane)
        .order_by(func.min(outbox.c.id))
        .limit(limit * _CANDIDATES)
    )
    # sent_at is checked again on each row as it is locked (PostgreSQL): a head another
    # relay marked sent since this statement's snapshot is dropped, and the row behind it
    # was not a candidate in this snapshot.
    return (
        select(outbox)
        .where(outbox.c.id.in_(heads.scalar_subquery()), outbox.c.sent_at.is_(None))
        .order_by(outbox.c.id)
        .limit(limit)
    )


_TABLE = outbox.name
_COLUMNS = ", ".join(f'"{name}"' for name in OutboxRow._fields)
# _claim_query's statement with FOR UPDATE SKIP LOCKED, as the PostgreSQL driver takes it.
_CLAIM = (
    f"SELECT {_COLUMNS} FROM {_TABLE} WHERE id IN ("
    f"SELECT min(id) FROM {_TABLE} WHERE sent_at IS NULL GROUP BY lane ORDER BY min(id) LIMIT $1"
    ") AND sent_at IS NULL ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED"
)
_MARK_SENT = f"UPDATE {_TABLE} SET sent_at = $1 WHERE id = ANY($2::bigint[])"
_MARK_FAILED = f"UPDATE {_TABLE} SET attempts = attempts + 1, last_error = $1 WHERE id = ANY($2::bigint[])"


@dataclass(slots=True)
class Batch:
    """Claimed rows, and what became of each.

    Args:
        rows: The head of each claimed lane, oldest first.
        sent: Ids of the rows the broker confirmed.
        failed: Why each other row failed, by id.
    """

    rows: Sequence[OutboxRow]
    sent: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)


class OutboxStore:
    """The outbox table as the relay uses it, on PostgreSQL or SQLite.

    Args:
        engine: The database's engine.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"
        self.in_memory = not self.postgres and engine.url.database in (None, "", ":memory:")
        """An in-memory SQLite database: one connection, seen by this process only."""
        self._lock_file: IO[bytes] | None = None

    def acquire(self) -> bool:
        """Take the single-writer lock (SQLite); always True on PostgreSQL.

        The lock is a ``flock`` on a file beside the database: the kernel
        drops it when its process dies, ``kill -9`` included.
        """
        if self.postgres or self.in_memory or self._lock_file is not None:
            return True
        handle = open(f"{self.engine.url.database}.outbox-lock", "ab")  # noqa: SIM115 - held for the relay's life
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._lock_file = handle
        return True

    def release(self) -> None:
        """Give the single-writer lock back."""
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    @contextlib.asynccontextmanager
    async def claim(self, limit: int) -> AsyncIterator[Batch]:
        """The heads of up to ``limit`` lanes; settled when the block ends.

        Fill :attr:`Batch.sent` and :attr:`Batch.failed` inside the block.
        """
        async with self.engine.connect() as conn:
            if self.postgres:
                async with _driver_transaction(conn) as driver:
                    records = await driver.fetch(_CLAIM, limit * _CANDIDATES, limit)
                    batch = Batch([OutboxRow(*record) for record in records])
                    yield batch
                    if batch.sent:
                        await driver.execute(_MARK_SENT, time.time(), batch.sent)
                    for error, ids in _by_error(batch).items():
                        await driver.execute(_MARK_FAILED, error[:1000], ids)
            else:
                rows = (await conn.execute(_claim_query(limit))).all()
                await conn.commit()
                batch = Batch([OutboxRow(*row) for row in rows])
                yield batch
                async with conn.begin():
                    await _settle(conn, batch)

    async def stats(self) -> tuple[int, float | None]:
        """Rows not sent yet, and the creation time of the oldest of them."""
        async with self.engine.connect() as conn:
            query = select(func.count(), func.min(outbox.c.created_at)).where(outbox.c.sent_at.is_(None))
            count, oldest = (await conn.execute(query)).one()
            await conn.commit()
        return int(count), oldest

    async def failing(self, limit: int) -> list[OutboxRow]:
        """The unsent rows the broker did not take at least once, oldest first: each is its
        key's head (a relay sends nothing behind a row it has not sent)."""
        query = (
            select(outbox)
            .where(outbox.c.sent_at.is_(None), outbox.c.attempts > 0)
            .order_by(outbox.c.id)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
            await conn.commit()
        return [OutboxRow(*row) for row in rows]

    async def skip(self, message_id: str) -> OutboxRow | None:
        """Delete the unsent row of ``message_id``, so the rows behind it in its key go on.

        A relay sending the row now holds its lock (PostgreSQL): the delete waits for it, and
        deletes nothing if the relay marked it sent.

        Returns:
            The deleted row; None when no unsent row has that message id.
        """
        statement = (
            delete(outbox)
            .where(outbox.c.message_id == message_id, outbox.c.sent_at.is_(None))
            .returning(*outbox.c)
        )
        async with self.engine.begin() as conn:
            row = (await conn.execute(statement)).first()
        return None if row is None else OutboxRow(*row)

    async def cleanup(self, retention: float) -> int:
        """Delete the rows sent more than ``retention`` seconds ago; returns how many."""
        async with self.engine.begin() as conn:
            result = await conn.execute(delete(outbox).where(outbox.c.sent_at < time.time() - retention))
        return int(result.rowcount)


@contextlib.asynccontextmanager
async def _driver_transaction(conn: AsyncConnection) -> AsyncIterator[Any]:
    """A transaction on ``conn``'s asyncpg connection, which SQLAlchemy does not see.

    The pool's reset on return rolls back only what SQLAlchemy began, so a
    connection this transaction could not end cleanly (its ROLLBACK
    interrupted, the connection lost) is discarded rather than given back.
    """
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None
    try:
        async with driver.transaction():
            yield driver
    finally:
        if driver.is_closed() or driver.is_in_transaction():
            await conn.invalidate()


def _by_error(batch: Batch) -> dict[str, list[int]]:
    by_error: dict[str, list[int]] = {}
    for row_id, error in batch.failed.items():
        by_error.setdefault(error, []).append(row_id)
    return by_error


async def _settle(conn: AsyncConnection, batch: Batch) -> None:
    if batch.sent:
        await conn.execute(update(outbox).where(outbox.c.id.in_(batch.sent)).values(sent_at=time.time()))
    for error, ids in _by_error(batch).items():
        await conn.execute(
            update(outbox)
            .where(outbox.c.id.in_(ids))
            .values(attempts=outbox.c.attempts + 1, last_error=error[:1000])
        )
