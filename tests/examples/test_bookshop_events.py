"""The bookshop's events on RabbitMQ, as `microlib run -c examples/bookshop/rabbitmq.yaml` runs them."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from tests.cli.test_run import Running
from tests.messaging.contract import eventually
from tests.messaging.test_rabbit import delete_queues


@pytest.mark.connected
async def test_an_order_reserves_stock_through_rabbitmq() -> None:
    """The example run with its RabbitMQ configuration file: an order placed over
    HTTP publishes OrderPlaced to RabbitMQ, the stock reservation consumes it from
    the group's queue, and GET /reservations shows it."""
    group = f"bookshop-{uuid.uuid4().hex[:8]}"
    service = Running(
        "examples.bookshop.main:service",
        "grpc.port=0",
        f"messaging.group={group}",
        config="examples/bookshop/rabbitmq.yaml",
    )
    try:
        await asyncio.to_thread(service.wait_ready)
        async with httpx.AsyncClient(base_url=service.url, timeout=10) as http:
            order = await http.post(
                "/api/orders",
                json={"customer": "ann@example.com", "lines": [{"book_id": "2", "quantity": 3}]},
            )
            assert order.status_code == 201, order.text

            async def reserved() -> dict[str, object] | None:
                found: dict[str, object] = (await http.get("/reservations")).json()
                return found if found["orders"] else None

            assert await eventually(reserved, what="the reservation") == {
                "orders": [order.json()["id"]],
                "reserved": {"2": 3},
            }
            assert "messaging" in (await http.get("/health/ready")).text
    finally:
        await asyncio.to_thread(service.output)
        await delete_queues(f"{group}.reserveStock", f"{group}.reserveStock.dlq")
