"""``kill -9`` of relay processes mid-batch while a producer commits a numbered sequence."""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import signal
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from microlib import Service
from microlib.messaging import MessageContext
from microlib.testing import TestService
from tests.messaging.contract import Orders, eventually
from tests.messaging.outbox._harness import RABBIT_URL, collector, commit, fresh_database, in_order, producer
from tests.messaging.test_rabbit import delete_queues

pytestmark = pytest.mark.connected

ROOT = Path(__file__).resolve().parents[3]
KEYS = [f"k{i}" for i in range(4)]
KILLS = 6
BATCH = 20  # relay_process.py's batch size


async def start_relay(url: str, log: Path, linger: float = 0.05) -> asyncio.subprocess.Process:
    """A relay process, returned once it relays; ``linger`` slows each of its publishes.

    Its stderr goes to ``log``, shown if it ends before it relays."""
    with log.open("ab") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.messaging.outbox.relay_process",
            url,
            str(linger),
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'codegen'}"},
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
        )
    assert process.stdout is not None
    if await process.stdout.readline() != b"relaying\n":
        await process.wait()
        output = await asyncio.to_thread(log.read_text)
        raise AssertionError(f"the relay exited with {process.returncode}:\n{output[-4000:]}")
    return process


async def test_killed_relays_lose_nothing_and_duplicate_at_most_their_batches(
    contract: Orders, tmp_path: Path
) -> None:
    """Eight relay processes are killed with SIGKILL, one after another, each while it
    delivers, as a producer commits numbered messages over 4 keys: half of them at a random
    moment (before the broker got a claimed batch as often as after), half at once after a
    delivery (its batch confirmed, not yet marked sent). Afterwards every committed message
    was delivered, each key's messages were first delivered in commit order, and there were
    duplicates, at most one batch per kill; a microlib consumer deduplicating by message id
    (messaging.idempotency) handled each message exactly once."""
    handled: list[str] = []

    async def on_order(self: Any, payload: Any, ctx: MessageContext) -> None:
        handled.append(ctx.message_id)

    group = f"dedupe{uuid.uuid4().hex[:8]}"
    consumer = Service("dedupe")
    consumer.include(type("Stock", (contract.consumer,), {"on_order": on_order})())
    overrides = [
        f"messaging.url={RABBIT_URL}",
        f"messaging.group={group}",
        "messaging.prefetch=1",
        "messaging.idempotency.operations=[onOrder]",
    ]
    async with (
        fresh_database(tmp_path) as url,
        producer(url, tmp_path) as service,
        collector(contract) as delivered,
        TestService(consumer, overrides=overrides, with_real=True),
    ):
        seqs = dict.fromkeys(KEYS, 0)
        stop = asyncio.Event()

        async def produce() -> None:
            for key in itertools.cycle(KEYS):
                if stop.is_set():
                    return
                seqs[key] += 1
                await commit(service, contract, key, seqs[key])
                await asyncio.sleep(0.005)

        producing = asyncio.create_task(produce())
        try:
            for kill in range(KILLS):
                process = await start_relay(url, tmp_path / "relay.log")
                # Killed while it works: after it delivered something, at once (the batch's
                # commit lingers: it is sent again) or at a random moment (a relay that marked
                # rows sent before the broker got them would lose them there).
                before = len(delivered.messages)
                await eventually(lambda: len(delivered.messages) > before, what="the relay delivering")  # noqa: B023
                if kill % 2:
                    await asyncio.sleep(random.uniform(0.0, 0.3))
                process.send_signal(signal.SIGKILL)
                await process.wait()
        finally:
            stop.set()
            await producing
        total = sum(seqs.values())
        # The survivor drains the backlog at full speed: no kill windows left to widen.
        last = await start_relay(url, tmp_path / "relay.log", linger=0)
        try:
            await eventually(
                lambda: len(delivered.distinct()) == total, within=120, what="every message delivered"
            )
            # Both queues get every delivery: once the collector has them all, the consumer follows.
            await eventually(lambda: len(handled) == total, within=60, what="every message handled")
        finally:
            last.send_signal(signal.SIGKILL)
            await last.wait()
            await delete_queues(f"{group}.onOrder", f"{group}.onOrder.dlq")

    assert in_order(delivered), delivered.first_order()
    assert {key: len(s) for key, s in delivered.first_order().items()} == seqs
    duplicates = len(delivered.messages) - total
    print(f"committed={total} kills={KILLS} duplicates={duplicates}")
    assert 0 < duplicates <= KILLS * BATCH, f"{duplicates} duplicates after {KILLS} kills"
    assert sorted(handled) == sorted(delivered.distinct()), (
        "the deduplicating consumer handled a message twice"
    )
