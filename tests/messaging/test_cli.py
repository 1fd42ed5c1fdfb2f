"""`microlib messages dlq list|show|replay|purge` as a real process, on each real broker."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from microlib import Service
from microlib.messaging import MessageContext, Reject
from microlib.testing import TestService
from tests.messaging.contract import eventually, orders, placed
from tests.messaging.test_rabbit import RABBIT_URL, delete_queues
from tests.messaging.test_redis import REDIS_URL

ROOT = Path(__file__).resolve().parents[2]
TARGET = "tests.messaging._dlq_app:service"


def cli(prefix: str, *args: str, queue: str = "") -> subprocess.CompletedProcess[str]:
    """Run `python -m microlib.cli messages dlq ARGS` for the contract under ``prefix``
    (its consumer's RabbitMQ queue named ``queue`` in the binding, if given)."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "codegen")]),
        "MICROLIB_TEST_PREFIX": prefix,
        "MICROLIB_TEST_QUEUE": queue,
    }
    return subprocess.run(
        [sys.executable, "-m", "microlib.cli", "messages", "dlq", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(params=["rabbitmq", "redis", "kafka"])
async def broker(request: pytest.FixtureRequest) -> AsyncIterator[tuple[str, str]]:
    """The broker's name and URL; RabbitMQ's queues are deleted afterwards."""
    name: str = request.param
    group = f"g{uuid.uuid4().hex[:10]}"
    if name == "kafka":
        url = f"kafka://{request.getfixturevalue('kafka_bootstrap')}"
    else:
        url = RABBIT_URL if name == "rabbitmq" else REDIS_URL
    yield url, group
    if name == "rabbitmq":
        names = [f"{g}.onOrder" for g in (group, group + "x")]
        await delete_queues(*names, *(f"{n}.dlq" for n in names))


@pytest.mark.connected
async def test_list_show_replay_and_purge(broker: tuple[str, str]) -> None:
    """Dead letters are listed and shown with their error; a replay reaches the
    consumer's group again, and only it (another group on the same channel does not
    handle it); purge empties them; a second replay of a purged letter is refused."""
    url, group = broker
    prefix = f"t{uuid.uuid4().hex[:10]}"
    contract = orders(prefix)
    handled: dict[str, list[str]] = {group: [], group + "x": []}
    refuse = True

    def consumer(name: str) -> Service:
        async def on_order(self: Any, payload: Any, ctx: MessageContext) -> None:
            if refuse and name == group:
                raise Reject(f"no stock for {payload.order_id}")
            handled[name].append(payload.order_id)

        service = Service("stock")
        service.include(type("Stock", (contract.consumer,), {"on_order": on_order})())
        return service

    settings = [f"messaging.url={url}", "messaging.consumers.onOrder.parameters.region=eu"]
    first, other = consumer(group), consumer(group + "x")
    async with (
        TestService(first, overrides=[*settings, f"messaging.group={group}"]),
        TestService(other, overrides=[*settings, f"messaging.group={group}x"]),
    ):
        for order in ("d1", "d2"):
            await first.publisher.publish(
                contract.place_order, placed(order), parameters={"region": "eu"}, message_id=f"m-{order}"
            )
        await eventually(lambda: len(handled[group + "x"]) == 2, what="the other group handled both")
        await eventually(lambda: _count(first, contract.on_order, 2), what="two dead letters")
    common = [TARGET, "--set", f"messaging.url={url}", "--set", f"messaging.group={group}"]

    listed = await asyncio.to_thread(cli, prefix, "list", *common)
    assert listed.returncode == 0, listed.stderr
    lines = sorted(listed.stdout.splitlines())  # handled concurrently: dead-lettered in any order
    assert [line.split("  ")[:5] for line in lines] == [
        ["m-d1", "onOrder", "poison", "attempts=1", "INVALID_ARGUMENT"],
        ["m-d2", "onOrder", "poison", "attempts=1", "INVALID_ARGUMENT"],
    ]
    assert lines[0].endswith("no stock for d1")
    assert "2 dead letter(s)" in listed.stderr

    shown = await asyncio.to_thread(cli, prefix, "show", "m-d1", *common)
    assert shown.returncode == 0, shown.stderr
    document = json.loads(shown.stdout)
    assert document["payload"] == {"order_id": "d1", "lines": [{"sku": "book-1", "qty": 1}]}
    assert (document["operation"], document["queue"]) == ("onOrder", f"{group}.onOrder")
    assert document["address"] == f"{prefix}.orders.eu"
    assert document["headers"]["x-microlib-error"] == "no stock for d1"

    replayed = await asyncio.to_thread(cli, prefix, "replay", "m-d1", *common)
    assert (replayed.returncode, replayed.stdout.strip()) == (0, "replayed m-d1"), replayed.stderr
    refuse = False
    handled = {group: [], group + "x": []}
    first, other = consumer(group), consumer(group + "x")
    async with (
        TestService(first, overrides=[*settings, f"messaging.group={group}"]),
        TestService(other, overrides=[*settings, f"messaging.group={group}x"]),
    ):
        await eventually(lambda: handled[group] == ["d1"], what="the replayed message handled")
        # A message published after the replay reaches both groups: the other group
        # saw the replay (before it, on a shared stream) and did not handle it.
        await first.publisher.publish(contract.place_order, placed("d3"), parameters={"region": "eu"})
        await eventually(lambda: handled[group + "x"] == ["d3"], what="the other group's next message")
        await eventually(lambda: handled[group] == ["d1", "d3"], what="the group's next message")

    purged = await asyncio.to_thread(cli, prefix, "purge", "--yes", *common)
    # Kafka cannot delete one record: the replayed letter stays until the purge.
    kept = 2 if url.startswith("kafka") else 1
    assert (purged.returncode, purged.stdout.strip()) == (0, f"purged {kept} dead letter(s)"), purged.stderr
    empty = await asyncio.to_thread(cli, prefix, "list", *common)
    assert (empty.stdout, "0 dead letter(s)" in empty.stderr) == ("", True)
    missing = await asyncio.to_thread(cli, prefix, "replay", "m-d2", *common)
    assert (missing.returncode, missing.stderr.strip()) == (2, "microlib messages: no dead letter m-d2")


@pytest.mark.connected
async def test_the_dead_letters_of_a_queue_the_contract_names_are_found() -> None:
    """A RabbitMQ binding's ``queue.name`` names the consumer's queue, so its dead
    letters are in ``<name>.dlq``: the service's API and the command read them there
    (they read ``<group>.<operation>.dlq``, empty), and a replay reaches the consumer."""
    prefix, queue = f"t{uuid.uuid4().hex[:10]}", f"q{uuid.uuid4().hex[:10]}"
    contract = orders(prefix, bindings={"amqp": {"queue": {"name": queue}}})
    handled: list[str] = []
    refuse = True

    async def on_order(self: Any, payload: Any, ctx: MessageContext) -> None:
        if refuse:
            raise Reject(f"no stock for {payload.order_id}")
        handled.append(payload.order_id)

    service = Service("stock")
    service.include(type("Stock", (contract.consumer,), {"on_order": on_order})())
    settings = [f"messaging.url={RABBIT_URL}", "messaging.consumers.onOrder.parameters.region=eu"]
    try:
        async with TestService(service, overrides=settings):
            await service.publisher.publish(
                contract.place_order, placed("d1"), parameters={"region": "eu"}, message_id="m-d1"
            )
            await eventually(lambda: _count(service, contract.on_order, 1), what="the dead letter")
            listed = await asyncio.to_thread(cli, prefix, "list", TARGET, *_set(settings), queue=queue)
            assert listed.returncode == 0, listed.stderr
            assert [line.split("  ")[:3] for line in listed.stdout.splitlines()] == [
                ["m-d1", "onOrder", "poison"]
            ]
            refuse = False
            assert await service.messaging.replay_dead_letter(contract.on_order, "m-d1")
            await eventually(lambda: handled == ["d1"], what="the replayed message handled")
    finally:
        await delete_queues(queue, f"{queue}.dlq")


def _set(overrides: list[str]) -> list[str]:
    return [part for override in overrides for part in ("--set", override)]


async def _count(service: Service, operation: Any, count: int) -> bool:
    return len(await service.messaging.dead_letters(operation)) >= count


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["list", TARGET], "messaging.url is memory://: dead letters live in the service's process"),
        (
            ["list", TARGET, "--set", f"messaging.url={REDIS_URL}", "--operation", "onRefund"],
            "--operation 'onRefund': the service receives no such operation; known: onOrder",
        ),
        (["purge", TARGET, "--set", f"messaging.url={REDIS_URL}"], "purge drops every dead letter for good"),
        (
            ["list", TARGET, "--set", "messaging.url=nats://x"],
            # The key and the source the value came from, not the whole section and "(default)".
            "messaging.url = nats://x (--set messaging.url=...): the scheme must be one of memory://,",
        ),
        (
            ["list", TARGET, "--set", "messaging.url=redis://user:secret@127.0.0.1:1/0"],
            "(messaging.url redis://***@127.0.0.1:1/0)",
        ),
    ],
    ids=["memory", "unknown-operation", "purge-without-yes", "bad-url", "unreachable"],
)
def test_mistakes_get_one_clear_line_and_exit_2(args: list[str], error: str) -> None:
    """The embedded broker, an operation the service does not receive, a purge
    without --yes, a bad URL and an unreachable broker each give one line naming
    the cause (never the password), exit status 2, and no traceback."""
    result = cli("cli", *args)
    assert result.returncode == 2, result.stderr
    assert error in result.stderr
    assert "Traceback" not in result.stderr
    assert "secret" not in result.stderr
