"""A jobs store that does not answer fails the start naming the setting that points at it;
a broker that refuses the worker is said in the log."""

from __future__ import annotations

import asyncio

import pytest

from microlib import Service
from microlib.core.errors import Unavailable
from microlib.jobs import JobsSettings
from microlib.jobs.feature import open_queue
from microlib.testing import TestService
from tests.jobs._contract import Handlers
from tests.jobs.conftest import REDIS_URL


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
async def test_a_worker_whose_broker_refuses_says_so_in_the_log() -> None:
    """RabbitMQ down, the store up: the service starts (the worker opens its broker after the
    start), the consumer loop dies on the refused connection; before, only aio-pika's own
    line said so, and nothing said that no job would run."""
    service = Service("shop")
    service.include(Handlers())
    overrides = [
        "jobs.url=amqp://guest:guest@127.0.0.1:1/",
        f"jobs.store={REDIS_URL}",
        "jobs.scheduler.enabled=false",
    ]
    async with TestService(service, overrides=overrides) as t:
        async with asyncio.timeout(30):
            while not any("job consumer stopped" in e["event"] for e in t.logs):  # noqa: ASYNC110 - no event to wait on
                await asyncio.sleep(0.05)
    [stopped] = [e for e in t.logs if "job consumer stopped" in e["event"]]
    assert stopped["event"] == "job consumer stopped: no job runs until the service restarts"
    assert stopped["level"] == "error"
    assert stopped["error"].startswith("AMQPConnectionError: ")
