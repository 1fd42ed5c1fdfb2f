"""The scheduler's lease on real stores: two replicas' leases on one Redis or PostgreSQL.

The memory lease (one process) is tested in test_scheduler.py; these are the
leases replicas share, where fencing matters: a leader that lost the lease
without noticing (paused past the TTL, its session dropped) must have its
claims refused, and a released lease must be free at once.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from redis.asyncio import Redis

from microlib.jobs import Claim, Lease
from microlib.jobs.postgres_lease import PostgresLease
from microlib.jobs.redis_lease import RedisLease
from tests.jobs.conftest import REDIS_URL

TTL = 0.5

pytestmark = pytest.mark.connected


class Pair:
    """Two replicas' leases on one store, and a way to take the first one's away behind its back."""

    def __init__(self, kind: str, pg_url: str) -> None:
        self.kind = kind
        self.namespace = f"t{uuid.uuid4().hex[:10]}"
        self.pg_url = pg_url
        self.a, self.b = (self._lease() for _ in range(2))

    def _lease(self) -> Lease:
        if self.kind == "redis":
            return RedisLease(REDIS_URL, self.namespace, ttl=TTL)
        return PostgresLease(self.pg_url, self.namespace)

    async def lose_a(self) -> None:
        """The first lease is lost without its holder knowing: a pause past the
        TTL (Redis), its session ended by the server (PostgreSQL)."""
        if self.kind == "redis":
            await asyncio.sleep(TTL + 0.2)
            return
        lock = self.a._lock  # type: ignore[attr-defined]
        admin = await asyncpg.connect(self.pg_url)
        try:
            await admin.execute("SELECT pg_terminate_backend($1)", lock.get_server_pid())
        finally:
            await admin.close()

    async def clean(self) -> None:
        if self.kind == "redis":
            redis = Redis.from_url(REDIS_URL)
            keys = [k async for k in redis.scan_iter(match=f"{self.namespace}:*")]
            if keys:
                await redis.delete(*keys)
            await redis.aclose()


@pytest.fixture(params=["redis", "postgresql"])
async def pair(request: pytest.FixtureRequest, jobs_pg_url: str) -> AsyncIterator[Pair]:
    """Two started leases on the store ``request.param`` names."""
    chosen = Pair(request.param, jobs_pg_url)
    await chosen.a.start()
    await chosen.b.start()
    yield chosen
    await chosen.a.stop()
    await chosen.b.stop()
    await chosen.clean()


async def test_one_holder_at_a_time_and_each_tick_claimed_once(pair: Pair) -> None:
    """The second replica cannot take a held lease; a tick is claimed once; the last
    claimed tick is seen by every replica (where a new leader resumes)."""
    token = await pair.a.acquire()
    assert token is not None
    assert await pair.b.acquire() is None
    assert await pair.a.acquire() == token  # the holder's own acquire keeps its token
    assert await pair.a.renew()
    assert not await pair.b.renew()
    assert await pair.a.claim("beat", 10.0, token) is Claim.FIRED
    assert await pair.a.claim("beat", 10.0, token) is Claim.DUPLICATE
    assert await pair.a.claim("beat", 9.0, token) is Claim.DUPLICATE
    assert await pair.b.last_tick("beat") == 10.0
    assert await pair.b.last_tick("other") is None


async def test_a_stale_leaders_claim_is_refused_after_another_took_over(pair: Pair) -> None:
    """The fencing token: once the lease passed to another replica with a larger token,
    the old holder's claims are refused as stale and its renewal fails."""
    old = await pair.a.acquire()
    assert old is not None
    await pair.lose_a()
    new = await pair.b.acquire()
    assert new is not None
    assert new > old
    assert await pair.a.claim("beat", 11.0, old) is Claim.STALE
    assert not await pair.a.renew()
    assert await pair.b.claim("beat", 11.0, new) is Claim.FIRED
    assert await pair.b.claim("beat", 11.0, new) is Claim.DUPLICATE


async def test_a_released_lease_is_free_at_once(pair: Pair) -> None:
    """Released (the start of a shutdown), the lease goes to the next replica that
    asks, well before its TTL would have run out; the old token is then stale."""
    old = await pair.a.acquire()
    assert old is not None
    await pair.a.release()
    new = await pair.b.acquire()
    assert new is not None
    assert new > old
    assert await pair.a.claim("beat", 12.0, old) is Claim.STALE
