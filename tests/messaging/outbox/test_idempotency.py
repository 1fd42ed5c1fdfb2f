"""Consumers that opt in handle a message id once: memory, cache and database stores."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from microlib import Service
from microlib.config import ConfigError
from microlib.data import Database, MemoryCache, Migrations
from microlib.messaging import MessageContext
from microlib.messaging.idempotency import CacheIdempotency, DatabaseIdempotency
from microlib.messaging.outbox import MIGRATIONS
from microlib.testing import TestService
from tests.messaging.contract import Orders, eventually, placed


def stock(
    contract: Orders, handled: list[tuple[str, int]], *, fail_first: bool = False, **kw: Any
) -> Service:
    """A consumer recording (message id, attempt) of each handler run; optionally failing once."""

    async def on_order(self: Any, payload: Any, ctx: MessageContext) -> None:
        handled.append((ctx.message_id, ctx.attempt))
        if fail_first and ctx.attempt == 1:
            raise RuntimeError("stock database is down")

    service = Service("stock", **kw)
    service.include(type("Stock", (contract.consumer,), {"on_order": on_order})())
    return service


async def deliver_twice(service: Service, contract: Orders, settled: list[str]) -> None:
    """Publish one message id twice, the second once the first was settled."""
    service.messaging.observers.append(lambda op, delivery, outcome: settled.append(outcome))
    for count in (1, 2):
        await service.publisher.publish(
            contract.place_order, placed(), parameters={"region": "eu"}, message_id="m-1"
        )
        await eventually(lambda: len(settled) == count, what=f"delivery {count} settled")  # noqa: B023


@pytest.mark.parametrize("store", ["memory", "cache", "database"])
async def test_an_opted_in_consumer_skips_a_message_id_it_handled(
    contract: Orders, store: str, tmp_path: Path
) -> None:
    """With the consumer in messaging.idempotency.operations, a second delivery of a
    message id is acknowledged without running the handler; an attempt that failed
    was not remembered, so its retry ran."""
    handled: list[tuple[str, int]] = []
    service = stock(contract, handled, fail_first=True, database=True, cache=True)
    (tmp_path / "none").mkdir()
    overrides = [
        "messaging.idempotency.operations=[onOrder]",
        f"messaging.idempotency.store={store}",
        f"database.url=sqlite+aiosqlite:///{tmp_path}/app.db",
        "database.migrate_on_start=true",
        f"database.migrations={tmp_path}/none",
    ]
    settled: list[str] = []
    async with TestService(service, overrides=overrides):
        await deliver_twice(service, contract, settled)
        registry = service.observability.metrics.registry
        assert registry.get_sample_value("messaging_consumer_duplicates_total", {"method": "onOrder"}) == 1
    assert handled == [("m-1", 1), ("m-1", 2)]
    assert settled == ["ack", "ack"]


async def test_without_opting_in_a_duplicate_is_handled_again(contract: Orders) -> None:
    """A consumer not listed in messaging.idempotency.operations runs its handler for each delivery."""
    handled: list[tuple[str, int]] = []
    service = stock(contract, handled)
    async with TestService(service):
        await deliver_twice(service, contract, [])
    assert handled == [("m-1", 1), ("m-1", 1)]


@pytest.mark.parametrize("store", ["cache", "database"])
async def test_a_store_the_service_lacks_is_named(contract: Orders, store: str) -> None:
    """Asking for the cache or database store without the service's cache or database fails the start."""
    service = stock(contract, [])
    needs = f"messaging.idempotency.store = {store} (--set messaging.idempotency.store=...): needs Service"
    with pytest.raises(ConfigError, match=re.escape(needs)):
        async with TestService(
            service,
            overrides=["messaging.idempotency.operations=[onOrder]", f"messaging.idempotency.store={store}"],
        ):
            pass


@pytest.mark.connected
async def test_with_the_database_store_concurrent_duplicates_apply_once(
    contract: Orders, pg_url: str, tmp_path: Path
) -> None:
    """With ``store: database`` the id and the handler's writes (in the service's own
    database) commit together, though no UnitOfWork was installed: two deliveries of one
    message id handled at once both run, but one rolls back on the id's key and is then
    skipped, so its write is applied once."""
    both_running = asyncio.Barrier(2)
    table = f"applied_{tmp_path.name[-12:].lower()}"

    async def on_order(self: Any, payload: Any, ctx: MessageContext) -> None:
        if ctx.attempt == 1:
            await both_running.wait()
        async with service.database.transaction() as session:
            insert = text(f"INSERT INTO {table} (message_id) VALUES (:m)")
            await (await session.connection()).execute(insert, {"m": ctx.message_id})

    service = Service("stock", database=True)
    service.include(type("Stock", (contract.consumer,), {"on_order": on_order})())
    (tmp_path / "none").mkdir()
    overrides = [
        "messaging.idempotency.operations=[onOrder]",
        "messaging.idempotency.store=database",
        f"database.url={pg_url}",
        "database.migrate_on_start=true",
        f"database.migrations={tmp_path}/none",
    ]
    settled: list[str] = []
    async with TestService(service, overrides=overrides):
        async with service.database.engine.begin() as connection:
            await connection.execute(text(f"CREATE TABLE {table} (message_id text)"))
        service.messaging.observers.append(lambda op, delivery, outcome: settled.append(outcome))
        for _ in range(2):
            await service.publisher.publish(
                contract.place_order, placed(), parameters={"region": "eu"}, message_id="m-1"
            )
        await eventually(lambda: len(settled) == 2, what="both deliveries settled")
        async with service.database.engine.connect() as connection:
            applied = (await connection.execute(text(f"SELECT message_id FROM {table}"))).all()
    assert applied == [("m-1",)]
    assert settled == ["ack", "ack"]


async def test_the_database_store_commits_with_the_handler_transaction(db_url: str, tmp_path: Path) -> None:
    """Remembered inside a transaction that rolls back, an id is forgotten with it;
    remembered inside one that commits, or with none open, it is seen; a second
    remember outside a transaction is harmless."""
    db = Database(db_url)
    await db.start()
    try:
        await Migrations(tmp_path / "none", branches=[MIGRATIONS], progress=lambda _: None).upgrade(db.engine)
        store = DatabaseIdempotency(db, ttl=60)
        scope = f"s{tmp_path.name}"
        with pytest.raises(RuntimeError):
            await _remember_then_fail(db, store, scope)
        assert not await store.seen(scope, "rolled-back")
        async with db.transaction():
            await store.remember(scope, "committed")
            assert await store.seen(scope, "committed")
        assert await store.seen(scope, "committed")
        await store.remember(scope, "alone")
        await store.remember(scope, "alone")
        assert await store.seen(scope, "alone")
    finally:
        await db.stop()


async def _remember_then_fail(db: Database, store: DatabaseIdempotency, scope: str) -> None:
    async with db.transaction():
        await store.remember(scope, "rolled-back")
        raise RuntimeError("the handler failed")


async def test_the_cache_store_remembers_for_its_ttl() -> None:
    """The cache store keeps an id under ``processed:<scope>:<id>`` for ``ttl`` seconds."""
    cache = MemoryCache("t")
    store = CacheIdempotency(cache, ttl=60)
    assert not await store.seen("g.op", "m")
    await store.remember("g.op", "m")
    assert await store.seen("g.op", "m")
    assert await cache.get("processed:g.op:m") == b"1"


async def test_an_operation_no_consumer_receives_is_named(contract: Orders) -> None:
    """A name in messaging.idempotency.operations that no included consumer receives (a typo,
    a send operation) fails the start, naming it and the known ones: it would deduplicate nothing."""
    service = stock(contract, [])
    unknown = r"messaging.idempotency.operations names operation\(s\) \['onOrders'\]"
    with pytest.raises(Exception, match=unknown):
        async with TestService(service, overrides=["messaging.idempotency.operations=[onOrder, onOrders]"]):
            pass
