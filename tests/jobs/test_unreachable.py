"""A jobs store that does not answer fails the start naming the setting that points at it;
a broker that refuses the worker is said in the log, and listened to again."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from microlib import Service
from microlib.core.errors import Unavailable
from microlib.core.lifecycle import Component
from microlib.jobs import JobsSettings
from microlib.jobs.feature import open_queue
from microlib.testing import TestService
from tests.jobs._contract import Handlers, Receipt, ShopJobsEnqueuer, Total
from tests.jobs.conftest import AMQP_URL, REDIS_URL


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        (
            JobsSettings(url="redis://app:s3cret@127.0.0.1:1/0"),
            "the jobs store at redis://app:**********@127.0.0.1:1/0 (jobs.url): ConnectionError: ",
        ),
        (
            JobsSettings(url="postgresql://app:s3cret@127.0.0.1:1/jobs"),
            "the jobs store at postgresql://app:**********@127.0.0.1:1/jobs (jobs.url): ",
        ),
        (
            JobsSettings(url="amqp://guest:guest@127.0.0.1:1/", store="redis://127.0.0.1:1/0"),
            "the jobs store at redis://127.0.0.1:1/0 (jobs.store): ConnectionError: ",
        ),
    ],
    ids=["redis", "postgresql", "amqp-store"],
)
async def test_a_store_that_does_not_answer_names_its_setting(settings: JobsSettings, named: str) -> None:
    """Before, the driver's own error alone (`Error 111 connecting to 127.0.0.1:1`) named no setting."""
    queue = open_queue(settings, "unreachable")
    with pytest.raises(Unavailable) as raised:
        await queue.start()
    assert str(raised.value).startswith(named), str(raised.value)
    assert "s3cret" not in str(raised.value)


@pytest.mark.connected
async def test_a_worker_whose_broker_refuses_at_start_listens_again_once_it_answers() -> None:
    """RabbitMQ unreachable when the service starts, the store up: the service starts (the
    worker opens its broker after the start), the worker says it failed and is DOWN, and
    once RabbitMQ answers it takes jobs. Before, its consumer loop died on the refused
    connection and no job ran until the service restarted, while it stayed live and ready."""
    port = _free_port()
    service, overrides = _on_rabbitmq(f"amqp://guest:guest@127.0.0.1:{port}/")
    async with TestService(service, overrides=overrides) as t:
        worker = service.component("jobs-worker")
        down = await _until(worker, down=True)
        async with _forwarding(port, to=5672):
            handle = await ShopJobsEnqueuer(service.jobs).send_receipt(Receipt(order_id="o-1"))
            assert await handle.result(timeout=30) == Total(order_id="o-1", items=0)
            assert await _down(worker) is None
    assert str(down).startswith("the job consumer failed, listening again: AMQPConnectionError")
    [failed, *_] = [e for e in t.logs if e["event"] == "job consumer failed; listening again"]
    assert failed["level"] == "error"
    assert failed["error"].startswith("AMQPConnectionError: ")


@pytest.mark.connected
async def test_an_enqueue_the_broker_refuses_is_unavailable_naming_its_setting() -> None:
    """RabbitMQ refusing, an enqueue raises Unavailable (retryable, a 503 to an HTTP caller)
    naming jobs.url with its password hidden; before, aiormq's own AMQPConnectionError
    escaped, an INTERNAL error naming nothing."""
    service, overrides = _on_rabbitmq(f"amqp://guest:s3cret@127.0.0.1:{_free_port()}/", "jobs.worker=false")
    async with TestService(service, overrides=overrides):
        with pytest.raises(Unavailable) as raised:
            await ShopJobsEnqueuer(service.jobs).send_receipt(Receipt(order_id="o-1"))
    assert str(raised.value).startswith("the jobs broker at amqp://guest:**********@127.0.0.1:")
    assert "(jobs.url): AMQPConnectionError: " in str(raised.value)


@pytest.mark.connected
async def test_an_idempotency_key_whose_job_the_broker_refused_is_free_again() -> None:
    """RabbitMQ refusing, an enqueue under a key raises Unavailable; once RabbitMQ answers, the
    same key queues the job. Before, the key stayed held by the job never queued: every
    enqueue under it answered that id, queued nothing, until ``jobs.idempotency_ttl``."""
    port = _free_port()
    service, overrides = _on_rabbitmq(f"amqp://guest:guest@127.0.0.1:{port}/", "jobs.worker=false")
    async with TestService(service, overrides=overrides):
        enqueue = ShopJobsEnqueuer(service.jobs)
        with pytest.raises(Unavailable):
            await enqueue.send_receipt(Receipt(order_id="o-1"), idempotency_key="receipt-o-1")
        async with _forwarding(port, to=5672):
            handle = await enqueue.send_receipt(Receipt(order_id="o-1"), idempotency_key="receipt-o-1")
            again = await enqueue.send_receipt(Receipt(order_id="o-1"), idempotency_key="receipt-o-1")
    assert handle.queued
    assert (again.queued, again.id) == (False, handle.id)


@pytest.mark.connected
async def test_a_worker_that_listens_again_is_up_before_its_next_job() -> None:
    """RabbitMQ refusing the worker, then answering: the worker is UP once it listens
    again, with no job sent (and says so in the log). Before, it stayed DOWN until it
    took its next job, however long the queue stayed empty."""
    port = _free_port()
    service, overrides = _on_rabbitmq(f"amqp://guest:guest@127.0.0.1:{port}/")
    async with TestService(service, overrides=overrides) as t:
        worker = service.component("jobs-worker")
        await _until(worker, down=True)
        async with _forwarding(port, to=5672):
            await _until(worker, down=False)
    [listening] = [e for e in t.logs if e["event"] == "job consumer listening again"]
    assert listening["level"] == "info"


@pytest.mark.connected
async def test_the_queue_is_down_while_its_broker_is_and_up_once_it_answers() -> None:
    """RabbitMQ refusing, the store up: the jobs-queue check is DOWN naming jobs.url with its
    password hidden, UP once RabbitMQ answers, and DOWN again when it goes away. Before, it
    pinged only the store and said UP while every enqueue failed."""
    port = _free_port()
    service, overrides = _on_rabbitmq(f"amqp://guest:guest@127.0.0.1:{port}/", "jobs.worker=false")
    async with TestService(service, overrides=overrides):
        queue = service.component("jobs-queue")
        refused = await _down(queue)
        async with _forwarding(port, to=5672) as cut:
            assert await _down(queue) is None
            await cut()
            gone = await _down(queue)
    assert isinstance(refused, Unavailable)
    named = f"the jobs broker at amqp://guest:**********@127.0.0.1:{port}/ (jobs.url): "
    assert str(refused).startswith(named)
    assert isinstance(gone, Unavailable)
    assert str(gone).startswith("the jobs broker at amqp://guest:**********@")


@pytest.mark.connected
@pytest.mark.parametrize(
    ("down", "up"),
    [
        ("redis://app:s3cret@127.0.0.1:1/1", "redis://127.0.0.1:6379/1"),
        ("postgresql://app:s3cret@127.0.0.1:1/test", "postgresql://postgres@127.0.0.1:5432/test"),
        ("amqp://guest:s3cret@127.0.0.1:1/", AMQP_URL),
    ],
    ids=["redis", "postgresql", "amqp"],
)
async def test_a_broker_apart_from_the_store_is_checked_too(down: str, up: str) -> None:
    """Whatever the broker, when it is not the store's server its check is the broker's own:
    DOWN naming jobs.url (password hidden) while the store answers, UP when it answers."""
    settings = [JobsSettings(url=url, store=REDIS_URL) for url in (down, up)]
    queues = [open_queue(each, "probed") for each in settings]
    for queue in queues:
        await queue.start()
    try:
        with pytest.raises(Unavailable) as raised:
            await queues[0].check()
        assert await queues[1].check() == {"broker": settings[1].backend}
    finally:
        for queue in queues:
            await queue.stop()
    assert str(raised.value).startswith(f"the jobs broker at {down.replace('s3cret', '*' * 10)} (jobs.url): ")


def _on_rabbitmq(url: str, *extra: str) -> tuple[Service, list[str]]:
    """A service of the test contract's jobs on RabbitMQ at ``url``, the store up, and the
    settings that say so (a namespace of its own, no scheduler)."""
    service = Service("shop")
    service.include(Handlers())
    overrides = [
        f"jobs.url={url}",
        f"jobs.store={REDIS_URL}",
        f"jobs.namespace=t{uuid.uuid4().hex[:10]}",
        "jobs.scheduler.enabled=false",
        *extra,
    ]
    return service, overrides


async def _down(component: Component) -> Exception | None:
    """What the component's health check raises, if anything."""
    try:
        await component.check()
    except Exception as exc:
        return exc
    return None


async def _until(component: Component, *, down: bool) -> Exception | None:
    """Check ``component`` until it is ``down`` (or up), for 30 s at most; what it raised last."""
    async with asyncio.timeout(30):
        while (await _down(component) is not None) != down:  # noqa: ASYNC110 - no event to wait on
            await asyncio.sleep(0.05)
    return await _down(component)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def _forwarding(port: int, *, to: int) -> AsyncIterator[Callable[[], Awaitable[None]]]:
    """Listen on ``port`` and pipe each connection to 127.0.0.1:``to`` (RabbitMQ), as a
    broker that comes up does; what it yields stops listening and closes every
    connection, as a broker that goes away does."""
    clients: list[asyncio.StreamWriter] = []

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def forward(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        clients.append(client_w)
        server_r, server_w = await asyncio.open_connection("127.0.0.1", to)
        await asyncio.gather(pipe(client_r, server_w), pipe(server_r, client_w))

    server = await asyncio.start_server(forward, "127.0.0.1", port)

    async def cut() -> None:
        server.close()
        for client in clients:
            client.close()
        await server.wait_closed()

    try:
        yield cut
    finally:
        server.close()
