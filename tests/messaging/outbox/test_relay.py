"""The relay on real PostgreSQL and RabbitMQ: replicas, per-key order, a broker outage."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa

from microlib import Service
from microlib.messaging.outbox import outbox
from microlib.testing import TestService
from tests.data._proxy import Proxy
from tests.messaging.contract import Orders, eventually
from tests.messaging.outbox._harness import collector, commit, fresh_database, in_order, producer, relay

pytestmark = pytest.mark.connected

KEYS = [f"k{i}" for i in range(5)]


async def test_two_relays_at_once_keep_per_key_order_and_lose_nothing(
    contract: Orders, tmp_path: Path
) -> None:
    """Two relays (replicas), one slow (a lingering network) and one fast, claim from one
    outbox while a producer commits 200 messages over 5 keys, four in a row per key: every
    message is delivered, none that a relay confirmed is sent again, and each key's messages
    arrive in commit order (the fast relay never sends a key's message while the slow one
    holds an older one of that key)."""
    async with (
        fresh_database(tmp_path) as url,
        producer(url, tmp_path) as service,
        collector(contract) as delivered,
        relay(url, batch_size=2, linger=0.05) as first,
        relay(url, batch_size=2) as second,
    ):
        seqs = dict.fromkeys(KEYS, 0)
        for i in range(200):
            key = KEYS[i // 4 % len(KEYS)]
            seqs[key] += 1
            await commit(service, contract, key, seqs[key])
        await eventually(lambda: len(delivered.distinct()) == 200, within=60, what="200 messages delivered")
        await eventually(lambda: first.backlog == 0 and second.backlog == 0, what="no backlog")
        async with service.database.engine.connect() as conn:
            retried = (await conn.execute(sa.select(sa.func.sum(outbox.c.attempts)))).scalar()
    # A row is sent again only after an attempt the broker did not confirm (a publish timeout
    # on a loaded machine, a restart of the shared RabbitMQ), never after a confirmed one.
    assert len(delivered.messages) - 200 <= (retried or 0), "a confirmed message was sent again"
    assert in_order(delivered), delivered.first_order()
    assert {key: len(s) for key, s in delivered.first_order().items()} == dict.fromkeys(KEYS, 40)


async def test_a_backlog_on_one_key_drains_without_waiting_for_the_poll_interval(
    contract: Orders, tmp_path: Path
) -> None:
    """A round sends one row per key, so a backlog on one key (left by a broker outage, or
    committed before the relay started) takes one round per message: the relay starts the
    next round at once while the last one sent something, and waits for ``poll_interval``
    (an hour here) only once a round finds nothing to send."""
    async with (
        fresh_database(tmp_path) as url,
        producer(url, tmp_path) as service,
        collector(contract) as delivered,
    ):
        for seq in range(1, 31):
            await commit(service, contract, "k0", seq)
        async with relay(url, poll_interval=3600):
            await eventually(lambda: len(delivered.distinct()) == 30, what="30 messages on one key delivered")
    assert delivered.first_order() == {"k0": list(range(1, 31))}


async def test_a_broker_outage_keeps_the_backlog_and_drains_it_in_order(
    contract: Orders, tmp_path: Path
) -> None:
    """With RabbitMQ unreachable (a proxy in front of it is stopped) for several of
    the relay's longest backoffs, the service still commits; its relay backs off and
    reports itself stalled in a metric and a log line while /health/ready stays 200;
    once the broker is back the backlog drains in order per key."""
    proxy = Proxy("127.0.0.1", 5672)
    await proxy.start()
    service = Service("shop", database=True)
    service.publisher  # noqa: B018 - gives the service messaging
    async with fresh_database(tmp_path) as url, collector(contract) as delivered:
        overrides = [
            f"database.url={url}",
            f"database.migrations={tmp_path}/none",
            f"messaging.url=amqp://guest:guest@127.0.0.1:{proxy.port}/",
            "messaging.reconnect_backoff=0.2",
            "messaging.publish_timeout=2",
            "messaging.outbox.enabled=true",
            "messaging.outbox.poll_interval=0.2",
            "messaging.outbox.stalled_after=1",
            "messaging.outbox.backoff=0.1",
            "messaging.outbox.backoff_max=1",
            "health.cache_ttl=0",
        ]
        async with TestService(service, overrides=overrides, with_real=True) as t:
            for seq in range(1, 11):
                await commit(service, contract, KEYS[seq % 2], seq)
            await eventually(lambda: len(delivered.distinct()) == 10, what="10 messages before the outage")
            # The consumer can hold a message whose confirm has not reached the relay yet: cutting the
            # broker then would leave that row unsent (and rightly sent again), so the backlog is
            # measured empty before the outage.
            await eventually(lambda: _all_sent(service), what="the relay marking the 10 messages sent")

            await proxy.stop()
            for seq in range(11, 61):
                await commit(service, contract, KEYS[seq % 2], seq)
            relay = service.component("outbox-relay")
            await eventually(lambda: relay.stalled, within=30, what="the relay reporting a stall")  # type: ignore[attr-defined]
            registry = service.observability.metrics.registry
            assert registry.get_sample_value("messaging_outbox_relay_stalled") == 1
            assert [e for e in t.logs if e["event"].startswith("outbox relay stalled")]
            assert (await t.http.get("/health/ready")).status_code == 200
            await eventually(
                lambda: registry.get_sample_value("messaging_outbox_backlog") == 50,
                what="the backlog measured",
            )
            assert registry.get_sample_value("messaging_outbox_oldest_age_seconds") > 0
            await asyncio.sleep(3)  # the outage goes on: three rounds at the relay's longest backoff (1 s)
            assert len(delivered.distinct()) == 10
            await proxy.start()

            await eventually(lambda: len(delivered.distinct()) == 60, within=60, what="the backlog drained")
            await eventually(lambda: not relay.stalled, what="the relay recovered")  # type: ignore[attr-defined]
            assert registry.get_sample_value("messaging_outbox_relay_stalled") == 0
            relayed = {"operation": "placeOrder"}
            await eventually(
                lambda: registry.get_sample_value("messaging_outbox_relayed_total", relayed) == 60,
                what="60 rows counted as relayed (after their batch's commit)",
            )
            assert (
                registry.get_sample_value("messaging_outbox_failures_total", {"operation": "placeOrder"}) > 0
            )
    await proxy.stop()
    assert in_order(delivered), delivered.first_order()
    assert delivered.first_order()["k0"] == list(range(2, 61, 2))


async def test_a_relay_elsewhere_wakes_on_notify(contract: Orders, tmp_path: Path) -> None:
    """A commit in an instance that runs no relay notifies (PostgreSQL NOTIFY at commit):
    a relay in another instance, polling only every 60 s, sends the message at once."""
    async with (
        fresh_database(tmp_path) as url,
        producer(url, tmp_path) as service,
        collector(contract) as delivered,
        relay(url, poll_interval=60),
    ):
        await asyncio.sleep(0.5)  # the relay's first round found nothing; it now waits
        await commit(service, contract, "k0", 1)
        await eventually(lambda: len(delivered.distinct()) == 1, within=30, what="the notified relay sending")


async def _all_sent(service: Service) -> bool:
    """Whether the relay has marked every outbox row sent."""
    async with service.database.engine.connect() as conn:
        query = sa.select(sa.func.count()).where(outbox.c.sent_at.is_(None))
        return int((await conn.execute(query)).scalar_one()) == 0
