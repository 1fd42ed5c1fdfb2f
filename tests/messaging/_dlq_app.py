"""A service consuming the test orders contract, for `microlib messages dlq` run as a process.

The contract's addresses start with ``$MICROLIB_TEST_PREFIX``, so each test has
channels of its own; ``$MICROLIB_TEST_QUEUE`` names the consumer's RabbitMQ queue in
its ``amqp`` binding.
"""

from __future__ import annotations

import os
from typing import Any

from microlib import Service
from microlib.messaging import MessageContext
from tests.messaging.contract import orders

queue = os.environ.get("MICROLIB_TEST_QUEUE")
contract = orders(
    os.environ.get("MICROLIB_TEST_PREFIX", "cli"),
    bindings={"amqp": {"queue": {"name": queue}}} if queue else None,
)


class Stock(contract.consumer):  # type: ignore[name-defined,misc]
    """Never called by the command: it only reads the consumer's queue names."""

    async def on_order(self, payload: Any, ctx: MessageContext) -> None:
        """Nothing to do."""


service = Service("stock")
service.include(Stock())
