"""The jobs section: backends by URL, the store rule, the extras named when a driver is missing."""

from __future__ import annotations

import sys

import pytest
from pydantic import ValidationError

from microlib import Service
from microlib.config import ConfigError
from microlib.jobs import JobsSettings, open_queue
from microlib.jobs.scheduler import open_lease
from microlib.testing import TestService
from tests.jobs._contract import Handlers


def test_the_backend_and_store_follow_the_urls() -> None:
    """Redis and PostgreSQL hold their own store; RabbitMQ needs one named."""
    assert JobsSettings().backend == "memory"
    assert JobsSettings().store_url is None
    assert JobsSettings(url="redis://h/0").store_url == "redis://h/0"
    assert JobsSettings(url="postgres://h/db").backend == "postgresql"
    amqp = JobsSettings(url="amqp://h/", store="postgresql://h/db")
    assert (amqp.backend, amqp.store_url) == ("amqp", "postgresql://h/db")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"url": "amqp://h/"}, "store: required with an amqp:// url"),
        ({"url": "kafka://h"}, "unsupported scheme in 'kafka://h'"),
        ({"url": "redis://h", "store": "memory://"}, "store: unsupported scheme"),
        ({"scheduler": {"lease_ttl": 1, "renew_interval": 2}}, "must be shorter than lease_ttl"),
    ],
)
def test_a_bad_section_names_the_key(fields: dict[str, object], message: str) -> None:
    """Each mistake is reported with the key it concerns."""
    with pytest.raises(ValidationError, match=message):
        JobsSettings.model_validate(fields)


def test_a_missing_broker_driver_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without taskiq installed, a broker URL says which extra to install."""
    monkeypatch.setitem(sys.modules, "microlib.jobs.taskiq", None)
    with pytest.raises(ImportError, match=r"pip install 'microlib\[jobs-rabbitmq\]'"):
        open_queue(JobsSettings(url="amqp://h/", store="redis://h"), "ns")


def test_a_missing_lease_driver_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without asyncpg, a PostgreSQL store says which extra to install."""
    monkeypatch.setitem(sys.modules, "microlib.jobs.postgres_lease", None)
    with pytest.raises(ImportError, match=r"pip install 'microlib\[jobs-postgres\]'"):
        open_lease(JobsSettings(url="postgresql://h/db"), "ns")


async def test_a_queue_no_job_of_the_service_travels_on_is_refused() -> None:
    """A misspelt jobs.queues would have the worker take jobs it has no handler for, and dead-letter
    them, while its own jobs' queue went unread: the start fails naming the setting and its source."""
    service = Service("shop")
    service.include(Handlers())
    with pytest.raises(ConfigError) as refused:
        async with TestService(service, overrides=["jobs.queues=[mail, mial]"], environ={}):
            pass
    [problem] = refused.value.problems
    assert str(problem) == (
        "jobs.queues = [mail, mial] (--set jobs.queues=...): no job of this service travels on mial "
        "(its jobs' queues: default, mail): its worker would dead-letter what it took from there "
        "[unknown_queue]"
    )
