"""Three consumers of one group, rolled one by one while a producer publishes.

The consumers are ``microlib run`` processes of tests/scale/consumer_app.py,
all in one consumer group: on RabbitMQ one shared queue, on Kafka one group
sharing a three-partition topic. A producer
publishes a numbered sequence of orders throughout while the consumers are
rolled as a Deployment rolls pods: start a new one, wait until it is ready,
SIGTERM an old one, go on with the next. Each consumer writes the orders it
handles to a PostgreSQL table, which outlives them.

Delivery is at least once: a message a stopping consumer had received but
not acknowledged (on Kafka: handled but whose offset commit the rebalance
refused) goes to another consumer, so it may be handled twice, while the
group changes hands. What may not happen is a message never handled, or a
duplicate once the group has settled.

Kafka's broker here is noida-db behind tests/scale/kafka_proxy.py, which
answers a group error the way Kafka does (its docstring says why).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import pytest

from microlib import Service
from microlib.messaging import OperationDefinition
from microlib.testing import TestService
from tests.data.conftest import _admin
from tests.messaging.conftest import kafka_bootstrap  # noqa: F401  (the session's Kafka broker)
from tests.messaging.contract import eventually, orders, placed
from tests.messaging.test_rabbit import RABBIT_URL, delete_queues
from tests.scale.kafka_proxy import KafkaProxy
from tests.scale.replica import Replica

PUBLISH_PAUSE = 0.01  # seconds between two orders
SETTLED = 10.0
"""Seconds after the last old consumer exited by which the group has settled
(aiokafka's session timeout): no message is handled twice after that."""
SETTINGS = (
    "messaging.consumers.onOrder.parameters.region=eu",
    "messaging.prefetch=4",
    "shutdown.drain_delay=0.5",
    "shutdown.drain_timeout=10",
    "logging.access_log=false",
)


@pytest.fixture
def sink() -> Iterator[str]:
    """A database of the test's own with an empty ``handled`` table; its asyncpg URL."""
    name = f"scale_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(f"CREATE DATABASE {name}"))
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"

    async def create_table() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(
                "CREATE TABLE handled (order_id text NOT NULL, pid integer NOT NULL,"
                " at timestamptz NOT NULL DEFAULT clock_timestamp())"
            )
        finally:
            await conn.close()

    asyncio.run(create_table())
    yield url
    asyncio.run(_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@dataclass
class Consumers:
    """The consumer processes of one group, started with the same settings."""

    directory: Path
    settings: tuple[str, ...]
    env: dict[str, str]
    started: list[Replica] = field(default_factory=list)

    async def start(self) -> Replica:
        name = f"consumer-{len(self.started)}"
        replica = Replica(
            self.directory / f"{name}.log",
            *self.settings,
            target="tests.scale.consumer_app:service",
            env=self.env,
            name=name,
        ).start()
        self.started.append(replica)
        await asyncio.to_thread(replica.wait_ready)
        return replica


@dataclass
class Producer:
    """Publishes ``o-0``, ``o-1``, ... until stopped."""

    service: Service
    operation: OperationDefinition
    published: list[str] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        while not self.stop.is_set():
            order_id = f"o-{len(self.published)}"
            await self.service.publisher.publish(
                self.operation, placed(order_id), parameters={"region": "eu"}
            )
            self.published.append(order_id)
            await asyncio.sleep(PUBLISH_PAUSE)


@dataclass
class Handling:
    """One row of ``handled``: an order handled by a process at a time (epoch seconds)."""

    order_id: str
    pid: int
    at: float


async def _handled(sink: str) -> list[Handling]:
    conn = await asyncpg.connect(sink)
    try:
        rows = await conn.fetch("SELECT order_id, pid, extract(epoch FROM at)::float8 AS at FROM handled")
    finally:
        await conn.close()
    return [Handling(row["order_id"], row["pid"], row["at"]) for row in rows]


@dataclass
class Roll:
    """What a rolling restart did: orders published, handlings, exit statuses."""

    published: set[str]
    handlings: list[Handling]
    consumers: list[Replica]
    statuses: list[int]
    signalled_at: list[int]  # orders published when each SIGTERM went
    settled_at: float  # epoch seconds: the last old consumer's exit plus SETTLED
    rolled: float  # seconds of publishing
    elapsed: float  # seconds until every order was handled

    def late_duplicates(self) -> list[str]:
        """Orders handled again after the group settled (outside the at-least-once window)."""
        seen: set[str] = set()
        late = []
        for handling in sorted(self.handlings, key=lambda h: h.at):
            if handling.order_id in seen and handling.at > self.settled_at:
                late.append(handling.order_id)
            seen.add(handling.order_id)
        return late

    def report(self, broker: str) -> None:
        handled = Counter(h.order_id for h in self.handlings)
        by_pid = Counter(h.pid for h in self.handlings)
        print(
            f"\nrolling restart of 3 {broker} consumers in one group, {self.elapsed:.1f} s "
            f"({self.rolled:.1f} s publishing):"
        )
        print(
            f"  {len(self.published)} orders published, {len(self.handlings)} handlings, "
            f"{len(set(handled) & self.published)} distinct handled, "
            f"{len(self.published - set(handled))} lost, "
            f"{sum(n - 1 for n in handled.values())} duplicates "
            f"({len(self.late_duplicates())} after the group settled)"
        )
        for i, count in enumerate(self.signalled_at):
            print(f"  consumer-{i}: SIGTERM after {count} published, exited {self.statuses[i]}")
        names = {c.pid: c.name for c in self.consumers}
        print(f"  handlings by consumer: { {names.get(p, p): n for p, n in sorted(by_pid.items())} }")

    def check(self, old: list[Replica]) -> None:
        """Nothing lost, nothing foreign, no late duplicate, every consumer took part and exited 0."""
        handled = {h.order_id for h in self.handlings}
        assert self.statuses == [0, 0, 0], [s.output()[-2000:] for s in old]
        assert self.published - handled == set()
        assert handled <= self.published
        assert len(self.published) > 0
        assert self.late_duplicates() == []
        # Every consumer, old and new, took part.
        assert len({h.pid for h in self.handlings}) == 6, Counter(h.pid for h in self.handlings)


async def roll(consumers: Consumers, prefix: str, *, producer_url: str) -> Roll:
    """Start three consumers, then roll them one by one as a Deployment does (start
    a new one, wait until it is ready, SIGTERM an old one) while orders are published."""
    contract = orders(prefix)
    try:
        # The first three start together, as a Deployment's first pods do; the roll is one by one.
        old = list(await asyncio.gather(*(consumers.start() for _ in range(3))))
        producer_service = Service("scale-producer")
        producer_service.publisher  # noqa: B018  (messaging without a consumer)
        async with TestService(producer_service, overrides=[f"messaging.url={producer_url}"]):
            producer = Producer(producer_service, contract.place_order)
            publishing = asyncio.create_task(producer.run())
            began = time.perf_counter()
            try:
                await asyncio.sleep(1)
                signalled_at: list[int] = []
                for stopping in old:
                    await consumers.start()
                    signalled_at.append(len(producer.published))
                    stopping.terminate()
                statuses = [await asyncio.to_thread(s.wait, 60) for s in old]
                settled_at = time.time() + SETTLED
                await asyncio.sleep(1)
            finally:
                producer.stop.set()
                await publishing
            rolled = time.perf_counter() - began
        published = set(producer.published)
        sink = consumers.env["SCALE_SINK"]

        async def all_handled() -> bool:
            return {h.order_id for h in await _handled(sink)} >= published

        await eventually(all_handled, within=60, what="every published order handled")
        elapsed = time.perf_counter() - began
        handlings = await _handled(sink)
    finally:
        for replica in consumers.started:
            replica.kill()
    return Roll(published, handlings, consumers.started, statuses, signalled_at, settled_at, rolled, elapsed)


def _consumers(tmp_path: Path, sink: str, broker_url: str, group: str, prefix: str) -> Consumers:
    return Consumers(
        tmp_path,
        (
            f"messaging.url={broker_url}",
            f"messaging.group={group}",
            f"database.url={sink.replace('postgresql://', 'postgresql+asyncpg://')}",
            *SETTINGS,
        ),
        {"SCALE_PREFIX": prefix, "SCALE_SINK": sink},
    )


@pytest.fixture
async def rabbit_group() -> AsyncIterator[str]:
    """A consumer group of the test's own; its queues are deleted afterwards."""
    group = f"scale{uuid.uuid4().hex[:8]}"
    yield group
    await delete_queues(f"{group}.onOrder", f"{group}.onOrder.dlq")


@pytest.mark.connected
async def test_rolling_three_consumers_loses_no_message(
    sink: str, rabbit_group: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Three consumers on one RabbitMQ queue, rolled one by one with SIGTERM while
    orders are published: every order is handled, each consumer exits 0."""
    prefix = f"scale{uuid.uuid4().hex[:8]}"
    consumers = _consumers(tmp_path, sink, RABBIT_URL, rabbit_group, prefix)
    result = await roll(consumers, prefix, producer_url=RABBIT_URL)
    with capsys.disabled():
        result.report("RabbitMQ")
    result.check(consumers.started[:3])


@pytest.fixture
def kafka_proxy(kafka_bootstrap: str) -> Iterator[KafkaProxy]:  # noqa: F811
    """The session's Kafka broker, behind the proxy that answers group errors as Kafka does."""
    proxy = KafkaProxy(kafka_bootstrap).start()
    yield proxy
    proxy.stop()


@pytest.mark.connected
async def test_rolling_three_kafka_consumers_loses_no_message(
    sink: str, kafka_proxy: KafkaProxy, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Three consumers of one Kafka group on a three-partition topic, rolled one by
    one with SIGTERM while orders are published: the group rebalances six times
    (three joins, three leaves), every order is handled, duplicates only while
    the group changes hands, each consumer exits 0."""
    prefix = f"scale{uuid.uuid4().hex[:8]}"
    url = f"kafka://{kafka_proxy.bootstrap}"
    consumers = _consumers(tmp_path, sink, url, f"scale{uuid.uuid4().hex[:8]}", prefix)
    result = await roll(consumers, prefix, producer_url=url)
    with capsys.disabled():
        result.report("Kafka")
        print(f"  group errors answered as Kafka does by the proxy: {dict(kafka_proxy.rewritten)}")
    assert kafka_proxy.refused == []
    result.check(consumers.started[:3])
