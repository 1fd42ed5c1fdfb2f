"""How many PostgreSQL connections a replica's jobs hold: a few, not a pool of ten per broker."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from microlib import Service
from microlib.testing import TestService
from tests.jobs._contract import Handlers, Receipt, ShopJobsEnqueuer, Tick
from tests.jobs.conftest import PG_ADMIN, _admin

pytestmark = pytest.mark.connected


async def _connections_to(database: str) -> int:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        count: int = await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE datname = $1", database)
        return count
    finally:
        await conn.close()


async def test_a_replica_reading_and_enqueuing_two_queues_holds_a_few_connections() -> None:
    """Each queue read and each enqueued to has a broker of its own, each with a pool: at
    asyncpg's default size (10 opened at once) this replica held 45 connections, and three
    replicas more than PostgreSQL's default max_connections (100)."""
    database = f"microlib_jobs_conns_{uuid.uuid4().hex[:8]}"
    await _admin(f"CREATE DATABASE {database}")
    try:
        service = Service("shop")
        service.include(Handlers())
        url = f"postgresql://postgres@127.0.0.1:5432/{database}"
        overrides = [f"jobs.url={url}", "jobs.poll_interval=0.05", "jobs.scheduler.enabled=false"]
        async with TestService(service, overrides=overrides):
            enqueue = ShopJobsEnqueuer(service.jobs)
            await (await enqueue.send_receipt(Receipt(order_id="c1"))).result(timeout=10)  # queue mail
            await enqueue.heartbeat(Tick(label="c2"))  # queue default
            held = await _connections_to(database)
        # Per queue read and per queue enqueued to: LISTEN and one pooled connection; the store's one.
        assert held <= 12, f"the jobs of one replica hold {held} connections"
    finally:
        await _admin(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
