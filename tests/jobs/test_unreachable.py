"""A jobs store that does not answer fails the start naming the setting that points at it;
a broker that refuses the worker is said in the log, and listened to again."""

from __future__ import annotations

import asyncio
import socket
import uuid

import pytest

from microlib import Service
from microlib.core.errors import Unavailable
from microlib.core.lifecycle import Component
from microlib.jobs import JobsSettings
from microlib.jobs.feature import open_queue
from microlib.testing import TestService
from tests.forwarder import forwarding
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
        async with forwarding(port, to=5672):
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
        async with forwarding(port, to=5672):
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
        async with forwarding(port, to=5672):
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
        async with forwarding(port, to=5672) as cut:
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


@pytest.mark.connected
async def test_a_rabbitmq_outage_under_the_jobs_is_two_lines() -> None:
    """RabbitMQ goes away under a worker and a queue checked again and again, and comes back:
    the drivers' lines are one warning as the outage starts, naming jobs.url with its
    password hidden, and one info line when RabbitMQ answers again, with how many errors it
    held; the worker takes jobs again. Before, aiormq logged an error line for each failed
    connection, from the jobs-queue check at every health check and from the worker's
    reconnections."""
    port = _free_port()
    service, overrides = _on_rabbitmq(f"amqp://guest:guest@127.0.0.1:{port}/")
    failing = "RabbitMQ client failing; its errors are held until RabbitMQ answers"
    answered = "RabbitMQ answers again"
    async with forwarding(port, to=5672) as cut, TestService(service, overrides=overrides) as t:
        enqueue = ShopJobsEnqueuer(service.jobs)
        handle = await enqueue.send_receipt(Receipt(order_id="o-1"))
        assert await handle.result(timeout=30) == Total(order_id="o-1", items=0)
        await cut()
        queue = service.component("jobs-queue")
        for _ in range(5):  # health checks, each probing RabbitMQ
            assert isinstance(await _down(queue), Unavailable)
        async with forwarding(port, to=5672):
            await _until(queue, down=False)
            async with asyncio.timeout(30):
                while not any(e["event"] == answered for e in t.logs):  # noqa: ASYNC110 - no event to wait on
                    await asyncio.sleep(0.05)
                while True:  # the enqueuing connection reconnects by itself, a few seconds later
                    try:
                        handle = await enqueue.send_receipt(Receipt(order_id="o-2"))
                        break
                    except Unavailable:
                        await asyncio.sleep(0.2)
            assert await handle.result(timeout=30) == Total(order_id="o-2", items=0)
    drivers = ("aiormq", "aio_pika", "taskiq_aio_pika")
    said = [
        e for e in t.logs if e["level"] in ("warning", "error") and e.get("logger", "").startswith(drivers)
    ]
    assert said == []
    [warned] = [e for e in t.logs if e["event"] == failing]
    [recovered] = [e for e in t.logs if e["event"] == answered]
    masked = f"amqp://guest:**********@127.0.0.1:{port}/"
    assert (warned["level"], warned["broker"], warned["setting"]) == ("warning", masked, "jobs.url")
    assert (recovered["level"], recovered["broker"], recovered["setting"]) == ("info", masked, "jobs.url")
    assert recovered["errors_held"] > 0


@pytest.mark.connected
async def test_a_worker_refused_again_and_again_says_it_once_and_how_many_as_it_listens() -> None:
    """RabbitMQ refusing the worker for several of its attempts (0.5 s, then 1 s apart): one
    error line as the first fails, none for the next ones, and the info line as it listens
    again gives how many attempts failed and for how long. Before, each attempt logged its
    own error line, six a minute for as long as the broker stayed away."""
    port = _free_port()
    service, overrides = _on_rabbitmq(f"amqp://guest:guest@127.0.0.1:{port}/")
    async with TestService(service, overrides=overrides) as t:
        worker = service.component("jobs-worker")
        await _until(worker, down=True)
        await asyncio.sleep(2)  # the outage: attempts at 0, 0.5 and 1.5 s
        async with forwarding(port, to=5672):
            await _until(worker, down=False)
    failed = [e for e in t.logs if e["event"] == "job consumer failed; listening again"]
    [listening] = [e for e in t.logs if e["event"] == "job consumer listening again"]
    assert len(failed) == 1
    assert listening["failed_attempts"] >= 3
    assert listening["after_s"] >= 1.5
