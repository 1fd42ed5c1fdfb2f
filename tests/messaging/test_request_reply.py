"""Request/reply edges, on the in-memory broker (every broker runs the shared cases)."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from typing import Any

import pytest
from pydantic import BaseModel, Field

from microlib import Service
from microlib.core.errors import DeadlineExceeded, InvalidArgument, Unavailable
from microlib.messaging import MessageContext
from microlib.messaging.codec import header_at, header_name
from microlib.testing import TestService
from tests.messaging.contract import StockLevel, StockQuery, eventually, stock


def _memory() -> str:
    return f"memory://{uuid.uuid4().hex[:8]}"


async def test_a_request_without_a_reply_address_is_dead_lettered_as_poison() -> None:
    """A request published with no reply_to, whose reply address is dynamic, cannot be
    answered: it is dead-lettered at once, naming what is missing."""
    contract = stock(f"t{uuid.uuid4().hex[:8]}")
    answered: list[str] = []

    async def on_stock_query(self: Any, payload: StockQuery, ctx: MessageContext) -> StockLevel:
        answered.append(payload.sku)
        return StockLevel(sku=payload.sku, available=1)

    service = Service("stock")
    service.include(type("Stock", (contract.consumer,), {"on_stock_query": on_stock_query})())
    async with TestService(service, overrides=[f"messaging.url={_memory()}"]):
        await service.publisher.publish(contract.query, StockQuery(sku="b"))

        async def letters() -> Any:
            return await service.messaging.dead_letters(contract.on_query)

        (letter,) = await eventually(letters, what="a dead letter")
    assert answered == ["b"]
    assert letter.headers["x-microlib-dead-letter-reason"] == "poison"
    assert letter.headers["x-microlib-error"].startswith("the request names no reply address")


async def test_a_responder_returning_none_fails_the_request_instead_of_sending_nothing() -> None:
    """A forgotten `return` in a responder sent no reply and logged nothing: every request timed
    out. It is a failure now, logged and dead-lettered once its attempts are spent."""
    contract = stock(f"t{uuid.uuid4().hex[:8]}")

    async def on_stock_query(self: Any, payload: StockQuery, ctx: MessageContext) -> StockLevel:
        StockLevel(sku=payload.sku, available=1)  # built, not returned
        return None  # type: ignore[return-value]

    service = Service("stock")
    service.include(type("Stock", (contract.consumer,), {"on_stock_query": on_stock_query})())
    settings = [f"messaging.url={_memory()}", "messaging.retry.max_attempts=1"]
    async with TestService(service, overrides=settings) as t:
        with pytest.raises(DeadlineExceeded):
            await service.publisher.request(contract.query, StockQuery(sku="b"), timeout=0.5)

        async def letters() -> Any:
            return await service.messaging.dead_letters(contract.on_query)

        (letter,) = await eventually(letters, what="a dead letter")
        assert [e for e in t.logs if "exception" in e]
    assert letter.headers["x-microlib-error"] == (
        f"TypeError: operation {contract.on_query.name}: the handler returned None; the request's reply "
        f"({contract.on_query.reply.name}) is its return value"
    )


async def test_requests_waiting_when_the_service_stops_fail_with_unavailable() -> None:
    """Stopping the service while a request waits for its reply fails it at once."""
    contract = stock(f"t{uuid.uuid4().hex[:8]}")
    service = Service("shop")
    service.publisher  # noqa: B018
    async with TestService(service, overrides=[f"messaging.url={_memory()}"]) as t:
        waiting = asyncio.create_task(service.publisher.request(contract.query, StockQuery(sku="b")))
        await eventually(lambda: t.messages.published, what="the request to be sent")
    with pytest.raises(Unavailable, match="messaging stopped before the reply arrived"):
        await waiting


@pytest.mark.parametrize("valid", [True, False])
async def test_a_reply_is_held_to_its_messages_headers_schema(valid: bool) -> None:
    """The requester reads a reply's headers against the reply message's ``headers`` schema, as a
    consumer reads a request's: a reply whose ``correlationId`` header (32 hex digits here) breaks
    it fails the request with INVALID_HEADERS naming the header."""

    class ReplyHeaders(BaseModel):
        correlation_id: str = Field(
            alias="correlationId", min_length=32 if valid else 0, max_length=32 if valid else 8
        )

    contract = stock(f"t{uuid.uuid4().hex[:8]}")
    reply = contract.query.reply
    assert reply is not None
    checked = dataclasses.replace(reply.messages[0], headers_type=ReplyHeaders)
    query = dataclasses.replace(contract.query, reply=dataclasses.replace(reply, messages=(checked,)))

    async def on_stock_query(self: Any, payload: StockQuery, ctx: MessageContext) -> StockLevel:
        return StockLevel(sku=payload.sku, available=2)

    service = Service("stock")
    service.include(type("Stock", (contract.consumer,), {"on_stock_query": on_stock_query})())
    async with TestService(service, overrides=[f"messaging.url={_memory()}"]):
        if valid:
            assert await service.publisher.request(query, StockQuery(sku="b"), timeout=5) == StockLevel(
                sku="b", available=2
            )
            return
        with pytest.raises(InvalidArgument) as caught:
            await service.publisher.request(query, StockQuery(sku="b"), timeout=5)
    assert caught.value.reason == "INVALID_HEADERS"
    assert "headers.correlationId" in str(caught.value)


def test_header_locations() -> None:
    """Only a plain ``$message.header#/name`` locates a header; its name is matched in any case."""
    assert header_name("$message.header#/replyTo") == "replyTo"
    assert header_name("$message.header#/a~1b") == "a/b"
    assert header_name("$message.header#/a/b") is None
    assert header_name("$message.payload#/id") is None
    assert header_name(None) is None
    assert header_at({"ReplyTo": "inbox"}, "$message.header#/replyTo") == "inbox"
    assert header_at({"replyTo": "inbox"}, "$message.header#/replyTo") == "inbox"
    assert header_at({}, "$message.header#/replyTo") is None
    assert header_at({"replyTo": "x"}, None) is None
