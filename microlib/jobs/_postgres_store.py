"""The taskiq queue's store in PostgreSQL: four small tables keyed by namespace."""

from __future__ import annotations

import asyncpg

from microlib.jobs._asyncpg import POOL_SIZE, asyncpg_dsn

__all__ = ["PostgresStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS microlib_job_delayed (
    ns TEXT NOT NULL, id TEXT NOT NULL, due DOUBLE PRECISION NOT NULL, message BYTEA NOT NULL,
    PRIMARY KEY (ns, id)
);
CREATE INDEX IF NOT EXISTS microlib_job_delayed_due ON microlib_job_delayed (ns, due);
CREATE TABLE IF NOT EXISTS microlib_job_dead (
    ns TEXT NOT NULL, id TEXT NOT NULL, failed_at DOUBLE PRECISION NOT NULL, letter TEXT NOT NULL,
    PRIMARY KEY (ns, id)
);
CREATE TABLE IF NOT EXISTS microlib_job_outcomes (
    ns TEXT NOT NULL, id TEXT NOT NULL, expires DOUBLE PRECISION NOT NULL, outcome TEXT NOT NULL,
    PRIMARY KEY (ns, id)
);
CREATE TABLE IF NOT EXISTS microlib_job_keys (
    ns TEXT NOT NULL, key TEXT NOT NULL, expires DOUBLE PRECISION NOT NULL, id TEXT NOT NULL,
    PRIMARY KEY (ns, key)
);
"""

_NOW = "extract(epoch from clock_timestamp())"

_REMEMBER = f"""
INSERT INTO microlib_job_keys (ns, key, expires, id) VALUES ($1, $2, {_NOW} + $3, $4)
ON CONFLICT (ns, key) DO UPDATE SET expires = EXCLUDED.expires, id = EXCLUDED.id
    WHERE microlib_job_keys.expires < {_NOW}
RETURNING id
"""

_DUE = """
UPDATE microlib_job_delayed SET due = $3
WHERE ns = $1 AND id IN (
    SELECT id FROM microlib_job_delayed WHERE ns = $1 AND due <= $2
    ORDER BY due LIMIT $4 FOR UPDATE SKIP LOCKED
)
RETURNING id, message
"""


class PostgresStore:
    """The store in PostgreSQL.

    Args:
        url: ``postgresql://user@host/db`` (a ``+asyncpg`` suffix is accepted).
        namespace: The rows' ``ns``.
    """

    def __init__(self, url: str, namespace: str) -> None:
        self._url = asyncpg_dsn(url)
        self._ns = namespace
        self._pool: asyncpg.Pool | None = None

    @property
    def _db(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("the jobs store is not started")
        return self._pool

    async def start(self) -> None:
        """Open a small pool; create the tables (under a lock: replicas start together)."""
        self._pool = await asyncpg.create_pool(self._url, **POOL_SIZE, timeout=5.0)
        async with self._db.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('microlib_job_store'))")
            await conn.execute(_SCHEMA)

    async def stop(self) -> None:
        """Close the pool."""
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def ping(self) -> None:
        """SELECT 1."""
        await self._db.fetchval("SELECT 1")

    async def remember_key(self, key: str, job_id: str, ttl: float) -> str | None:
        """Insert, or take over an expired key; else read the holder."""
        taken = await self._db.fetchval(_REMEMBER, self._ns, key, ttl, job_id)
        if taken is not None:
            return None
        held = await self._db.fetchval(
            "SELECT id FROM microlib_job_keys WHERE ns = $1 AND key = $2", self._ns, key
        )
        return None if held is None else str(held)

    async def forget_key(self, key: str, job_id: str) -> None:
        """DELETE the row if it still names ``job_id``."""
        await self._db.execute(
            "DELETE FROM microlib_job_keys WHERE ns = $1 AND key = $2 AND id = $3", self._ns, key, job_id
        )

    async def key_holder(self, key: str) -> tuple[str, float] | None:
        """The row, unless expired."""
        row = await self._db.fetchrow(
            f"SELECT id, expires FROM microlib_job_keys WHERE ns = $1 AND key = $2 AND expires > {_NOW}",
            self._ns,
            key,
        )
        return None if row is None else (str(row["id"]), float(row["expires"]))

    async def delay(self, entry: str, message: bytes, due: float) -> None:
        """Insert (or move) the delayed message."""
        await self._db.execute(
            "INSERT INTO microlib_job_delayed (ns, id, due, message) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (ns, id) DO UPDATE SET due = EXCLUDED.due, message = EXCLUDED.message",
            self._ns,
            entry,
            due,
            message,
        )

    async def due(self, now: float, limit: int, hold: float) -> list[tuple[str, bytes]]:
        """Claimed with SKIP LOCKED: replicas never take the same rows."""
        rows = await self._db.fetch(_DUE, self._ns, now, now + hold, limit)
        return [(str(row["id"]), bytes(row["message"])) for row in rows]

    async def settle(self, entry: str) -> None:
        """Delete the row."""
        await self._db.execute("DELETE FROM microlib_job_delayed WHERE ns = $1 AND id = $2", self._ns, entry)

    async def bury(self, job_id: str, letter: str, failed_at: float) -> None:
        """Insert (or replace) the letter."""
        await self._db.execute(
            "INSERT INTO microlib_job_dead (ns, id, failed_at, letter) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (ns, id) DO UPDATE SET failed_at = EXCLUDED.failed_at, letter = EXCLUDED.letter",
            self._ns,
            job_id,
            failed_at,
            letter,
        )

    async def dead_letters(self, limit: int) -> list[str]:
        """Oldest first."""
        rows = await self._db.fetch(
            "SELECT letter FROM microlib_job_dead WHERE ns = $1 ORDER BY failed_at LIMIT $2", self._ns, limit
        )
        return [str(row["letter"]) for row in rows]

    async def dead_letter(self, job_id: str) -> str | None:
        """One letter."""
        letter = await self._db.fetchval(
            "SELECT letter FROM microlib_job_dead WHERE ns = $1 AND id = $2", self._ns, job_id
        )
        return None if letter is None else str(letter)

    async def exhume(self, job_id: str) -> str | None:
        """DELETE ... RETURNING: one replay gets it."""
        letter = await self._db.fetchval(
            "DELETE FROM microlib_job_dead WHERE ns = $1 AND id = $2 RETURNING letter", self._ns, job_id
        )
        return None if letter is None else str(letter)

    async def purge(self) -> int:
        """Delete the namespace's letters."""
        status = await self._db.execute("DELETE FROM microlib_job_dead WHERE ns = $1", self._ns)
        return int(str(status).rsplit(" ", 1)[-1])

    async def dead_count(self) -> int:
        """COUNT the namespace's letters."""
        count = await self._db.fetchval("SELECT count(*) FROM microlib_job_dead WHERE ns = $1", self._ns)
        return int(count)

    async def set_outcome(self, job_id: str, outcome: str, ttl: float) -> None:
        """Upsert with an expiry (expired rows are dropped as new ones arrive)."""
        async with self._db.acquire() as conn:
            await conn.execute(
                "INSERT INTO microlib_job_outcomes (ns, id, expires, outcome) "
                f"VALUES ($1, $2, {_NOW} + $3, $4) "
                "ON CONFLICT (ns, id) DO UPDATE SET expires = EXCLUDED.expires, outcome = EXCLUDED.outcome",
                self._ns,
                job_id,
                ttl,
                outcome,
            )
            await conn.execute(
                f"DELETE FROM microlib_job_outcomes WHERE ns = $1 AND expires < {_NOW}", self._ns
            )

    async def outcome(self, job_id: str) -> str | None:
        """An unexpired outcome."""
        value = await self._db.fetchval(
            f"SELECT outcome FROM microlib_job_outcomes WHERE ns = $1 AND id = $2 AND expires >= {_NOW}",
            self._ns,
            job_id,
        )
        return None if value is None else str(value)
