"""What microlib.messaging._aiokafka_private and the Kafka adapter's OutageLog rely on in
aiokafka, checked on the installed one."""

from __future__ import annotations

import importlib
import inspect
import logging
import pkgutil

import aiokafka
from aiokafka import AIOKafkaConsumer
from aiokafka.client import AIOKafkaClient
from aiokafka.consumer.fetcher import Fetcher
from aiokafka.consumer.group_coordinator import GroupCoordinator

from microlib.messaging._aiokafka_private import _COORDINATOR_TASKS, close_connections
from microlib.observability._outage import library_loggers


async def test_a_consumer_keeps_its_client_and_the_client_closes_its_connections() -> None:
    """``AIOKafkaConsumer._client`` is the ``AIOKafkaClient`` whose ``close()`` coroutine drops every
    connection (``_conns``); the consumer's ``stop()`` still ends it afterwards."""
    consumer = AIOKafkaConsumer(bootstrap_servers="127.0.0.1:9")
    assert isinstance(consumer._client, AIOKafkaClient)
    assert inspect.iscoroutinefunction(AIOKafkaClient.close)
    assert isinstance(consumer._client._conns, dict)
    await close_connections(consumer)
    assert not consumer._client._conns
    await consumer.stop()


async def test_a_consumer_keeps_its_fetcher_and_its_coordinator_keeps_its_tasks() -> None:
    """A consumer holds its ``Fetcher`` (``_fetcher``, whose ``close()`` coroutine ends its
    fetching tasks) and its coordinator (``_coordinator``), both None before ``start()``; a
    ``GroupCoordinator`` keeps its long-running tasks in ``_COORDINATOR_TASKS``."""
    consumer = AIOKafkaConsumer(bootstrap_servers="127.0.0.1:9")
    assert consumer._fetcher is None
    assert consumer._coordinator is None
    assert inspect.iscoroutinefunction(Fetcher.close)
    assigned = inspect.getsource(GroupCoordinator)
    for name in _COORDINATOR_TASKS:
        assert f"self.{name} = create_task(" in assigned
    await consumer.stop()


def test_every_logger_of_aiokafka_is_one_the_outage_log_filters() -> None:
    """Each aiokafka module keeps its logger in a module global named after the module (the
    client's is ``aiokafka``): the loggers ``OutageLog`` filters, since a logger's filters do
    not see its children's records. A logger named otherwise would bypass the filter."""
    covered = {logger.name for logger in library_loggers(aiokafka)}
    found = set()
    for module in pkgutil.walk_packages(aiokafka.__path__, "aiokafka."):
        loaded = importlib.import_module(module.name)
        found |= {value.name for value in vars(loaded).values() if isinstance(value, logging.Logger)}
    assert found
    assert found <= covered, found - covered
