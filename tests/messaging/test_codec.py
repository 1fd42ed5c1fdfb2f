"""Payload codecs, message keys, retry arithmetic and the contract model's addresses."""

from __future__ import annotations

import dataclasses
import datetime
import json
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, Field

from microlib.config.model import MessagingSettings
from microlib.core.errors import FieldViolation, Internal, InvalidArgument
from microlib.messaging import Delivery, MessageDefinition, OutgoingMessage, RetryPolicy, open_broker
from microlib.messaging.codec import (
    MESSAGE_HEADER,
    decode_payload,
    json_decoder,
    message_key,
    read_payload,
)
from microlib.messaging.consumer import dead_letter_headers
from microlib.messaging.parameters import check_parameters
from tests.messaging.contract import OrderCancelled, OrderPlaced, orders, placed


class Aliased(BaseModel):
    """A payload whose JSON names differ from its attributes."""

    order_id: str = Field(alias="orderId")
    tags: list[str] = []


def test_decoder_names_every_invalid_field_by_path() -> None:
    """A payload breaking the model fails with one violation per field, paths under payload."""
    decode = json_decoder(OrderPlaced)
    with pytest.raises(InvalidArgument) as caught:
        decode(b'{"lines": [{"sku": "a", "qty": 0}]}')
    fields = [v.field for v in caught.value.violations]
    assert fields == ["payload.order_id", "payload.lines[0].qty"]
    assert caught.value.message.startswith(
        "invalid payload of message OrderPlaced: payload.order_id: Field required (and 1 more)"
    )
    with pytest.raises(InvalidArgument, match="Malformed JSON"):
        decode(b"{not json")


class Booking(BaseModel):
    """A payload with the JSON types and string formats an HTTP body is held to."""

    seats: int
    day: datetime.date
    contact: Annotated[str, Field(json_schema_extra={"format": "email"})]  # as generated
    tags: list[str] = []


@pytest.mark.parametrize(
    ("change", "field", "rule"),
    [
        # Strict JSON types: no text for a number, no number for text.
        ({"seats": "2"}, "payload.seats", "int_type"),
        ({"tags": [1]}, "payload.tags[0]", "string_type"),
        # String formats as written, not as pydantic would convert them.
        ({"day": "86400"}, "payload.day", "format.date"),
        ({"day": "2024-02-29T00:00:00Z"}, "payload.day", "date_parsing"),
        ({"day": 86400}, "payload.day", "date_type"),
        ({"contact": "Bob <bob@b.example>"}, "payload.contact", "format.email"),
    ],
)
def test_a_payload_is_held_to_its_json_schema_as_an_http_body_is(
    change: dict[str, Any], field: str, rule: str
) -> None:
    """The same contract means the same on every door: a message's payload is checked by the
    rules of an HTTP body (tests/codegen/test_fidelity_openapi.py holds the HTTP side)."""
    decode = json_decoder(Booking)
    good = {"seats": 2, "day": "2024-02-29", "contact": "bob@b.test"}
    with pytest.raises(InvalidArgument) as caught:
        decode(json.dumps({**good, **change}).encode())
    assert [(v.field, v.rule) for v in caught.value.violations] == [(field, rule)]
    assert caught.value.reason == "INVALID_PAYLOAD"
    # A whole number written 4.0 is an integer, as JSON Schema says; a special-use domain is a domain.
    booking = decode(json.dumps({**good, "seats": 2.0}).encode())
    assert (booking.seats, booking.day, booking.contact) == (2, datetime.date(2024, 2, 29), "bob@b.test")


def test_a_refused_payload_names_its_bad_formats_too() -> None:
    """What pydantic refuses and what breaks a format are reported together, each field once."""
    decode = json_decoder(Booking)
    bad = {"seats": "2", "day": "86400", "contact": "Bob <bob@b.example>"}
    with pytest.raises(InvalidArgument) as caught:
        decode(json.dumps(bad).encode())
    assert [(v.field, v.rule) for v in caught.value.violations] == [
        ("payload.seats", "int_type"),
        ("payload.day", "format.date"),
        ("payload.contact", "format.email"),
    ]


def test_a_decoder_crash_is_reported_as_an_invalid_payload() -> None:
    """A decoder raising something else than an Error still yields InvalidArgument."""

    def explode(raw: bytes) -> Any:
        raise ValueError("truncated varint")

    broken = MessageDefinition("Proto", bytes, explode, bytes)
    with pytest.raises(InvalidArgument, match="payload is not a valid Proto: ValueError: truncated varint"):
        decode_payload(broken, b"\x08")


def test_the_message_header_picks_one_of_the_channel_messages() -> None:
    """The x-microlib-message header selects the message; an unknown name is refused."""
    operation = orders("t").on_order
    cancelled = b'{"order_id": "o-1", "reason": "late"}'
    message, payload = read_payload(operation, {MESSAGE_HEADER: "OrderCancelled"}, cancelled)
    assert (message.name, payload) == ("OrderCancelled", OrderCancelled(order_id="o-1", reason="late"))
    with pytest.raises(InvalidArgument, match="carries no message 'Refund'"):
        read_payload(operation, {MESSAGE_HEADER: "Refund"}, cancelled)
    with pytest.raises(InvalidArgument, match=r"invalid payload of message OrderPlaced: payload\.lines"):
        read_payload(operation, {MESSAGE_HEADER: "OrderPlaced"}, cancelled)


def test_without_the_header_the_payload_tells_the_message() -> None:
    """A producer other than microlib names no message: the first of the operation's
    messages whose payload the body is; none of them is refused with the first's violations."""
    operation = orders("t").on_order
    placed_body = placed("o-2").model_dump_json().encode()
    assert read_payload(operation, {}, placed_body) == (operation.messages[0], placed("o-2"))
    cancelled = read_payload(operation, {}, b'{"order_id": "o-1", "reason": "late"}')
    assert cancelled[0].name == "OrderCancelled"
    with pytest.raises(InvalidArgument) as refused:
        read_payload(operation, {}, b'{"order_id": 7}')
    assert refused.value.message.startswith(
        "payload is none of operation onOrder's messages (OrderPlaced, OrderCancelled) and no "
        "x-microlib-message header names one; as OrderPlaced: invalid payload of message OrderPlaced: "
    )
    assert refused.value.reason == "INVALID_PAYLOAD"
    assert [v.field for v in refused.value.violations] == ["payload.order_id", "payload.lines"]


def test_message_keys_come_from_the_payload_or_the_headers() -> None:
    """A key location reads payload fields (by JSON name, list index) or headers; absent is None."""
    operation = orders("t").place_order
    assert message_key(operation, placed("o-7"), {}) == "o-7"
    assert message_key(dataclasses.replace(operation, key=None), placed(), {}) is None
    by_alias = dataclasses.replace(operation, key="$message.payload#/orderId")
    assert message_key(by_alias, Aliased(orderId="o-9"), {}) == "o-9"
    first_tag = dataclasses.replace(operation, key="$message.payload#/tags/0")
    assert message_key(first_tag, Aliased(orderId="x", tags=["red"]), {}) == "red"
    assert message_key(first_tag, Aliased(orderId="x"), {}) is None
    from_dict = dataclasses.replace(operation, key="$message.payload#/a~1b")
    assert message_key(from_dict, {"a/b": 3}, {}) == "3"
    header = dataclasses.replace(operation, key="$message.header#/tenant")
    assert message_key(header, placed(), {"tenant": "acme"}) == "acme"


def test_addresses_resolve_and_match_parameters() -> None:
    """An address takes parameter values, partially for consumers, and gives them back."""
    operation = orders("shop").on_order
    assert operation.parameters == ("region",)
    assert operation.resolve({"region": "eu"}) == "shop.orders.eu"
    assert operation.resolve({}, partial=True) == "shop.orders.{region}"
    assert operation.match("shop.orders.eu") == {"region": "eu"}
    assert operation.match("shop.orders.eu.x") is None
    with pytest.raises(KeyError):
        operation.resolve({})


def test_backoff_grows_exponentially_up_to_its_cap_with_jitter_below() -> None:
    """Backoff is initial * multiplier**(attempt-1), capped; jitter only shortens it."""
    steady = RetryPolicy(initial_backoff=0.5, multiplier=2, max_backoff=3, jitter=0)
    assert [steady.backoff(n) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 3.0]
    jittery = RetryPolicy(initial_backoff=1, multiplier=2, max_backoff=60, jitter=0.5)
    draws = [jittery.backoff(2) for _ in range(200)]
    assert all(1.0 <= draw <= 2.0 for draw in draws)
    # Spread over the whole jitter band, so that what failed together comes back apart.
    assert min(draws) < 1.25
    assert max(draws) > 1.75


def test_dead_letter_headers_keep_the_handler_error_and_violations() -> None:
    """Recovery's generic INTERNAL is unwrapped to the handler's own error; violations travel as JSON."""
    try:
        try:
            raise KeyError("sku")
        except KeyError as exc:
            raise Internal("internal error; correlation id x") from exc
    except Internal as wrapped:
        headers = dead_letter_headers(wrapped, 5, "exhausted", "shop.orders.eu")
    assert headers["x-microlib-error"] == "KeyError: 'sku'"
    assert headers["x-microlib-error-code"] == "INTERNAL"
    invalid = InvalidArgument("bad", violations=[FieldViolation("payload.qty", "too small", "gt")])
    violations = json.loads(dead_letter_headers(invalid, 1, "poison", "a")["x-microlib-violations"])
    assert violations == [{"field": "payload.qty", "description": "too small", "rule": "gt"}]


async def test_a_delivery_is_settled_once() -> None:
    """Settling a delivery twice is refused."""
    seen: list[str] = []

    async def ack() -> None:
        seen.append("ack")

    async def dead(headers: Any) -> None:
        seen.append("dead")

    delivery = Delivery("a", b"", {}, on_ack=ack, on_requeue=ack, on_dead_letter=dead, message_id="m")
    await delivery.ack()
    with pytest.raises(RuntimeError, match="delivery m is already settled"):
        await delivery.dead_letter({})
    assert seen == ["ack"]


def test_open_broker_refuses_an_unknown_scheme() -> None:
    """A URL that slipped past validation (built without it) is still refused by name."""
    settings = MessagingSettings.model_construct(url="nats://localhost:4222", dead_letter_suffix=".dlq")
    with pytest.raises(ValueError, match=r"messaging\.url 'nats://localhost:4222'"):
        open_broker(settings, client_name="x")


async def test_memory_dead_letters_honour_the_limit() -> None:
    """The in-memory broker hands out at most ``limit`` dead letters, oldest first."""
    from microlib.messaging import MemoryBroker

    broker = MemoryBroker("memory://limit-test")
    await broker.start()
    operation = orders("lim").on_order
    subscription = await broker.subscribe(operation, group="g", address=operation.address, prefetch=5)
    for i in range(3):
        await broker.publish(
            operation, OutgoingMessage(address="lim.orders.eu", body=b"{}", message_id=str(i))
        )
    iterator = aiter(subscription)
    for _ in range(3):
        delivery = await anext(iterator)
        await delivery.dead_letter({"x-why": "test"})
    letters = await broker.dead_letters("g.onOrder", limit=2)
    assert [m.message_id for m in letters] == ["0", "1"]
    assert letters[0].headers == {"x-why": "test"}
    await broker.stop()


@pytest.mark.parametrize(
    ("schema", "value", "problem"),
    [
        ({"enum": [1, 2]}, "2", None),
        ({"enum": [1, 2]}, "3", ("'3' is not one of '1', '2'", "enum")),
        ({"pattern": "^[a-z]+$"}, "EU", ("'EU' does not match '^[a-z]+$'", "pattern")),
        ({"const": "eu"}, "us", ("'us' is not 'eu'", "const")),
        ({"minLength": 2, "maxLength": 3}, "e", ("'e' is shorter than 2 characters", "minLength")),
        ({"minLength": 2, "maxLength": 3}, "euro", ("'euro' is longer than 3 characters", "maxLength")),
        ({"type": "integer", "minimum": 1}, "x", ("'x' is not an integer", "type")),
        ({"type": "integer", "minimum": 1}, "0", ("0 is less than 1", "minimum")),
        ({"type": "number", "maximum": 9}, "9.5", ("9.5 is greater than 9", "maximum")),
        ({"type": "number"}, "nan", ("'nan' is not a number", "type")),  # float() takes it
        ({"type": "integer"}, "1_000", ("'1_000' is not an integer", "type")),  # int() takes it
        ({"type": "number"}, "-1.5e3", None),
        ({"minimum": 5}, "1", None),  # bounds without a number type: a text value has none
    ],
)
def test_a_parameter_value_is_read_from_its_text_against_its_schema(
    schema: dict[str, Any], value: str, problem: tuple[str, str] | None
) -> None:
    """Each keyword the runtime checks, on the address segment's text."""
    operation = orders("t", parameter_schemas={"region": schema}).on_order
    if problem is None:
        check_parameters(operation, {"region": value}, {}, None)
        return
    with pytest.raises(InvalidArgument) as caught:
        check_parameters(operation, {"region": value}, {}, None)
    assert caught.value.reason == "INVALID_PARAMETERS"
    assert list(caught.value.violations) == [FieldViolation("parameters.region", *problem)]
