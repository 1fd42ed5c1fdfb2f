"""Real PostgreSQL and RabbitMQ around a relay: a database per test, a producer, a collector."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aio_pika
import asyncpg

from microlib import Service
from microlib.config.model import MessagingSettings, OutboxSettings
from microlib.data import Database, Migrations
from microlib.messaging.adapters import open_broker
from microlib.messaging.broker import Broker, OutgoingMessage
from microlib.messaging.definition import OperationDefinition
from microlib.messaging.outbox import MIGRATIONS, Relay
from microlib.testing import TestService
from tests.data._metrics import PromMetrics
from tests.messaging.contract import Line, OrderPlaced, Orders

RABBIT_URL = "amqp://guest:guest@127.0.0.1:5672/"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


@asynccontextmanager
async def fresh_database(tmp_path: Path) -> AsyncIterator[str]:
    """A PostgreSQL database of the test's own with the outbox's table; its URL."""
    name = f"microlib_outbox_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(PG_ADMIN)
    try:
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    db = Database(url)
    await db.start()
    try:
        await Migrations(tmp_path / "none", branches=[MIGRATIONS], progress=lambda _: None).upgrade(db.engine)
    finally:
        await db.stop()
    try:
        yield url
    finally:
        admin = await asyncpg.connect(PG_ADMIN)
        try:
            await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        finally:
            await admin.close()


@asynccontextmanager
async def producer(url: str, tmp_path: Path) -> AsyncIterator[Service]:
    """A started service that writes outbox rows and relays none of them."""
    service = Service("producer", database=True)
    service.publisher  # noqa: B018 - gives the service messaging
    overrides = [
        f"database.url={url}",
        f"database.migrations={tmp_path}/none",
        "messaging.outbox.enabled=true",
        "messaging.outbox.relay=false",
    ]
    async with TestService(service, overrides=overrides):
        yield service


async def commit(service: Service, contract: Orders, key: str, seq: int) -> None:
    """Commit message ``seq`` of ``key`` in a transaction of its own."""
    payload = OrderPlaced(order_id=key, lines=[Line(sku="s", qty=seq)])
    async with service.database.transaction():
        await service.publisher.publish(contract.place_order, payload, parameters={"region": "eu"})


@asynccontextmanager
async def relay(
    url: str, broker_url: str = RABBIT_URL, *, linger: float = 0.0, **settings: float
) -> AsyncIterator[Relay]:
    """A started relay of its own (database, broker, metrics), as a replica runs one.

    ``linger`` seconds pass before the broker gets a claimed message, and again between
    its confirmation and the batch's commit (a slow network): the windows in which a
    killed relay must lose nothing, and leaves duplicates.
    """
    db = Database(url)
    broker: Broker = open_broker(
        MessagingSettings(url=broker_url, reconnect_backoff=0.2), client_name="relay"
    )
    if linger:
        publish = broker.publish

        async def slow_publish(operation: OperationDefinition, message: OutgoingMessage) -> None:
            await asyncio.sleep(linger)
            await publish(operation, message)
            await asyncio.sleep(linger)

        broker.publish = slow_publish  # type: ignore[method-assign]
    own = OutboxSettings(enabled=True, **{"poll_interval": 0.2, **settings})  # type: ignore[arg-type]
    relaying = Relay(db, lambda: broker, own, PromMetrics(), publish_timeout=3)
    await db.start()
    await broker.start()
    await relaying.start()
    try:
        yield relaying
    finally:
        await relaying.stop()
        await broker.stop()
        await db.stop()


@dataclass
class Delivered:
    """What a consumer of the test's addresses received, in order."""

    messages: list[tuple[str, int, str]] = field(default_factory=list)
    """(key, seq, message id) per delivery, duplicates included."""

    def distinct(self) -> set[str]:
        """The message ids received at least once."""
        return {m for _, _, m in self.messages}

    def first_order(self) -> dict[str, list[int]]:
        """Per key, the sequence numbers in the order they were first received."""
        seen: set[str] = set()
        order: dict[str, list[int]] = {}
        for key, seq, message_id in self.messages:
            if message_id not in seen:
                seen.add(message_id)
                order.setdefault(key, []).append(seq)
        return order


@asynccontextmanager
async def collector(contract: Orders) -> AsyncIterator[Delivered]:
    """An exclusive RabbitMQ queue bound to the contract's addresses, read as it fills."""
    delivered = Delivered()
    # Robust, on a queue that outlives a connection: the shared RabbitMQ may be restarted by
    # another test meanwhile, and nothing published in between must be missed.
    connection = await aio_pika.connect_robust(RABBIT_URL, reconnect_interval=0.2)
    name = f"outbox-collector-{uuid.uuid4().hex[:10]}"
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(name, durable=True)
        exchange = await channel.get_exchange("amq.topic", ensure=False)
        await queue.bind(exchange, routing_key=contract.place_order.address.replace("{region}", "*"))

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            payload = OrderPlaced.model_validate_json(message.body)
            delivered.messages.append((payload.order_id, payload.lines[0].qty, str(message.message_id)))
            await message.ack()

        await queue.consume(on_message)
        yield delivered
        await queue.delete(if_unused=False, if_empty=False)
    finally:
        await connection.close()


def in_order(delivered: Delivered) -> bool:
    """Each key's messages were first received in their sequence order."""
    return all(seqs == sorted(seqs) for seqs in delivered.first_order().values())
