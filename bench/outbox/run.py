"""Outbox throughput, PostgreSQL → RabbitMQ: microlib's outbox against a hand-written relay, in one run.

Each side commits ``--messages`` messages, one transaction per message (fsync
on, the server's default), from ``--producers`` concurrent tasks, and a
consumer on RabbitMQ receives them; the figure is committed→consumed messages
per second (first commit to last receipt), with p50/p99 of the time from a
message's commit to its receipt.

- microlib: ``service.publisher`` inside ``service.database.transaction()``
  writes the outbox row; the service's own relay (``FOR UPDATE SKIP LOCKED`` on
  each key's head, LISTEN/NOTIFY wake-up) publishes with confirms. Every
  message has its own key, as independent events do.
- hand-written: asyncpg ``INSERT`` into a plain table, and the classic relay
  loop: ``SELECT ... ORDER BY id LIMIT 100 FOR UPDATE SKIP LOCKED``, publish
  each with aio-pika (publisher confirms, gathered), ``UPDATE ... SET sent``,
  commit; when idle, it polls every 10 ms.
- faststream-outbox (the peer named in issue 16): ``OutboxBroker.publish`` in
  a SQLAlchemy session's transaction, and its relay subscriber (16 workers,
  batches of 100, LISTEN/NOTIFY wake-up) publishing through FastStream's
  RabbitBroker (publisher confirms).
- sqlalchemy-floor: the hand-written relay, each row committed through a
  SQLAlchemy ``AsyncSession`` as an application on microlib's data layer
  commits its own rows. It is the least an outbox that shares the
  application's SQLAlchemy transaction can cost, so ``floor / hand-written``
  bounds what microlib's ratio can reach.

Rounds are interleaved, in a shuffled order each round; each figure is the
median over rounds; ratio = microlib / hand-written (target 1.2), and
faststream-outbox / hand-written for the peer.

    .venv/bin/python bench/outbox/run.py --rounds 5 --messages 2000

Everything here shares two cores (producers, relay and consumer in this
process's one event loop, PostgreSQL, RabbitMQ), so the figures move with
the machine's other load. ``inproc.py`` counts instead, with callgrind, the
instructions this process executes per message on each side: a one-message
transaction committed, and a message relayed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import aio_pika
import asyncpg
import orjson
import sqlalchemy as sa
from faststream.rabbit import ExchangeType, RabbitBroker, RabbitExchange
from faststream_outbox import OutboxBroker, make_outbox_table
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pydantic import BaseModel

from microlib import Service
from microlib.data import Database, Migrations
from microlib.messaging import Action, MessageDefinition, OperationDefinition, json_decoder, json_encoder
from microlib.messaging.outbox import MIGRATIONS
from microlib.testing import TestService

PG = "postgresql://postgres@127.0.0.1:5432"
RABBIT = "amqp://guest:guest@127.0.0.1:5672/"
TARGET = 1.2


class Event(BaseModel):
    id: str
    seq: int


def _operation(prefix: str) -> OperationDefinition:
    return OperationDefinition(
        name="eventHappened",
        python_name="event_happened",
        action=Action.SEND,
        channel="events",
        address=f"{prefix}.events",
        messages=(MessageDefinition("Event", Event, json_decoder(Event), json_encoder(Event)),),
        key="$message.payload#/id",
    )


class Receipts:
    """Receipt times by sequence number, from one RabbitMQ queue."""

    def __init__(self) -> None:
        self.at: dict[int, float] = {}
        self.done = asyncio.Event()
        self.expected = 0

    def reset(self, expected: int) -> None:
        self.at.clear()
        self.done.clear()
        self.expected = expected

    async def on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        seq = int(orjson.loads(message.body)["seq"])
        self.at.setdefault(seq, time.perf_counter())
        await message.ack()
        if len(self.at) >= self.expected:
            self.done.set()


@contextlib.asynccontextmanager
async def consumer(routing_key: str) -> AsyncIterator[Receipts]:
    receipts = Receipts()
    connection = await aio_pika.connect(RABBIT)
    try:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=500)
        queue = await channel.declare_queue(exclusive=True)
        await queue.bind(await channel.get_exchange("amq.topic", ensure=False), routing_key=routing_key)
        await queue.consume(receipts.on_message)
        yield receipts
    finally:
        await connection.close()


async def produce(count: int, producers: int, commit: Callable[[int], Awaitable[None]]) -> dict[int, float]:
    """Commit messages 0..count-1 from ``producers`` tasks; returns each one's commit time."""
    committed: dict[int, float] = {}
    numbers = iter(range(count))

    async def worker() -> None:
        for seq in numbers:
            await commit(seq)
            committed[seq] = time.perf_counter()

    await asyncio.gather(*(worker() for _ in range(producers)))
    return committed


def figures(started: float, committed: dict[int, float], receipts: Receipts) -> tuple[float, float, float]:
    """Messages per second (first commit start to last receipt), p50 and p99 latency in ms."""
    last = max(receipts.at.values())
    latencies = sorted((receipts.at[s] - committed[s]) * 1000 for s in committed)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return len(committed) / (last - started), statistics.median(latencies), p99


@contextlib.asynccontextmanager
async def microlib_side(
    url: str, prefix: str, *, relay: bool = True, extra: Sequence[str] = ()
) -> AsyncIterator[Callable[[int], Awaitable[None]]]:
    async with microlib_service(url, relay=relay, extra=extra) as service:
        yield microlib_commit(service, prefix)


def microlib_commit(service: Service, prefix: str) -> Callable[[int], Awaitable[None]]:
    """One message published in a transaction of its own, as a handler would."""
    db, publisher, operation = service.database, service.publisher, _operation(prefix)

    async def commit(seq: int) -> None:
        async with db.transaction():
            await publisher.publish(operation, Event(id=f"m{seq}-{uuid.uuid4().hex[:6]}", seq=seq))

    return commit


@contextlib.asynccontextmanager
async def microlib_service(
    url: str, *, relay: bool = True, extra: Sequence[str] = ()
) -> AsyncIterator[Service]:
    """The started service of the microlib side: its outbox on, its relay running if ``relay``."""
    service = Service("bench", database=True)
    service.publisher  # noqa: B018 - messaging, for the outbox
    overrides = [
        f"database.url={url}",
        "database.pool_size=20",
        f"messaging.url={RABBIT}",
        "messaging.outbox.enabled=true",
        "messaging.outbox.batch_size=200",
        f"messaging.outbox.relay={str(relay).lower()}",
        "logging.level=WARNING",
        *extra,
    ]
    async with TestService(service, overrides=overrides, with_real=True):
        yield service


@contextlib.asynccontextmanager
async def hand_written_side(
    dsn: str,
    prefix: str,
    *,
    relay: bool = True,
    relayed: Callable[[int], None] = lambda _: None,
    sqlalchemy_url: str | None = None,
) -> AsyncIterator[Callable[[int], Awaitable[None]]]:
    """The hand-written relay; rows committed with asyncpg, or through a SQLAlchemy session
    when ``sqlalchemy_url`` is given (the floor: see ``sqlalchemy_commit``)."""
    pool = await asyncpg.create_pool(dsn, min_size=20, max_size=20)
    engine = create_async_engine(sqlalchemy_url, pool_size=20) if sqlalchemy_url else None
    connection = await aio_pika.connect(RABBIT)
    channel = await connection.channel(publisher_confirms=True)
    exchange = await channel.get_exchange("amq.topic", ensure=False)
    stop = asyncio.Event()

    async def relay_loop() -> None:
        async with pool.acquire() as conn:
            while not stop.is_set():
                async with conn.transaction():
                    rows = await conn.fetch(
                        "SELECT id, body FROM hand_outbox WHERE NOT sent "
                        "ORDER BY id LIMIT 100 FOR UPDATE SKIP LOCKED"
                    )
                    if rows:
                        await asyncio.gather(
                            *(
                                exchange.publish(
                                    aio_pika.Message(
                                        r["body"], delivery_mode=aio_pika.DeliveryMode.PERSISTENT
                                    ),
                                    routing_key=f"{prefix}.events",
                                )
                                for r in rows
                            )
                        )
                        await conn.execute(
                            "UPDATE hand_outbox SET sent = true WHERE id = ANY($1)", [r["id"] for r in rows]
                        )
                relayed(len(rows))
                if not rows:
                    await asyncio.sleep(0.01)

    async def commit(seq: int) -> None:
        body = orjson.dumps({"id": f"m{seq}", "seq": seq})
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("INSERT INTO hand_outbox (body) VALUES ($1)", body)

    task = asyncio.create_task(relay_loop()) if relay else None
    try:
        yield commit if engine is None else sqlalchemy_commit(engine)
    finally:
        stop.set()
        if task is not None:
            await task
        await connection.close()
        await pool.close()
        if engine is not None:
            await engine.dispose()


def sqlalchemy_commit(engine: AsyncEngine) -> Callable[[int], Awaitable[None]]:
    """The row committed as any application on SQLAlchemy's asyncio layer commits it.

    microlib's data layer is SQLAlchemy (ADR 0003): an application's own rows go
    through an ``AsyncSession``, and the outbox row shares that transaction. This
    side pays that session for the outbox row and nothing else (no tracing, no
    metrics, no typed publisher), with the hand-written relay behind it: the
    least any outbox on this data layer costs, the floor of issue 16's target.
    """
    sessions = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
    insert = sa.text("INSERT INTO hand_outbox (body) VALUES (:body)")

    async def commit(seq: int) -> None:
        body = orjson.dumps({"id": f"m{seq}", "seq": seq})
        async with sessions() as session, session.begin():
            await session.execute(insert, {"body": body})

    return commit


FASTSTREAM_METADATA = sa.MetaData()
FASTSTREAM_TABLE = make_outbox_table(FASTSTREAM_METADATA, table_name="faststream_outbox")


@contextlib.asynccontextmanager
async def faststream_side(url: str, prefix: str) -> AsyncIterator[Callable[[int], Awaitable[None]]]:
    engine = create_async_engine(url, pool_size=20)
    # No log line per message, as on the other sides (microlib logs at WARNING).
    outbox = OutboxBroker(engine, outbox_table=FASTSTREAM_TABLE, logger=None)
    rabbit = RabbitBroker(RABBIT, logger=None)
    exchange = RabbitExchange("amq.topic", type=ExchangeType.TOPIC, declare=False)
    forward = rabbit.publisher(routing_key=f"{prefix}.events", exchange=exchange, persist=True)

    @forward
    @outbox.subscriber("events", max_workers=16, fetch_batch_size=100, min_fetch_interval=0.01)
    async def relay(body: dict[str, Any]) -> dict[str, Any]:
        return body

    sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def commit(seq: int) -> None:
        async with sessions() as session, session.begin():
            await outbox.publish({"id": f"m{seq}", "seq": seq}, queue="events", session=session)

    await rabbit.start()
    await outbox.start()
    try:
        yield commit
    finally:
        await outbox.stop()
        await rabbit.stop()
        await engine.dispose()


async def main(rounds: int, messages: int, producers: int) -> None:
    name = f"bench_outbox_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(f"{PG}/test")
    await admin.execute(f"CREATE DATABASE {name}")
    url, dsn = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}", f"{PG}/{name}"
    try:
        db = Database(url)
        await db.start()
        await Migrations(Path("/nonexistent"), branches=[MIGRATIONS], progress=lambda _: None).upgrade(
            db.engine
        )
        await db.stop()
        setup = await asyncpg.connect(dsn)
        await setup.execute(
            "CREATE TABLE hand_outbox "
            "(id bigserial PRIMARY KEY, body bytea NOT NULL, sent bool NOT NULL DEFAULT false)"
        )
        await setup.close()
        engine = create_async_engine(url)
        async with engine.begin() as conn:
            await conn.run_sync(FASTSTREAM_METADATA.create_all)
        await engine.dispose()
        prefix = f"bench{uuid.uuid4().hex[:6]}"
        sides: dict[str, Any] = {
            "microlib": lambda: microlib_side(url, f"{prefix}m"),
            "hand-written": lambda: hand_written_side(dsn, f"{prefix}h"),
            "sqlalchemy-floor": lambda: hand_written_side(dsn, f"{prefix}s", sqlalchemy_url=url),
            "faststream-outbox": lambda: faststream_side(url, f"{prefix}f"),
        }
        results: dict[str, list[tuple[float, float, float]]] = {side: [] for side in sides}
        for number in range(rounds):
            order = list(sides)
            random.shuffle(order)
            for side in order:
                key = f"{prefix}{side[0]}.events"
                async with consumer(key) as receipts, sides[side]() as commit:
                    receipts.reset(messages)
                    started = time.perf_counter()
                    committed = await produce(messages, producers, commit)
                    try:
                        await asyncio.wait_for(receipts.done.wait(), timeout=120)
                    except TimeoutError:
                        raise SystemExit(
                            f"{side}: {len(receipts.at)} of {messages} received in 120 s"
                        ) from None
                results[side].append(figures(started, committed, receipts))
                rate, p50, p99 = results[side][-1]
                print(
                    f"round {number + 1} {side:>17}: {rate:8.0f} msg/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms",
                    flush=True,
                )
        print()
        medians = {
            side: tuple(statistics.median(r[i] for r in rs) for i in range(3)) for side, rs in results.items()
        }
        for side, (rate, p50, p99) in medians.items():
            print(
                f"{side:>17}: {rate:8.0f} msg/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  (median of {rounds})"
            )
        ours, hand, floor = (medians[side][0] for side in ("microlib", "hand-written", "sqlalchemy-floor"))
        print(f"ratio microlib / hand-written: {ours / hand:.2f}x  (target {TARGET:.1f}x)")
        print(f"ratio sqlalchemy-floor / hand-written: {floor / hand:.2f}x")
        print(f"ratio microlib / sqlalchemy-floor: {ours / floor:.2f}x")
        peer = medians["faststream-outbox"][0] / medians["hand-written"][0]
        print(f"ratio faststream-outbox / hand-written: {peer:.2f}x")
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--producers", type=int, default=16)
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.messages, args.producers))
