"""The scheduler lease in PostgreSQL: a session advisory lock and a fencing counter.

Leadership is holding ``pg_try_advisory_lock`` on a connection of its own;
the server drops the lock the moment that connection ends (a crash, a
partition the server notices), and renewing is checking the connection is
alive and the token still current. Each acquisition bumps the token in
``microlib_job_leases``; a claim records the tick in
``microlib_job_ticks`` in the same statement that checks the token.
"""

from __future__ import annotations

import hashlib
from typing import Any

import asyncpg

from microlib.jobs._asyncpg import asyncpg_dsn
from microlib.jobs.lease import Claim

__all__ = ["PostgresLease"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS microlib_job_leases (
    name TEXT PRIMARY KEY,
    token BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS microlib_job_ticks (
    name TEXT NOT NULL,
    job TEXT NOT NULL,
    tick DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (name, job)
);
"""

_BUMP = """
INSERT INTO microlib_job_leases (name, token) VALUES ($1, 1)
ON CONFLICT (name) DO UPDATE SET token = microlib_job_leases.token + 1
RETURNING token
"""

_CLAIM = """
INSERT INTO microlib_job_ticks (name, job, tick)
SELECT $1, $3, $4 FROM microlib_job_leases WHERE name = $1 AND token = $2
ON CONFLICT (name, job) DO UPDATE SET tick = EXCLUDED.tick WHERE microlib_job_ticks.tick < EXCLUDED.tick
RETURNING tick
"""


class PostgresLease:
    """The lease in PostgreSQL.

    Args:
        url: ``postgresql://user@host/db`` (a ``+asyncpg`` suffix is accepted).
        namespace: The lease's name (the service's name).
        timeout: Seconds a lease statement may take.
    """

    def __init__(self, url: str, namespace: str, *, timeout: float = 2.0) -> None:
        self._url = asyncpg_dsn(url)
        self._name = namespace
        digest = hashlib.sha256(f"microlib-jobs:{namespace}".encode()).digest()
        self._key = int.from_bytes(digest[:8], "big", signed=True)
        self._timeout = timeout
        self._lock: asyncpg.Connection | None = None
        self._token: int | None = None

    async def _connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(self._url, timeout=self._timeout)

    async def start(self) -> None:
        """Create the tables when missing."""
        conn = await self._connect()
        try:
            await conn.execute("SELECT pg_advisory_lock(hashtext('microlib_job_leases'))")
            try:
                await conn.execute(_SCHEMA)
            finally:
                await conn.execute("SELECT pg_advisory_unlock(hashtext('microlib_job_leases'))")
        finally:
            await conn.close()

    async def stop(self) -> None:
        """Close the lock's connection (which releases the lock)."""
        await self._drop()

    async def _drop(self) -> None:
        lock, self._lock, self._token = self._lock, None, None
        if lock is not None:
            lock.terminate()

    async def acquire(self) -> int | None:
        """Take the advisory lock with a new token, or confirm ours."""
        if self._lock is not None:
            return self._token if await self.renew() else None
        conn = await self._connect()
        try:
            taken = await conn.fetchval("SELECT pg_try_advisory_lock($1)", self._key, timeout=self._timeout)
            if not taken:
                await conn.close()
                return None
            token = int(await conn.fetchval(_BUMP, self._name, timeout=self._timeout))
        except BaseException:
            conn.terminate()
            raise
        self._lock, self._token = conn, token
        return token

    async def renew(self) -> bool:
        """The lock's connection answers and the token is still current."""
        lock = self._lock
        if lock is None:
            return False
        try:
            current = await lock.fetchval(
                "SELECT token FROM microlib_job_leases WHERE name = $1", self._name, timeout=self._timeout
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
            await self._drop()
            return False
        if current != self._token:
            await self._drop()
            return False
        return True

    async def release(self) -> None:
        """Unlock and close the lock's connection."""
        lock = self._lock
        if lock is not None:
            try:
                await lock.execute("SELECT pg_advisory_unlock($1)", self._key, timeout=self._timeout)
                await lock.close(timeout=self._timeout)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
                pass
        await self._drop()

    async def claim(self, job: str, tick: float, token: int) -> Claim:
        """Record ``tick`` if ``token`` is current and the tick is new, in one statement."""
        conn = await self._connect()
        try:
            row: Any = await conn.fetchrow(_CLAIM, self._name, token, job, tick, timeout=self._timeout)
            if row is not None:
                return Claim.FIRED
            current = await conn.fetchval(
                "SELECT token FROM microlib_job_leases WHERE name = $1", self._name, timeout=self._timeout
            )
            return Claim.DUPLICATE if current == token else Claim.STALE
        finally:
            await conn.close()

    async def last_tick(self, job: str) -> float | None:
        """The job's last claimed tick."""
        conn = await self._connect()
        try:
            value = await conn.fetchval(
                "SELECT tick FROM microlib_job_ticks WHERE name = $1 AND job = $2", self._name, job
            )
        finally:
            await conn.close()
        return None if value is None else float(value)
