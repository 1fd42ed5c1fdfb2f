"""The relay's own life: the SQLite standby, a lost LISTEN connection, a publish never confirmed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from structlog.testing import capture_logs

from microlib.config.model import OutboxSettings
from microlib.data import Database, Migrations
from microlib.messaging import MemoryBroker, OperationDefinition, OutgoingMessage
from microlib.messaging.outbox import MIGRATIONS, OutboxStore, Relay, outbox
from tests.data._metrics import PromMetrics
from tests.messaging.contract import eventually
from tests.messaging.outbox._harness import fresh_database

LISTENERS = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'"


class Recording(MemoryBroker):
    """An in-memory broker that records what it was given, or never confirms."""

    def __init__(self, *, hang: bool = False) -> None:
        super().__init__("memory://relay-lifecycle")
        self.hang = hang
        self.sent: list[str] = []

    async def publish(self, operation: OperationDefinition, message: OutgoingMessage) -> None:
        if self.hang:
            await asyncio.Event().wait()
        self.sent.append(message.message_id)


async def insert(db: Database, message_id: str) -> None:
    """Commit one outbox row."""
    async with db.engine.begin() as conn:
        await conn.execute(
            outbox.insert().values(
                message_id=message_id,
                lane=message_id,
                operation="op",
                channel="ch",
                address="a",
                bindings="{}",
                headers="{}",
                body=b"{}",
                content_type="application/json",
                created_at=time.time(),
            )
        )


async def unsent(db: Database) -> int:
    """Rows not marked sent."""
    async with db.engine.connect() as conn:
        return int(
            (await conn.execute(sa.select(sa.func.count()).where(outbox.c.sent_at.is_(None)))).scalar()
        )


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    """A started SQLite database with the outbox's table."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/app.db")
    await db.start()
    await Migrations(tmp_path / "none", branches=[MIGRATIONS], progress=lambda _: None).upgrade(db.engine)
    yield db
    await db.stop()


def relay_of(db: Database, broker: Any, **settings: Any) -> Relay:
    """A relay over ``broker`` with quick polls."""
    own = OutboxSettings(enabled=True, **{"poll_interval": 0.05, **settings})
    return Relay(db, lambda: broker, own, PromMetrics(), publish_timeout=0.5)


async def test_a_second_relay_on_sqlite_waits_for_the_lock(sqlite_db: Database) -> None:
    """While another process holds the SQLite outbox's lock, a relay sends nothing;
    once the lock is released it takes over and sends the backlog."""
    holder = OutboxStore(sqlite_db.engine)
    assert holder.acquire()
    broker = Recording()
    await broker.start()
    relay = relay_of(sqlite_db, broker)
    await relay.start()
    try:
        await insert(sqlite_db, "m-1")
        relay.wake()
        await asyncio.sleep(0.3)  # several polls as a standby
        assert broker.sent == []
        holder.release()
        await eventually(lambda: broker.sent == ["m-1"], what="the standby taking over")
    finally:
        await relay.stop()
        await broker.stop()


async def test_a_publish_never_confirmed_fails_within_the_timeout(sqlite_db: Database) -> None:
    """A broker that never confirms fails the row after messaging.publish_timeout,
    records why on the row, and the relay stops promptly even so."""
    broker = Recording(hang=True)
    await broker.start()
    relay = relay_of(sqlite_db, broker, backoff=0.05, backoff_max=0.1)
    await insert(sqlite_db, "m-1")
    await relay.start()
    try:

        async def failed() -> bool:
            async with sqlite_db.engine.connect() as conn:
                row = (await conn.execute(sa.select(outbox.c.attempts, outbox.c.last_error))).one()
            return row.attempts >= 1 and "no confirmation within 0.5s" in row.last_error

        await eventually(failed, what="the row failed with the timeout")
    finally:
        await relay.stop()
        await broker.stop()
    assert await unsent(sqlite_db) == 1


@pytest.mark.connected
async def test_a_lost_listen_connection_is_opened_again(tmp_path: Path) -> None:
    """When its LISTEN connection is terminated, the relay polls meanwhile and opens
    LISTEN again; a NOTIFY then wakes it."""
    async with fresh_database(tmp_path) as url:
        db = Database(url)
        await db.start()
        broker = Recording()
        await broker.start()
        relay = relay_of(db, broker, poll_interval=0.2)
        await relay.start()
        try:
            dsn = url.replace("postgresql+asyncpg", "postgresql")
            admin = await asyncpg.connect(dsn)
            try:
                [first] = [r["pid"] for r in await admin.fetch(LISTENERS)]
                await admin.execute("SELECT pg_terminate_backend($1)", first)
                await eventually(lambda: _other_listener(admin, first), what="LISTEN opened again")
                await insert(db, "m-1")
                await admin.execute("NOTIFY microlib_outbox")
                await eventually(lambda: broker.sent == ["m-1"], what="the row sent")
            finally:
                await admin.close()
        finally:
            await relay.stop()
            await broker.stop()
            await db.stop()


async def _other_listener(admin: asyncpg.Connection, old: int) -> bool:
    pids = [r["pid"] for r in await admin.fetch(LISTENERS)]
    return bool(pids) and old not in pids


class Refusing(Recording):
    """A broker that takes nothing, counting the attempts."""

    def __init__(self) -> None:
        super().__init__()
        self.attempts = 0

    async def publish(self, operation: OperationDefinition, message: OutgoingMessage) -> None:
        self.attempts += 1
        raise ConnectionError("broker down")


async def test_a_failing_broker_is_retried_with_a_doubling_backoff(sqlite_db: Database) -> None:
    """Rounds that fail wait backoff, doubling up to backoff_max (0.05, 0.1, 0.2, 0.4, 0.4...:
    about seven rounds in 2 s, where a fixed pause would make forty), and wake-ups (local
    commits) do not cut a pause short; the row stays unsent, its attempts counted."""
    broker = Refusing()
    await broker.start()
    relay = relay_of(sqlite_db, broker, backoff=0.05, backoff_max=0.4)
    await insert(sqlite_db, "m-1")
    await relay.start()
    try:
        for _ in range(40):
            await asyncio.sleep(0.05)
            relay.wake()
    finally:
        await relay.stop()
        await broker.stop()
    assert 4 <= broker.attempts <= 12, f"{broker.attempts} rounds in 2 s"
    async with sqlite_db.engine.connect() as conn:
        row = (await conn.execute(sa.select(outbox.c.attempts, outbox.c.sent_at))).one()
    assert (row.attempts, row.sent_at) == (broker.attempts, None)


async def test_a_row_nobody_announced_is_found_by_polling(sqlite_db: Database) -> None:
    """A row committed where no wake-up reaches the relay (another process on SQLite, which has
    no NOTIFY; a lost notification on PostgreSQL) is sent at the next poll."""
    broker = Recording()
    await broker.start()
    relay = relay_of(sqlite_db, broker, poll_interval=0.1)
    await relay.start()
    try:
        await asyncio.sleep(0.3)  # the first rounds found nothing; the relay now waits
        await insert(sqlite_db, "m-1")  # no relay.wake()
        await eventually(lambda: broker.sent == ["m-1"], within=3, what="the row found by polling")
    finally:
        await relay.stop()
        await broker.stop()


class Down(Recording):
    """A broker that refuses every publish while ``down`` is set, counting the attempts."""

    def __init__(self) -> None:
        super().__init__()
        self.down = True
        self.attempts = 0

    async def publish(self, operation: OperationDefinition, message: OutgoingMessage) -> None:
        self.attempts += 1
        if self.down:
            raise ConnectionError("broker down")
        await super().publish(operation, message)


async def test_a_long_outage_is_one_stall_line_and_one_recovery_line(sqlite_db: Database) -> None:
    """A broker down for many of the relay's rounds: once the relay says it stalled it logs no
    line per failed round, and its recovery says how many rounds failed. Before, every round
    logged a warning for as long as the outage lasted (one every backoff_max, 30 s, for hours)."""
    broker = Down()
    await broker.start()
    relay = relay_of(sqlite_db, broker, backoff=0.01, backoff_max=0.02, stalled_after=0)
    await insert(sqlite_db, "m-1")
    with capture_logs() as logs:
        await relay.start()
        try:
            await eventually(lambda: broker.attempts >= 10, what="ten rounds failed")
            broker.down = False
            await eventually(lambda: broker.sent == ["m-1"], what="the row sent once the broker is back")
            await eventually(lambda: not relay.stalled, what="the relay recovered")
        finally:
            await relay.stop()
            await broker.stop()
    said = [e for e in logs if e["event"].startswith("outbox relay")]
    assert [e["event"] for e in said] == [
        "outbox relay stalled: messages are kept and will be sent in order once it recovers",
        "outbox relay recovered",
    ]
    assert said[1]["failed_rounds"] == broker.attempts - 1
