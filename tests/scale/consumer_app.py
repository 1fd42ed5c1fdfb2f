"""A consumer service for the scale tests: it records each order it handles.

Run as ``microlib run tests.scale.consumer_app:service``, several at once in
one consumer group. Each handled ``order_id`` goes into the ``handled`` table
of the service's database, with the process id, so what was handled outlives
the processes that handled it. The contract is tests/messaging/contract.py's
orders document under ``$SCALE_PREFIX`` (the test's own addresses).
"""

from __future__ import annotations

import asyncio
import os

import sqlalchemy as sa

from microlib import Service
from microlib.messaging import MessageContext
from tests.messaging.contract import OrderCancelled, OrderPlaced, orders

HANDLING = 0.03
"""Seconds each message takes, so that some are in flight when SIGTERM comes."""

# Three partitions on Kafka, so each of three group members owns one;
# RabbitMQ reads only its ``amqp`` bindings.
contract = orders(
    os.environ.get("SCALE_PREFIX", "scale"), bindings={"kafka": {"partitions": 3, "replicas": 1}}
)
service = Service("scale-consumer", database=True)


class Recorder(contract.consumer):  # type: ignore[name-defined,misc]
    """Writes each order id to ``handled``, then acknowledges (by returning)."""

    async def on_order(self, payload: OrderPlaced | OrderCancelled, ctx: MessageContext) -> None:
        await asyncio.sleep(HANDLING)
        async with service.database.transaction() as session:
            await session.execute(
                sa.text("INSERT INTO handled (order_id, pid) VALUES (:order_id, :pid)"),
                {"order_id": payload.order_id, "pid": os.getpid()},
            )


service.include(Recorder())
