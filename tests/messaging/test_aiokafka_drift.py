"""What microlib.messaging._aiokafka_private relies on in aiokafka, checked on the installed one."""

from __future__ import annotations

import inspect

from aiokafka import AIOKafkaConsumer
from aiokafka.client import AIOKafkaClient

from microlib.messaging._aiokafka_private import close_connections


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
