"""The outbox as a service uses it: publish in a transaction, relay, refuse outside one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from microlib import Service
from microlib.config import ConfigError
from microlib.core.errors import FailedPrecondition
from microlib.core.lifecycle import StartupError
from microlib.messaging import MessageContext
from microlib.messaging.outbox import outbox
from microlib.testing import TestService
from tests.messaging.contract import Orders, StockLevel, StockQuery, eventually, placed, stock


def shop(contract: Orders, received: list[str]) -> Service:
    """A service with a database, the outbox on, and a consumer of its own events."""

    async def on_order(self: Any, payload: Any, ctx: MessageContext) -> None:
        received.append(payload.order_id)

    service = Service("shop", database=True)
    service.include(type("Stock", (contract.consumer,), {"on_order": on_order})())
    return service


def settings(db_url: str, tmp_path: Path, *extra: str) -> list[str]:
    """The outbox on, migrated at start (the outbox's branch only: no app revisions)."""
    return [
        f"database.url={db_url}",
        "database.migrate_on_start=true",
        f"database.migrations={tmp_path}/migrations",
        "messaging.outbox.enabled=true",
        "messaging.outbox.poll_interval=0.05",
        *extra,
    ]


async def rows(service: Service, prefix: str) -> list[tuple[str, bool]]:
    """The outbox rows of the test's own addresses: (message id, sent)."""
    async with service.database.engine.connect() as conn:
        result = await conn.execute(
            sa.select(outbox.c.message_id, outbox.c.sent_at.is_not(None))
            .where(outbox.c.address.startswith(prefix))
            .order_by(outbox.c.id)
        )
        return [(m, bool(s)) for m, s in result]


async def test_commit_relays_exactly_the_committed_messages(
    contract: Orders, db_url: str, tmp_path: Path
) -> None:
    """A committed transaction's messages reach the consumer; a rolled back transaction's,
    and a rolled back savepoint's, never reach the outbox table at all."""
    received: list[str] = []
    service = shop(contract, received)
    prefix = contract.place_order.address.split(".")[0]
    async with TestService(service, overrides=settings(db_url, tmp_path)):
        db, publisher = service.database, service.publisher

        async def publish(order_id: str, *, fail: bool = False) -> None:
            async with db.transaction():  # a savepoint when one is open
                await publisher.publish(contract.place_order, placed(order_id), parameters={"region": "eu"})
                if fail:
                    raise RuntimeError("roll back")

        async with db.transaction():
            await publish("a-1")
            await publish("a-2")
            with pytest.raises(RuntimeError):
                await publish("lost-1", fail=True)
        with pytest.raises(RuntimeError):
            await publish("lost-2", fail=True)
        await publish("a-3")

        await eventually(lambda: len(received) >= 3, what="three messages consumed")
        written = await eventually(
            lambda: _all_sent(rows(service, prefix)), what="every outbox row marked sent"
        )
        assert len(written) == 3
        assert sorted(received) == ["a-1", "a-2", "a-3"]


async def _all_sent(found: Any) -> list[tuple[str, bool]] | None:
    value = await found
    return value if value and all(sent for _, sent in value) else None


async def test_outside_a_transaction_the_publisher_refuses(contract: Orders, tmp_path: Path) -> None:
    """With the outbox on, a publish with no transaction open fails, naming the
    operation, the database and both ways out."""
    service = shop(contract, [])
    url = f"sqlite+aiosqlite:///{tmp_path}/app.db"
    async with TestService(service, overrides=settings(url, tmp_path)):
        with pytest.raises(FailedPrecondition) as caught:
            await service.publisher.publish(contract.place_order, placed(), parameters={"region": "eu"})
    message = caught.value.message
    assert "publishing placeOrder outside a transaction" in message
    assert "database 'database'" in message
    assert "messaging.outbox.outside_transaction: direct" in message


async def test_outside_a_transaction_direct_publishing_is_explicit(contract: Orders, tmp_path: Path) -> None:
    """messaging.outbox.outside_transaction: direct sends a publish made with no
    transaction open straight to the broker, writing no row."""
    received: list[str] = []
    service = shop(contract, received)
    url = f"sqlite+aiosqlite:///{tmp_path}/app.db"
    overrides = settings(url, tmp_path, "messaging.outbox.outside_transaction=direct")
    async with TestService(service, overrides=overrides):
        await service.publisher.publish(contract.place_order, placed("d-1"), parameters={"region": "eu"})
        await eventually(lambda: received == ["d-1"], what="the direct message consumed")
        assert await rows(service, contract.place_order.address.split(".")[0]) == []


async def test_the_test_harness_publishes_through_the_outbox(
    contract: Orders, db_url: str, tmp_path: Path
) -> None:
    """``t.messages.publish`` works with the outbox on, as the service's own settings
    (``microlib_config``) turn it on in a project's tests: it commits the message in a
    transaction of the service's database, then waits until the consumer settled it."""
    received: list[str] = []
    service = shop(contract, received)
    async with TestService(service, overrides=settings(db_url, tmp_path)) as t:
        outcome = await t.messages.publish(contract.place_order, placed("h-1"), parameters={"region": "eu"})
        assert outcome == "ack"
        assert received == ["h-1"]
        assert [m for m, _ in await rows(service, contract.place_order.address.split(".")[0])] == [
            t.messages.published[0].message.message_id
        ]


async def test_the_outbox_needs_the_service_database(contract: Orders) -> None:
    """messaging.outbox.enabled on a service built without database=True fails the start, saying so."""
    service = Service("shop")

    async def on_order(self: object, payload: Any, ctx: Any) -> None:
        return None

    service.include(type("Stock", (contract.consumer,), {"on_order": on_order})())
    with pytest.raises(ConfigError, match=r"needs the service's database: Service\(\.\.\., database=True\)"):
        async with TestService(service, overrides=["messaging.outbox.enabled=true"]):
            pass


async def test_the_relay_measures_its_backlog_and_deletes_old_sent_rows(
    contract: Orders, tmp_path: Path
) -> None:
    """The backlog and the age of its oldest row are measured; the cleanup deletes rows
    sent more than ``retention`` seconds ago and counts them."""
    service = shop(contract, [])
    url = f"sqlite+aiosqlite:///{tmp_path}/app.db"
    overrides = settings(
        url, tmp_path, "messaging.outbox.retention=0", "messaging.outbox.cleanup_interval=0.1"
    )
    async with TestService(service, overrides=overrides):
        registry = service.observability.metrics.registry
        assert registry.get_sample_value("messaging_outbox_backlog") == 0
        assert registry.get_sample_value("messaging_outbox_oldest_age_seconds") == 0
        for order_id in ("r-1", "r-2"):
            async with service.database.transaction():
                await service.publisher.publish(
                    contract.place_order, placed(order_id), parameters={"region": "eu"}
                )
        await eventually(
            lambda: registry.get_sample_value("messaging_outbox_deleted_total") == 2, what="both rows deleted"
        )
        assert await rows(service, contract.place_order.address.split(".")[0]) == []
        # Measured every second, and maybe just before the rows it deletes were sent.
        relay = service.component("outbox-relay")

        async def measured_empty() -> bool:
            return await relay.check() == {"backlog": 0, "stalled": False}

        await eventually(measured_empty, what="the backlog measured empty")


async def test_an_in_memory_sqlite_database_is_refused(contract: Orders, tmp_path: Path) -> None:
    """The relay cannot share an in-memory SQLite database's one connection: the start
    fails, naming the URL and what to use instead."""
    service = shop(contract, [])
    with pytest.raises(StartupError, match=r"in-memory SQLite database.*use a file"):
        async with TestService(service, overrides=settings("sqlite+aiosqlite://", tmp_path)):
            pass


async def test_requests_and_their_replies_go_straight_to_the_broker(tmp_path: Path) -> None:
    """With the outbox on (refusing publishes outside a transaction), a request is still
    answered, from inside a transaction or outside one: a request waits for its reply, which a
    row not committed yet could never get, and a consumer's reply answers a caller waiting now.
    Neither writes an outbox row."""
    contract = stock(f"ob{tmp_path.name[-8:]}")

    async def on_stock_query(self: Any, payload: StockQuery, ctx: MessageContext) -> StockLevel:
        return StockLevel(sku=payload.sku, available=len(payload.sku))

    service = Service("shop", database=True)
    service.include(type("Stock", (contract.consumer,), {"on_stock_query": on_stock_query})())
    url = f"sqlite+aiosqlite:///{tmp_path}/app.db"
    overrides = [*settings(url, tmp_path), "messaging.request_timeout=5"]
    async with TestService(service, overrides=overrides):
        level = await service.publisher.request(contract.query, StockQuery(sku="abc"))
        assert level == StockLevel(sku="abc", available=3)
        async with service.database.transaction():
            level = await service.publisher.request(contract.query, StockQuery(sku="ab"))
        assert level == StockLevel(sku="ab", available=2)
        async with service.database.engine.connect() as conn:
            assert (await conn.execute(sa.select(sa.func.count()).select_from(outbox))).scalar() == 0
