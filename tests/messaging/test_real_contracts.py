"""Public AsyncAPI contracts (tests/messaging/real_contracts/, each naming its source), generated
by `microlib codegen` and served: what a user of each would see on the memory broker and on a
real one."""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import aio_pika
import pytest

from microlib import Service
from microlib.messaging import MessageContext, OutgoingMessage
from microlib.messaging.codec import located, message_key
from microlib.testing import TestService
from tests.codegen.conftest import importable
from tests.messaging.contract import eventually
from tests.messaging.test_rabbit import RABBIT_URL, delete_queues

CONTRACTS = Path(__file__).resolve().parent / "real_contracts"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The contracts generated once into the importable package ``gen_real``."""
    root = tmp_path_factory.mktemp("real_contracts")
    with importable(
        root, ("gen_real",), CONTRACTS, "--out", root / "gen_real", "--stubs", root / "stubs_real"
    ):
        yield "gen_real"


def _package(generated: str, name: str) -> ModuleType:
    return importlib.import_module(f"{generated}.{name}")


def _measurements(streetlights: ModuleType, got: list[tuple[Any, dict[str, str]]]) -> Any:
    """A consumer of streetlights-kafka's one receive operation, recording what it is handed."""

    class Measurements(streetlights.StreetlightsKafkaConsumer):  # type: ignore[misc,name-defined]
        async def receive_light_measurement(
            self,
            payload: streetlights.models.LightMeasuredPayload,  # type: ignore[name-defined]
            ctx: MessageContext,
        ) -> None:
            got.append((payload, dict(ctx.headers)))

    return Measurements()


class TestHeaders:
    """streetlights-kafka.yml's messages declare a header `my-app-header`, an integer from 0 to
    100 (the message trait commonHeaders). A received message is held to that schema as it is
    to its payload's: the handler never sees 500 or "x" there."""

    @pytest.mark.parametrize("value", ["500", "-1", "x", "5.5"])
    async def test_a_header_its_schema_refuses_is_dead_lettered_naming_it(
        self, generated: str, value: str
    ) -> None:
        streetlights = _package(generated, "streetlights_kafka")
        operation = streetlights.DEFINITION.operations["receiveLightMeasurement"]
        got: list[tuple[Any, dict[str, str]]] = []
        service = Service("lights")
        service.include(_measurements(streetlights, got))
        async with TestService(service) as t:
            payload = streetlights.models.LightMeasuredPayload(lumens=3)
            outcome = await t.messages.publish(
                operation, payload, parameters={"streetlightId": "7"}, headers={"my-app-header": value}
            )
            [letter] = await t.messages.dead_letters(operation)
        assert (outcome, got) == ("dead_letter", [])
        assert letter.headers["x-microlib-error-reason"] == "INVALID_HEADERS"
        [violation] = json.loads(letter.headers["x-microlib-violations"])
        assert violation["field"] == "headers.my-app-header"

    async def test_a_header_its_schema_takes_reaches_the_handler_and_others_are_not_read(
        self, generated: str
    ) -> None:
        """Read from its text as the contract types it; headers the schema does not name
        (another application's, the transport's) are not checked."""
        streetlights = _package(generated, "streetlights_kafka")
        operation = streetlights.DEFINITION.operations["receiveLightMeasurement"]
        got: list[tuple[Any, dict[str, str]]] = []
        service = Service("lights")
        service.include(_measurements(streetlights, got))
        async with TestService(service) as t:
            payload = streetlights.models.LightMeasuredPayload(lumens=3)
            headers = {"My-App-Header": "100", "x-other": "anything"}
            parameters = {"streetlightId": "7"}
            outcome = await t.messages.publish(operation, payload, parameters=parameters, headers=headers)
        assert outcome == "ack"
        [(received, seen)] = got
        assert received.lumens == 3
        assert (seen["my-app-header"], seen["x-other"]) == ("100", "anything")

    @pytest.mark.connected
    async def test_on_kafka(self, generated: str, kafka_bootstrap: str) -> None:
        """The published example's own broker: a record whose header breaks the schema is
        dead-lettered, the next one is handled."""
        streetlights = _package(generated, "streetlights_kafka")
        operation = streetlights.DEFINITION.operations["receiveLightMeasurement"]
        got: list[tuple[Any, dict[str, str]]] = []
        service = Service("lights")
        service.include(_measurements(streetlights, got))
        settings = [f"messaging.url=kafka://{kafka_bootstrap}", f"messaging.group=g{uuid.uuid4().hex[:8]}"]
        light = uuid.uuid4().hex[:8]
        async with TestService(service, overrides=settings, with_real=True) as t:
            payload = streetlights.models.LightMeasuredPayload(lumens=3)
            for value in ("500", "42"):
                await t.messages.publish(
                    operation, payload, parameters={"streetlightId": light}, headers={"my-app-header": value}
                )
            await eventually(lambda: len(got) == 1)
            [letter] = await t.messages.dead_letters(operation)
        assert got[0][1]["my-app-header"] == "42"
        assert letter.headers["x-microlib-error-reason"] == "INVALID_HEADERS"

    @pytest.mark.connected
    async def test_on_rabbitmq_from_another_producer(self, generated: str) -> None:
        """A producer other than microlib writes an integer header as an AMQP integer: 500 is
        dead-lettered, 42 handled."""
        streetlights = _package(generated, "streetlights_kafka")
        got: list[tuple[Any, dict[str, str]]] = []
        group = f"g{uuid.uuid4().hex[:8]}"
        service = Service("lights")
        service.include(_measurements(streetlights, got))
        light = uuid.uuid4().hex[:8]
        address = f"smartylighting.streetlights.1.0.event.{light}.lighting.measured"
        settings = [f"messaging.url={RABBIT_URL}", f"messaging.group={group}"]
        queue = f"{group}.receiveLightMeasurement"
        try:
            async with TestService(service, overrides=settings, with_real=True) as t:
                connection = await aio_pika.connect(RABBIT_URL)
                async with connection:
                    exchange = await (await connection.channel()).get_exchange("amq.topic")
                    for value in (500, 42):
                        message = aio_pika.Message(b'{"lumens": 3}', headers={"my-app-header": value})
                        await exchange.publish(message, routing_key=address)
                await eventually(lambda: len(got) == 1)
                operation = streetlights.DEFINITION.operations["receiveLightMeasurement"]
                letters = await t.messages.dead_letters(operation)
        finally:
            await delete_queues(queue, f"{queue}.dlq")
        assert got[0][1]["my-app-header"] == "42"
        assert [letter.headers["x-microlib-error-reason"] for letter in letters] == ["INVALID_HEADERS"]


@pytest.mark.connected
async def test_the_rpc_server_example_answers_a_plain_amqp_client(generated: str) -> None:
    """rpc-server-asyncapi.yml receives `sum` on the queue rpc_queue and sends `sendSumResult` to
    `{queue}`, the queue the request's AMQP reply_to names (RabbitMQ's RPC tutorial). The handler
    reads it from ``ctx.reply_to`` (it had no way to) and the client gets the sum with its
    correlation id."""
    rpc = _package(generated, "rpc_server")
    service = Service("rpcserver")
    results = rpc.RpcServerPublisher(service.publisher)

    class Server(rpc.RpcServerConsumer):  # type: ignore[misc,name-defined]
        async def sum(self, payload: rpc.models.Sum, ctx: MessageContext) -> None:  # type: ignore[name-defined]
            assert ctx.reply_to is not None
            result = rpc.models.SendSumResult(result=sum(payload.numbers))
            await results.send_sum_result(result, queue=ctx.reply_to, correlation_id=ctx.correlation_id)

    service.include(Server())
    try:
        async with TestService(service, overrides=[f"messaging.url={RABBIT_URL}"], with_real=True):
            connection = await aio_pika.connect(RABBIT_URL)
            async with connection:
                channel = await connection.channel()
                callback = await channel.declare_queue(exclusive=True)
                body = b'{"numbers": [4, 3]}'
                request = aio_pika.Message(body, reply_to=callback.name, correlation_id="c-1")
                await channel.default_exchange.publish(request, routing_key="rpc_queue")
                answer = await eventually(lambda: callback.get(fail=False), what="the sum")
                await answer.ack()
    finally:
        await delete_queues("rpc_queue", "rpc_queue.dlq")
    assert (json.loads(answer.body), answer.correlation_id) == ({"result": 7}, "c-1")


@pytest.mark.connected
async def test_an_address_that_is_one_amqp_word_is_consumed_with_its_parameters_on_rabbitmq(
    generated: str,
) -> None:
    """application-headers-asyncapi.yml's address `smartylighting/streetlights/1/0/event/{streetlightId}/
    lighting/measured` is one word to a topic exchange, so `*` for its parameter bound nothing: no
    message ever arrived. It is bound as `*` (any one-word key) and what is not the address is
    left out, acknowledged."""
    lights = _package(generated, "application_headers")
    operation = lights.DEFINITION.operations["receiveLightMeasurement"]
    got: list[tuple[Any, dict[str, str]]] = []

    class Measurements(lights.ApplicationHeadersConsumer):  # type: ignore[misc,name-defined]
        async def receive_light_measurement(
            self,
            payload: lights.models.LightMeasuredPayload,  # type: ignore[name-defined]
            ctx: MessageContext,
        ) -> None:
            got.append((payload, dict(ctx.parameters)))

    group = f"g{uuid.uuid4().hex[:8]}"
    queue = f"{group}.receiveLightMeasurement"
    service = Service("lights")
    service.include(Measurements())
    light = uuid.uuid4().hex[:8]
    settings = [f"messaging.url={RABBIT_URL}", f"messaging.group={group}"]
    try:
        async with TestService(service, overrides=settings, with_real=True) as t:
            connection = await aio_pika.connect(RABBIT_URL)
            async with connection:
                exchange = await (await connection.channel()).get_exchange("amq.topic")
                await exchange.publish(aio_pika.Message(b'{"lumens": 1}'), routing_key=f"other-{light}")
            payload = lights.models.LightMeasuredPayload(lumens=3)
            outcome = await t.messages.publish(operation, payload, parameters={"streetlightId": light})
            left = await t.messages.dead_letters(operation)
    finally:
        await delete_queues(queue, f"{queue}.dlq")
    assert outcome == "ack"
    assert [(p.lumens, parameters) for p, parameters in got] == [(3, {"streetlightId": light})]
    assert left == []


async def test_a_nested_header_object_is_checked_from_its_json(generated: str) -> None:
    """application-headers-asyncapi.yml's header MQMD is an object whose CorrelId has 24
    characters: written as JSON (as a generated publisher writes an object header), a
    CorrelId of 5 is named where it is."""
    lights = _package(generated, "application_headers")
    operation = lights.DEFINITION.operations["receiveLightMeasurement"]

    class Measurements(lights.ApplicationHeadersConsumer):  # type: ignore[misc,name-defined]
        async def receive_light_measurement(
            self,
            payload: lights.models.LightMeasuredPayload,  # type: ignore[name-defined]
            ctx: MessageContext,
        ) -> None:
            pass

    service = Service("lights")
    service.include(Measurements())
    payload = lights.models.LightMeasuredPayload(lumens=3)
    async with TestService(service) as t:
        outcomes = [
            await t.messages.publish(
                operation,
                payload,
                parameters={"streetlightId": "1"},
                headers={"MQMD": json.dumps({"CorrelId": c})},
            )
            for c in ("a" * 24, "short")
        ]
        [letter] = await t.messages.dead_letters(operation)
    assert outcomes == ["ack", "dead_letter"]
    [violation] = json.loads(letter.headers["x-microlib-violations"])
    assert violation["field"] == "headers.MQMD.CorrelId"


class TestCorrelationIds:
    """correlation-id-asyncapi.yml locates a message's correlation id in a header object
    (`$message.header#/MQMD/CorrelId`) and in the payload (`$message.payload#/sentAt`)."""

    async def test_one_inside_a_header_object_reaches_the_handler(self, generated: str) -> None:
        """The handler's ctx.correlation_id was None: only a header of that very name was read."""
        lights = _package(generated, "correlation_id")
        operation = lights.DEFINITION.operations["receiveLightMeasurement"]
        seen: list[str | None] = []

        class Measurements(lights.CorrelationIdConsumer):  # type: ignore[misc,name-defined]
            async def receive_light_measurement(
                self,
                payload: lights.models.LightMeasuredPayload,  # type: ignore[name-defined]
                ctx: MessageContext,
            ) -> None:
                seen.append(ctx.correlation_id)

        service = Service("lights")
        service.include(Measurements())
        async with TestService(service) as t:
            await t.messages.publish(
                operation,
                lights.models.LightMeasuredPayload(lumens=3),
                parameters={"streetlightId": "1"},
                headers={"MQMD": json.dumps({"CorrelId": "c-42"})},
            )
        assert seen == ["c-42"]

    def test_one_in_the_payload_is_its_json_text(self, generated: str) -> None:
        """A date-time component is a RootModel: read as `root=datetime.datetime(...)` before,
        by message keys too; now as the JSON the message carries."""
        lights = _package(generated, "correlation_id")
        operation = lights.DEFINITION.operations["dimLight"]
        [message] = operation.messages
        payload = lights.models.DimLightPayload.model_validate(
            {"percentage": 5, "sentAt": "2024-01-01T00:00:00Z"}
        )
        assert located(message.correlation_id, {}, payload) == "2024-01-01T00:00:00Z"
        keyed = dataclasses.replace(operation, key="$message.payload#/sentAt")
        assert message_key(keyed, payload, {}) == "2024-01-01T00:00:00Z"


async def test_replies_and_sends_on_the_request_channel_are_not_dead_lettered(generated: str) -> None:
    """kraken-websocket-request-reply-message-filter-in-reply-asyncapi.yml answers a ping with a
    pong on the very channel the ping came on, where it also sends heartbeats. On a broker those
    come back to the application's three receive operations of that address, which dead-lettered
    each, three times over (`carries no message 'pong'`). They are the application's own sends:
    acknowledged, unhandled. The ping's correlation id is its payload's reqid."""
    kraken = _package(generated, "kraken_websocket")
    seen: list[str | None] = []

    class Exchange(kraken.KrakenWebsocketConsumer):  # type: ignore[misc,name-defined]
        async def receive_ping(self, payload: kraken.models.Ping, ctx: MessageContext) -> kraken.models.Pong:  # type: ignore[name-defined]
            seen.append(ctx.correlation_id)
            return kraken.models.Pong(event="pong", reqid=payload.reqid)

        async def receive_subscribe_request(
            self,
            payload: kraken.models.Subscribe,  # type: ignore[name-defined]
            ctx: MessageContext,
        ) -> kraken.models.SubscriptionStatus | kraken.models.DummyCurrencyInfo:  # type: ignore[name-defined]
            raise AssertionError("not sent here")

        async def receive_unsubscribe_request(
            self,
            payload: kraken.models.Unsubscribe,  # type: ignore[name-defined]
            ctx: MessageContext,
        ) -> kraken.models.SubscriptionStatus:  # type: ignore[name-defined]
            raise AssertionError("not sent here")

    service = Service("kraken")
    sends = kraken.KrakenWebsocketPublisher(service.publisher)
    service.include(Exchange())
    operations = kraken.DEFINITION.operations
    async with TestService(service) as t:
        outcome = await t.messages.publish(
            operations["receivePing"], kraken.models.Ping(event="ping", reqid=42)
        )
        await sends.send_heartbeat(kraken.models.Heartbeat(event="heartbeat"))
        await eventually(lambda: len(t.messages.published) == 3, what="the ping, the pong and the heartbeat")
        await asyncio.sleep(0.5)  # the in-memory broker's deliveries of the pong and the heartbeat, settled
        letters = {
            name: await t.messages.dead_letters(operations[name])
            for name in ("receivePing", "receiveSubscribeRequest", "receiveUnsubscribeRequest")
        }
        pong = next(p for p in t.messages.published if p.message.headers["x-microlib-message"] == "pong")
    assert (outcome, seen, pong.message.correlation_id) == ("ack", ["42"], "42")
    assert letters == {"receivePing": [], "receiveSubscribeRequest": [], "receiveUnsubscribeRequest": []}


async def test_the_avro_example_reads_what_fastavro_wrote_and_writes_the_same_bytes(generated: str) -> None:
    """asyncapi/avro-schema-parser's issue-111 example: its payload an Avro record in an .avsc
    file (namespaced records, one used again by its full name, uuid and timestamp-millis, a
    nullable map). A record fastavro wrote from that .avsc alone reaches the handler as the
    generated model, which microlib writes back as the same bytes."""
    import datetime
    import io

    import fastavro

    avro = _package(generated, "avro_connection_requested")
    operation = avro.DEFINITION.operations["publishMychannel"]
    secret = {"value": "v", "nonce": "n", "key": "k"}
    record = {
        "metadata": {
            "id": str(uuid.uuid4()),
            "timestamp": datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
            "correlation_id": None,
            "publisher_context": {"tenant": "acme"},
        },
        "auth_code": secret,
        "refresh_token": {**secret, "value": "r"},
        "triggered_by": str(uuid.uuid4()),
    }
    out = io.BytesIO()
    schema = json.loads((CONTRACTS / "schemas" / "issue-111-testcase.avsc").read_text())
    fastavro.schemaless_writer(out, fastavro.parse_schema(schema), record)
    got: list[Any] = []

    class Connections(avro.AvroConnectionRequestedConsumer):  # type: ignore[misc,name-defined]
        async def publish_mychannel(self, payload: Any, ctx: MessageContext) -> None:
            got.append(payload)

    service = Service("connections")
    service.include(Connections())
    async with TestService(service):
        message = OutgoingMessage(address="mychannel", body=out.getvalue(), message_id=uuid.uuid4().hex)
        await service.messaging.broker.publish(operation, message)
        await eventually(lambda: got)
    [payload] = got
    assert isinstance(payload.refresh_token, avro.models.EncryptedString)
    assert (str(payload.triggered_by), payload.metadata.publisher_context) == (
        record["triggered_by"],
        {"tenant": "acme"},
    )
    assert operation.messages[0].encode(payload) == out.getvalue()
