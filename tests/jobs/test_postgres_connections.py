"""How many PostgreSQL connections a replica's jobs hold: a few, not a pool of ten per broker."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from microlib import Service
from microlib.testing import TestService
from tests.jobs._contract import Handlers, Receipt, ShopJobsEnqueuer, Tick
from tests.jobs.conftest import PG_ADMIN, _admin
from tests.messaging.contract import eventually

pytestmark = pytest.mark.connected


async def _connections_to(database: str, *, listening: bool = False) -> int:
    """How many connections ``database`` has (only those LISTENing, with ``listening``: a
    listener's connection runs nothing after its ``LISTEN``)."""
    query = "SELECT count(*) FROM pg_stat_activity WHERE datname = $1"
    if listening:
        query += " AND query LIKE 'LISTEN %'"
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        count: int = await conn.fetchval(query, database)
        return count
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def _replica(*, worker: bool = True) -> AsyncIterator[tuple[str, ShopJobsEnqueuer]]:
    """A started replica reading the shop's two queues (``mail`` and ``default``; none without
    ``worker``) on a database of its own, dropped afterwards; yields the database's name and the
    replica's enqueuer."""
    database = f"microlib_jobs_conns_{uuid.uuid4().hex[:8]}"
    await _admin(f"CREATE DATABASE {database}")
    try:
        service = Service("shop")
        service.include(Handlers())
        url = f"postgresql://postgres@127.0.0.1:5432/{database}"
        overrides = [f"jobs.url={url}", "jobs.poll_interval=0.05", "jobs.scheduler.enabled=false"]
        overrides.append(f"jobs.worker={str(worker).lower()}")
        async with TestService(service, overrides=overrides):
            yield database, ShopJobsEnqueuer(service.jobs)
    finally:
        await _admin(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


async def _enqueue_to_both(enqueue: ShopJobsEnqueuer) -> None:
    await (await enqueue.send_receipt(Receipt(order_id="c1"))).result(timeout=10)  # queue mail
    await enqueue.heartbeat(Tick(label="c2"))  # queue default


async def test_a_replica_reading_and_enqueuing_two_queues_holds_a_few_connections() -> None:
    """Each queue read and each enqueued to has a broker of its own, each with a pool: at
    asyncpg's default size (10 opened at once) this replica held 45 connections, and three
    replicas more than PostgreSQL's default max_connections (100)."""
    async with _replica() as (database, enqueue):
        await _enqueue_to_both(enqueue)
        held = await _connections_to(database)
    # Per queue read and per queue enqueued to: LISTEN and one pooled connection; the store's one.
    assert held <= 12, f"the jobs of one replica hold {held} connections"


async def test_a_queue_the_replica_reads_is_enqueued_to_through_its_reader() -> None:
    """A replica reading the queues it enqueues to LISTENs once per queue: a broker of its own to
    enqueue with LISTENed on a connection of its own too (taskiq-postgres's startup always does)
    and kept every NOTIFY of the queue in memory, its own included, unread."""
    async with _replica() as (database, enqueue):

        async def both_read() -> bool:
            return await _connections_to(database, listening=True) >= 2

        await eventually(both_read, what="the worker's two readers listening")
        await _enqueue_to_both(enqueue)
        listeners = await _connections_to(database, listening=True)
    assert listeners == 2, f"{listeners} connections LISTEN for the replica's two queues"


async def test_an_enqueue_only_replica_listens_to_nothing() -> None:
    """taskiq-postgres's broker LISTENs when it starts, whether or not it reads: a replica that
    only enqueues (``jobs.worker=false``) kept every NOTIFY of the queues it enqueued to, each job
    of every replica, in memory, unread, for as long as it ran. Its brokers now share one
    connection that never LISTENs."""
    async with _replica(worker=False) as (database, enqueue):
        await enqueue.send_receipt(Receipt(order_id="e1"))  # queue mail
        await enqueue.heartbeat(Tick(label="e2"))  # queue default
        listeners = await _connections_to(database, listening=True)
        held = await _connections_to(database)
    assert listeners == 0, f"{listeners} connections LISTEN in a replica that reads no queue"
    # One pooled connection per queue enqueued to, the one they LISTEN on, the store's one.
    assert held <= 4, f"the jobs of an enqueue-only replica hold {held} connections"
