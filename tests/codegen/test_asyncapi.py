"""`microlib codegen` on AsyncAPI 2.6, 3.0 and 3.1 documents: what it generates and reports."""

from __future__ import annotations

import importlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from microlib.core.errors import InvalidArgument
from microlib.messaging import Action, ApplicationDefinition, RetryPolicy, header_values
from tests.codegen.conftest import ASYNCAPI, TESTDATA, codegen, python, tree

DOCUMENTS = {
    "streetlights_mqtt": "2.6.0",
    "streetlights_kafka": "3.0.0",
    "orders_amqp": "3.1.0",
    "inventory_redis": "3.1.0",
    "meters_avro": "3.0.0",
}


def _definition(name: str) -> ApplicationDefinition:
    module = importlib.import_module(f"gen_events.{name}")
    definition: ApplicationDefinition = module.DEFINITION
    return definition


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for item in node for r in _refs(item)]
    return []


class TestGeneration:
    @pytest.mark.parametrize(("package", "version"), sorted(DOCUMENTS.items()))
    def test_each_document_generates_a_package_that_imports(
        self, events: Path, package: str, version: str
    ) -> None:
        """Each version generates models, the definition, its interfaces and the bundled document."""
        files = tree(events / "gen_events" / package)
        assert sorted(files) == ["__init__.py", "application.py", "asyncapi.json", "models.py"]
        for name in ("__init__.py", "application.py", "models.py"):
            assert files[name].startswith(b"# Generated from tests/codegen/asyncapi/")
            assert b"DO NOT EDIT." in files[name].splitlines()[0]
        definition = _definition(package)
        assert definition.asyncapi == version
        assert definition.document == json.loads(files["asyncapi.json"])
        # External files are bundled in: every ref left points into the document itself.
        assert _refs(definition.document)
        assert all(ref.startswith("#/") for ref in _refs(definition.document))
        if definition.receives():
            assert definition.consumer_protocol is not None
            assert definition.consumer_protocol.__microlib_asyncapi__ is definition

    def test_26_subscribe_is_sent_and_publish_is_received(self, events: Path) -> None:
        """In 2.6 `subscribe` is what the application sends, `publish` what it receives."""
        definition = _definition("streetlights_mqtt")
        assert [op.name for op in definition.receives()] == [
            "receiveLightMeasurement",
            "receiveAlert",
            "receiveEnergyReading",
        ]
        assert [op.name for op in definition.sends()][:1] == ["turnOn"]
        turn_on = definition.operations["turnOn"]
        assert turn_on.action is Action.SEND
        assert turn_on.address == "smartylighting/streetlights/1/0/action/{streetlightId}/turn/on"
        assert turn_on.parameters == ("streetlightId",)
        # The operation trait's binding, and the message trait's headers.
        assert turn_on.bindings == {"mqtt": {"qos": 1}}
        models = importlib.import_module("gen_events.streetlights_mqtt.models")
        assert turn_on.messages[0].headers_type is models.CommonHeaders
        assert definition.operations["receiveLightMeasurement"].retry == RetryPolicy(
            max_attempts=3, initial_backoff=0.5
        )

    def test_an_operation_without_id_gets_a_stable_name_and_is_reported(self, events: Path) -> None:
        """A 2.6 operation with no operationId is named from its verb and channel, with a warning."""
        derived = "subscribeSmartylightingStreetlights10ActionStreetlightIdTurnOff"
        definition = _definition("streetlights_mqtt")
        assert definition.operations[derived].python_name == (
            "subscribe_smartylighting_streetlights10_action_streetlight_id_turn_off"
        )
        stderr = (events / "codegen.stderr").read_text()
        assert (
            "warning: tests/codegen/asyncapi/streetlights-mqtt.yaml:77: channels.smartylighting/streetlights"
            f"/1/0/action/{{streetlightId}}/turn/off.subscribe: no operationId: named {derived!r}"
        ) in stderr

    def test_an_avro_message_is_generated_whatever_the_default_content_type(self, events: Path) -> None:
        """The 2.6 message whose payload is an Avro record (schemaFormat
        application/vnd.apache.avro;version=1.9.0) gets its model and an Avro codec, its content
        type Avro's though the document's default is JSON; nothing of it is reported."""
        stderr = (events / "codegen.stderr").read_text()
        assert "energy.publish" not in stderr
        models = importlib.import_module("gen_events.streetlights_mqtt.models")
        [message] = _definition("streetlights_mqtt").operations["receiveEnergyReading"].messages
        assert message.payload_type is models.EnergyReading
        assert message.content_type == "application/vnd.apache.avro"
        # One field, an Avro int: its zig-zag varint, as any Avro writer writes it.
        assert message.encode(models.EnergyReading(watts=-3)) == b"\x05"
        assert message.decode(b"\x05") == models.EnergyReading(watts=-3)

    def test_several_messages_are_one_union(self, events: Path) -> None:
        """An operation carrying several messages (2.6 oneOf, 3.x a channel's messages) takes their union."""
        mqtt = _definition("streetlights_mqtt").operations["receiveAlert"]
        assert [m.name for m in mqtt.messages] == ["overheated", "lampFailure"]
        orders = _definition("orders_amqp")
        handler = orders.consumer_protocol.on_payment  # type: ignore[union-attr]
        assert handler.__annotations__["payload"] == "models.PaymentCaptured | models.PaymentFailed"
        assert [m.name for m in orders.operations["onPayment"].messages] == [
            "PaymentCaptured",
            "PaymentFailed",
        ]

    def test_bindings_merge_channel_first_and_traits_apply(self, events: Path) -> None:
        """Kafka bindings: the channel's, then the operation's own and its trait's; the message key rule."""
        op = _definition("streetlights_kafka").operations["receiveLightMeasurement"]
        assert op.bindings == {
            "kafka": {
                "topic": "smartylighting.streetlights.lighting.measured",
                "partitions": 3,
                "replicas": 1,
                "clientId": {"type": "string", "enum": ["my-app-id"]},
                "groupId": {"type": "string", "enum": ["streetlights-monitor"]},
            }
        }
        assert list(op.bindings["kafka"])[:3] == ["topic", "partitions", "replicas"]
        assert op.key == "$message.payload#/streetlightId"
        assert op.retry == RetryPolicy(
            max_attempts=4, initial_backoff=0.1, max_backoff=5.0, multiplier=3.0, jitter=0.1
        )
        assert (
            op.resolve({"streetlightId": "7"}) == "smartylighting.streetlights.1.0.event.7.lighting.measured"
        )

    def test_request_reply_and_amqp_bindings(self, events: Path) -> None:
        """A 3.x reply becomes the operation's reply definition; a dynamic reply address is its location."""
        orders = _definition("orders_amqp")
        place = orders.operations["placeOrder"]
        assert place.action is Action.RECEIVE
        assert place.bindings["amqp"]["queue"]["name"] == "orders.requests"
        assert place.bindings["amqp"]["ack"] is True
        assert place.reply is not None
        assert place.reply.action is Action.SEND
        assert place.reply.address == "$message.header#/replyTo"
        assert [m.name for m in place.reply.messages] == ["OrderAccepted", "OrderRejected"]
        assert place.messages[0].correlation_id == "$message.header#/correlationId"
        check = orders.operations["checkStock"]
        assert check.reply is not None
        assert (check.reply.action, check.reply.address) == (Action.RECEIVE, "inventory.stock.replies")
        announce = orders.operations["announceOrder"]
        assert announce.key == "$message.payload#/orderId"
        assert announce.bindings["amqp"]["exchange"] == {
            "name": "orders",
            "type": "topic",
            "durable": True,
            "autoDelete": False,
        }
        assert announce.bindings["amqp"]["deliveryMode"] == 2
        assert orders.operations["onPayment"].extensions == {"x-team": "payments"}

    def test_a_schema_defined_once_is_one_type(self, events: Path) -> None:
        """Two messages whose payload is the same external schema share one model class."""
        orders = _definition("orders_amqp")
        placed = orders.operations["announceOrder"].messages[0].payload_type
        requested = orders.operations["placeOrder"].messages[0].payload_type
        assert placed is requested
        assert placed.__name__ == "Order"

    def test_protobuf_payload_reuses_the_proto_message(self, events: Path) -> None:
        """A protobuf payload naming a proto message of the contracts is that generated class and codec."""
        from gen_events.shop.inventory.v1 import StockEvent  # type: ignore[import-not-found]

        message = _definition("inventory_redis").operations["watchStock"].messages[0]
        assert message.payload_type is StockEvent
        assert message.content_type == "application/x-protobuf"
        event = StockEvent(sku="ABC-1234", on_hand=3)
        assert message.decode(message.encode(event)) == event
        with pytest.raises(InvalidArgument):
            message.decode(b"\xff\xff\xff")

    def test_protobuf_payload_without_its_proto_is_skipped(self, tmp_path: Path) -> None:
        """Generated without the proto contracts, the protobuf message and its operation are skipped."""
        result = codegen(ASYNCAPI / "inventory-redis.yaml", "--out", tmp_path / "gen")
        assert result.returncode == 0, result.stderr
        assert "the protobuf payload names no message of the proto contracts" in result.stderr
        assert "operations.watchStock: no message microlib can generate: operation skipped" in result.stderr
        assert "watch_stock" not in (tmp_path / "gen" / "inventory_redis" / "application.py").read_text()


class TestCodecs:
    def test_decode_names_each_bad_field_by_its_path_under_payload(self, events: Path) -> None:
        """Validation failures are InvalidArgument with payload.lines[0].quantity-style field paths."""
        message = _definition("orders_amqp").operations["placeOrder"].messages[0]
        body = {"orderId": "6a4c6b4e-3b1c-4c2d-9d47-8f5b2f3f4a11", "lines": [{"sku": "bad", "quantity": 0}]}
        with pytest.raises(InvalidArgument) as caught:
            message.decode(json.dumps(body).encode())
        assert caught.value.message.startswith("invalid payload of message PlaceOrder: payload.")
        fields = {v.field: v.rule for v in caught.value.violations}
        assert fields == {
            "payload.customerId": "missing",
            "payload.lines[0].sku": "string_pattern_mismatch",
            "payload.lines[0].quantity": "greater_than_equal",
        }
        with pytest.raises(InvalidArgument) as malformed:
            message.decode(b"{not json")
        assert [(v.field, v.rule) for v in malformed.value.violations] == [("payload", "json")]

    def test_encode_dumps_by_alias_and_round_trips(self, events: Path) -> None:
        """encode writes the contract's names; decode of it gives the same model."""
        models = importlib.import_module("gen_events.streetlights_mqtt.models")
        message = _definition("streetlights_mqtt").operations["receiveLightMeasurement"].messages[0]
        payload = message.decode(b'{"lumens": 5, "sentAt": "2025-01-02T03:04:05Z", "streetlightId": "7"}')
        assert isinstance(payload, models.LightMeasuredPayload)
        assert json.loads(message.encode(payload)) == {
            "streetlightId": "7",
            "lumens": 5,
            "sentAt": "2025-01-02T03:04:05Z",
        }
        headers = models.CommonHeaders.model_validate({"my-app-header": 7})
        assert header_values(headers) == {"my-app-header": "7"}
        assert header_values(models.CommonHeaders()) == {}
        assert header_values(None) is None


class TestStubsAndDrift:
    def test_stub_is_written_once_and_subclasses_the_interface(self, events: Path) -> None:
        """The user's consumer stub imports the generated interface and raises Unimplemented per handler."""
        stub = (events / "stubs_events" / "orders_amqp_handlers.py").read_text()
        assert "from gen_events.orders_amqp import OrdersAmqpConsumer, models" in stub
        assert "class OrdersAmqpHandlers(OrdersAmqpConsumer):" in stub
        assert (
            "    async def place_order(\n        self, payload: models.Order, ctx: MessageContext\n"
            "    ) -> models.OrderAccepted | models.OrderRejected:\n"
            '        raise Unimplemented("placeOrder is not implemented yet")'
        ) in stub
        inventory = (events / "stubs_events" / "inventory_redis_handlers.py").read_text()
        assert "from gen_events.shop.inventory.v1 import StockEvent" in inventory
        assert "models" not in inventory
        assert not (events / "stubs_events" / "streetlights_kafka_handlers.py").read_text().count("turn_on")

    def test_the_stub_passes_the_start_up_check_and_a_missing_handler_fails_it(self, events: Path) -> None:
        """check_consumer accepts the untouched stub, and refuses it without a handler."""
        from microlib.messaging import check_consumer

        stubs = importlib.import_module("stubs_events.orders_amqp_handlers")
        definition = _definition("orders_amqp")
        check_consumer(definition, stubs.OrdersAmqpHandlers())

        class Partial(definition.consumer_protocol):  # type: ignore[name-defined, misc]
            async def place_order(self, payload: Any, ctx: Any) -> None:
                return None

        with pytest.raises(TypeError, match=r"on_payment is missing \(operation onPayment\)"):
            check_consumer(definition, Partial())

    def test_drift_names_missing_changed_and_removed_handlers(self, tmp_path: Path) -> None:
        """After the document changes, codegen names each handler that no longer matches, by file and line."""
        contracts = tmp_path / "asyncapi"
        shutil.copytree(ASYNCAPI, contracts)
        args = (TESTDATA, contracts, "--out", tmp_path / "gen", "--stubs", tmp_path / "services")
        assert codegen(*args).returncode == 0
        stub = tmp_path / "services" / "orders_amqp_handlers.py"
        first = codegen(*args)
        assert "drift: " not in first.stderr
        doc = contracts / "orders-amqp.yaml"
        text = doc.read_text()
        text = text.replace("  onPayment:\n", "  onRefund:\n")
        text = text.replace(
            "      - $ref: '#/channels/orderRequests/messages/placeOrder'",
            "      - $ref: '#/channels/payments/messages/paymentFailed'",
        )
        doc.write_text(text)
        result = codegen(*args, "--check")
        assert result.returncode == 1
        assert f"stale: {tmp_path / 'gen' / 'orders_amqp' / 'application.py'}" in result.stderr
        lines = [line for line in result.stderr.splitlines() if line.startswith("drift: ")]
        assert (
            f"drift: {stub}:19: OrdersAmqpHandlers.place_order: payload is annotated models.Order; "
            in lines[0]
        )
        assert lines[0].endswith(
            "expected: async def place_order(self, payload: models.PaymentFailed, ctx: MessageContext)"
            " -> models.OrderAccepted | models.OrderRejected:"
        )
        assert (
            f"drift: {stub}:16: OrdersAmqpHandlers.on_refund: missing, operation onRefund has no method here"
            in lines[1]
        )
        assert (
            f"drift: {stub}:24: OrdersAmqpHandlers.on_payment: not a receive operation of Order Service"
            in lines[2]
        )
        assert len(lines) == 3

    def test_check_is_clean_after_generation_and_names_a_stale_document(self, tmp_path: Path) -> None:
        """--check passes on fresh output; a change in a $ref'd file makes the package stale."""
        contracts = tmp_path / "asyncapi"
        shutil.copytree(ASYNCAPI, contracts)
        out = tmp_path / "gen"
        assert codegen(contracts, "--out", out).returncode == 0
        assert codegen(contracts, "--out", out, "--check").returncode == 0
        schemas = contracts / "orders-schemas.yaml"
        schemas.write_text(schemas.read_text().replace("minimum: 1", "minimum: 2"))
        stale = codegen(contracts, "--out", out, "--check")
        assert stale.returncode == 1
        assert f"stale: {out / 'orders_amqp/models.py'}" in stale.stderr
        assert f"stale: {out / 'orders_amqp/asyncapi.json'}" in stale.stderr
        assert f"stale: {out / 'streetlights_kafka/models.py'}" not in stale.stderr

    def test_generation_is_deterministic(self, tmp_path: Path, events: Path) -> None:
        """Generating twice gives the same bytes, and says nothing changed."""
        out = tmp_path / "gen_events"
        shutil.copytree(events / "gen_events", out)
        again = codegen(TESTDATA, ASYNCAPI, "--out", out)
        assert again.returncode == 0, again.stderr
        assert "wrote" in again.stdout
        assert " 0 of " in again.stdout
        assert tree(out) == tree(events / "gen_events")


class TestErrors:
    def _broken(self, tmp_path: Path, name: str, old: str, new: str) -> Path:
        contracts = tmp_path / "contracts"
        shutil.copytree(ASYNCAPI, contracts)
        doc = contracts / name
        assert old in doc.read_text()
        doc.write_text(doc.read_text().replace(old, new))
        return contracts

    def test_invalid_document_names_file_line_and_json_path_of_each_problem(self, tmp_path: Path) -> None:
        """Schema violations are reported one per line, at the file and line that wrote them."""
        contracts = self._broken(
            tmp_path,
            "orders-amqp.yaml",
            "action: send\n    channel:\n      $ref: '#/channels/orderPlaced'",
            "action: sned\n    channel:\n      $ref: '#/channels/orderPlaced'",
        )
        schemas = contracts / "orders-schemas.yaml"
        schemas.write_text(
            schemas.read_text().replace("type: integer\n      minimum: 1", "type: integr\n      minimum: 1")
        )
        result = codegen(contracts / "orders-amqp.yaml", "--out", tmp_path / "gen")
        assert result.returncode == 2
        assert "not a valid AsyncAPI 3.1.0 document (2 problem(s)):" in result.stderr
        assert (
            f"{contracts}/orders-schemas.yaml:27: components.schemas.OrderLine.properties.quantity.type: "
            "'integr' is not one of ['array', 'boolean', 'integer', 'null', 'number', 'object', 'string']"
        ) in result.stderr
        assert (
            f"{contracts}/orders-amqp.yaml:106: operations.announceOrder.action: "
            "'sned' is not one of ['send', 'receive']"
        ) in result.stderr
        assert "Traceback" not in result.stderr

    def test_unsupported_version_is_refused(self, tmp_path: Path) -> None:
        """A version other than 2.0.0 to 2.6.0, 3.0.0 and 3.1.0 is refused naming the line."""
        contracts = self._broken(tmp_path, "streetlights-kafka.yaml", "asyncapi: 3.0.0", "asyncapi: 1.2.0")
        result = codegen(contracts / "streetlights-kafka.yaml", "--out", tmp_path / "gen")
        assert result.returncode == 2
        assert (
            f"{contracts}/streetlights-kafka.yaml:1: asyncapi: version '1.2.0' is not supported "
            "(microlib generates from 2.0.0 to 2.6.0, 3.0.0 and 3.1.0)"
        ) in result.stderr

    @pytest.mark.parametrize(
        ("old", "new", "message"),
        [
            (
                "      maxAttempts: 4\n",
                "      maxAttempts: 0\n",
                "streetlights-kafka.yaml:70: operations.receiveLightMeasurement.x-microlib-retry."
                "maxAttempts: expected an integer at least 1, got 0",
            ),
            (
                "      jitter: 0.1\n",
                "      jiter: 0.1\n",
                "streetlights-kafka.yaml:74: operations.receiveLightMeasurement.x-microlib-retry.jiter: "
                "unknown key (known: maxAttempts, initialBackoff, maxBackoff, multiplier, jitter)",
            ),
            (
                "x-microlib-key: $message.payload#/streetlightId",
                "x-microlib-key: streetlightId",
                "streetlights-kafka.yaml:106: components.messages.lightMeasured.x-microlib-key: "
                "'streetlightId' is not a runtime expression "
                "($message.payload#/path or $message.header#/name)",
            ),
        ],
    )
    def test_a_mistake_in_a_microlib_extension_is_an_error(
        self, tmp_path: Path, old: str, new: str, message: str
    ) -> None:
        """x-microlib-retry and x-microlib-key are checked, each mistake at its file and line."""
        contracts = self._broken(tmp_path, "streetlights-kafka.yaml", old, new)
        result = codegen(contracts / "streetlights-kafka.yaml", "--out", tmp_path / "gen")
        assert result.returncode == 2
        assert f"{contracts}/{message}" in result.stderr

    def test_missing_json_schemas_say_how_to_install_them(self, tmp_path: Path) -> None:
        """Without @asyncapi/specs in any node_modules above, the error says to run npm install."""
        from microlib_codegen._asyncapi_schema import find_schema
        from microlib_codegen.errors import CodegenError

        with pytest.raises(CodegenError, match=r"run `npm install` \(package.json pins @asyncapi/specs\)"):
            find_schema("3.0.0", [tmp_path])


USER_MODULE = '''
"""A user's consumers and publishers on the generated AsyncAPI code."""

from __future__ import annotations

import datetime
import decimal
import uuid

from microlib.messaging import MessageContext, Publisher

from gen.inventory_redis import InventoryRedisConsumer, InventoryRedisPublisher
from gen.inventory_redis import models as inventory
from gen.meters_avro import MetersAvroPublisher
from gen.meters_avro import models as meters
from gen.orders_amqp import OrdersAmqpConsumer, OrdersAmqpPublisher, models
from gen.shop.inventory.v1 import StockEvent
from gen.streetlights_kafka import StreetlightsKafkaPublisher
from gen.streetlights_kafka import models as lights
from gen.streetlights_mqtt import StreetlightsMqttConsumer
from gen.streetlights_mqtt import models as mqtt
from stubs.orders_amqp_handlers import OrdersAmqpHandlers


class Orders(OrdersAmqpConsumer):
    async def place_order(
        self, payload: models.Order, ctx: MessageContext
    ) -> models.OrderAccepted | models.OrderRejected:
        if ctx.redelivered:
            return models.OrderRejected(reason="seen before")
        return models.OrderAccepted(orderId=payload.orderId)

    async def on_payment(
        self, payload: models.PaymentCaptured | models.PaymentFailed, ctx: MessageContext
    ) -> None:
        if isinstance(payload, models.PaymentFailed):
            print(payload.reason, ctx.headers.get("tenant"))


class Stock(InventoryRedisConsumer):
    async def watch_stock(self, payload: StockEvent, ctx: MessageContext) -> None:
        print(payload.sku, payload.on_hand, ctx.parameters["warehouse"])


class Lights(StreetlightsMqttConsumer):
    async def receive_light_measurement(
        self, payload: mqtt.LightMeasuredPayload, ctx: MessageContext
    ) -> None:
        print(payload.lumens)

    async def receive_alert(self, payload: mqtt.Overheated | mqtt.LampFailure, ctx: MessageContext) -> None:
        print(payload)

    async def receive_energy_reading(self, payload: mqtt.EnergyReading, ctx: MessageContext) -> None:
        watts: int = payload.watts  # an Avro record's model
        print(watts)


def consumers() -> list[object]:
    # Deriving from the generated interfaces must not leave the classes abstract.
    return [Orders(), Stock(), Lights(), OrdersAmqpHandlers()]


async def send(publisher: Publisher) -> int:
    orders = OrdersAmqpPublisher(publisher)
    order = models.Order(
        orderId=uuid.uuid4(), customerId="c1", lines=[models.OrderLine(sku="ABC-1234", quantity=2)]
    )
    await orders.announce_order(order, region="eu", headers=models.TenantHeaders(tenant="acme"))
    level = await orders.check_stock(models.CheckStock(lines=order.lines), timeout=2.0)
    now = lights.SentAt(datetime.datetime.now(datetime.UTC))
    await StreetlightsKafkaPublisher(publisher).turn_on(
        lights.TurnOnOffPayload(command=lights.Command.ON, sentAt=now), streetlight_id="42", key="42"
    )
    await InventoryRedisPublisher(publisher).publish_stock_change(
        inventory.StockChanged(sku="ABC-1234", onHand=3), warehouse="ams1"
    )
    reading = meters.Reading(
        meterId=uuid.uuid4(), watts=1, total=2, ratio=0.5, voltage=1.0, healthy=True, raw=b"",
        checksum=b"0123456789abcdef", day=datetime.date(2024, 1, 1),
        at=datetime.datetime.now(datetime.UTC), atMicros=datetime.datetime.now(datetime.UTC),
        localAt=datetime.datetime(2024, 1, 1), timeOfDay=datetime.time(1), price=decimal.Decimal("1.50"),
        location=meters.Location(lat=1.0, lon=2.0), value=3, phases={"l1": meters.Unit.WH},
    )
    await MetersAvroPublisher(publisher).send_reading(reading, site="north")
    return sum(level.available.values())
'''

BROKEN = """
from __future__ import annotations

from microlib.messaging import MessageContext, Publisher

from gen.meters_avro import MetersAvroPublisher
from gen.meters_avro import models as meters
from gen.orders_amqp import OrdersAmqpConsumer, OrdersAmqpPublisher, models


class Orders(OrdersAmqpConsumer):
    async def on_payment(self, payload: models.Order, ctx: MessageContext) -> None:
        return None


async def send(publisher: Publisher, order: models.Order, alarm: meters.Alarm) -> None:
    await OrdersAmqpPublisher(publisher).announce_order(order, region="asia", headers=None)
    await MetersAvroPublisher(publisher).send_reading(alarm, site="north")
"""


def test_user_code_passes_mypy_strict_and_a_changed_payload_type_is_an_error(
    tmp_path: Path, events: Path, mypy_cache: Path
) -> None:
    """Consumers, publishers and the untouched stubs pass `mypy --strict`; wrong types are errors."""
    import subprocess
    import sys

    from tests.codegen.conftest import ROOT

    project = tmp_path / "project"
    assert codegen(TESTDATA, ASYNCAPI, "--out", project / "gen", "--stubs", project / "stubs").returncode == 0
    shutil.copytree(ROOT / "microlib", project / "microlib", ignore=shutil.ignore_patterns("__pycache__"))
    (project / "mypy.ini").write_text("[mypy]\n\n[mypy-microlib.*]\nfollow_imports = silent\n")
    cache = mypy_cache / "user-project"  # test_typing.py's options too

    def mypy(module: str) -> subprocess.CompletedProcess[str]:
        (project / "user.py").write_text(module)
        return subprocess.run(
            [sys.executable, "-m", "mypy", "--strict", f"--cache-dir={cache}", "user.py", "stubs"],
            cwd=project, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip

    ok = mypy(USER_MODULE)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    broken = mypy(BROKEN)
    assert broken.returncode == 1
    assert 'Argument 1 of "on_payment" is incompatible with supertype' in broken.stdout
    assert (
        'Argument "region" to "announce_order" of "OrdersAmqpPublisher" has incompatible type'
        in broken.stdout
    )
    assert 'Argument "headers" to "announce_order"' in broken.stdout
    assert 'Argument 1 to "send_reading" of "MetersAvroPublisher" has incompatible type "Alarm"' in (
        broken.stdout
    )


EDGES = """\
asyncapi: 3.0.0
info:
  title: Edge Cases
  version: '0.1'
channels:
  events:
    address: events.{key}
    parameters:
      key:
        description: Named like the publisher's own key argument.
    messages:
      shape:
        payload:
          type: object
          required: [kind]
          properties:
            kind:
              type: string
            text:
              $ref: '#/components/messages/note/payload/properties/text'
      note:
        $ref: '#/components/messages/note'
      plain:
        contentType: text/plain
        payload:
          type: string
      avroHeaders:
        headers:
          schemaFormat: application/vnd.apache.avro;version=1.9.0
          schema:
            type: record
            name: Headers
            fields: []
        payload:
          type: object
      anonymousProto:
        payload:
          schemaFormat: application/vnd.google.protobuf;version=3
          schema: 'syntax = "proto3";'
      ramlNote:
        payload:
          schemaFormat: application/raml+yaml;version=1.0
          schema:
            type: string
operations:
  turnOn:
    action: send
    channel:
      $ref: '#/channels/events'
    messages:
      - $ref: '#/channels/events/messages/shape'
  turn_on:
    action: send
    channel:
      $ref: '#/channels/events'
    messages:
      - $ref: '#/channels/events/messages/note'
      - $ref: '#/channels/events/messages/avroHeaders'
      - $ref: '#/channels/events/messages/anonymousProto'
      - $ref: '#/channels/events/messages/ramlNote'
  ask:
    action: send
    channel:
      $ref: '#/channels/events'
    messages:
      - $ref: '#/channels/events/messages/note'
    reply:
      messages:
        - $ref: '#/channels/events/messages/plain'
  askAnywhere:
    action: receive
    channel:
      $ref: '#/channels/events'
    messages:
      - $ref: '#/channels/events/messages/note'
    reply:
      messages:
        - $ref: '#/channels/events/messages/shape'
components:
  schemas:
    ramlThing:
      schemaFormat: application/raml+yaml;version=1.0
      schema:
        type: string
  messages:
    note:
      payload:
        type: object
        properties:
          text:
            type: string
"""


def test_constructs_without_code_are_skipped_and_names_stay_unique(tmp_path: Path) -> None:
    """Non-JSON schemas and content types, and an unknown protobuf message, are skipped with a
    warning each; clashing method and argument names are made unique; a reply may name no channel."""
    doc = tmp_path / "edges.yaml"
    doc.write_text(EDGES)
    result = codegen(doc, "--out", tmp_path / "gen_edges")
    assert result.returncode == 0, result.stderr
    warnings = [line.split(": ", 1)[1] for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert [w.split(": ", 2)[1] for w in warnings] == [
        "components.schemas.ramlThing",
        "channels.events.messages.avroHeaders.headers",
        "channels.events.messages.anonymousProto.payload",
        "channels.events.messages.ramlNote.payload",
        "channels.events.messages.plain.contentType",
        "operations.ask.reply",
    ]
    assert "schemaFormat application/raml+yaml;version=1.0 is not JSON Schema: no model" in warnings[0]
    assert f"{doc}:28: " in warnings[1]
    assert warnings[1].endswith("headers untyped")
    assert warnings[3].endswith(
        "schemaFormat application/raml+yaml;version=1.0 is not supported "
        "(JSON Schema, AsyncAPI, OpenAPI, Avro or protobuf): message skipped"
    )
    assert warnings[4].endswith("content type text/plain is not JSON: message skipped")
    assert warnings[5].endswith("the reply carries no message microlib can generate: reply skipped")
    check = (
        "import json, gen_edges.edges as g\n"
        "ops = g.DEFINITION.operations\n"
        "print(json.dumps({n: [o.python_name, [m.name for m in o.messages], o.reply and o.reply.address]"
        " for n, o in ops.items()}))\n"
        "import inspect\n"
        "print(list(inspect.signature(g.EdgesPublisher.turn_on).parameters))\n"
        "print(g.models.Shape.model_validate({'kind': 'k', 'text': 't'}).text)\n"
    )
    run = python(check, tmp_path)
    assert run.returncode == 0, run.stderr
    ops, params, text = run.stdout.splitlines()
    assert json.loads(ops) == {
        "turnOn": ["turn_on", ["shape"], None],
        "turn_on": ["turn_on_2", ["note", "avroHeaders"], None],
        "ask": ["ask", ["note"], None],
        "askAnywhere": ["ask_anywhere", ["note"], ""],
    }
    assert json.loads(params.replace("'", '"')) == [
        "self",
        "payload",
        "key_param",
        "key",
        "message_id",
        "correlation_id",
    ]
    assert text == "t"


@pytest.mark.parametrize(
    ("document", "old", "new", "message"),
    [
        (
            "streetlights-mqtt.yaml",
            "operationId: dimLight",
            "operationId: turnOn",
            "streetlights-mqtt.yaml:86: channels.smartylighting/streetlights/1/0/action/{streetlightId}/dim"
            ".subscribe: operation name 'turnOn' is also used at ",
        ),
        (
            "orders-amqp.yaml",
            "    x-team: payments\n",
            "    x-team: payments\n    x-microlib-retry: 3\n",
            "orders-amqp.yaml:128: operations.onPayment.x-microlib-retry: expected a mapping of "
            "maxAttempts, initialBackoff, maxBackoff, multiplier, jitter",
        ),
        (
            "orders-amqp.yaml",
            "      name: PaymentFailed\n",
            "      name: PaymentFailed\n      x-microlib-key: $message.header#/tenant\n",
            "orders-amqp.yaml:122: operations.onPayment: its messages name different keys "
            "($message.header#/tenant, $message.payload#/orderId): set x-microlib-key on the operation",
        ),
    ],
)
def test_an_ambiguous_document_is_an_error(
    tmp_path: Path, document: str, old: str, new: str, message: str
) -> None:
    """Two operations of one name, a retry policy that is not a mapping, or messages naming
    different keys stop the run, at their file and line."""
    contracts = tmp_path / "contracts"
    shutil.copytree(ASYNCAPI, contracts)
    doc = contracts / document
    text = doc.read_text()
    assert old in text
    text = text.replace(old, new, 1)
    if "different keys" in message:
        text = text.replace(
            "      name: PaymentCaptured\n",
            "      name: PaymentCaptured\n      x-microlib-key: $message.payload#/orderId\n",
        )
    doc.write_text(text)
    result = codegen(doc, "--out", tmp_path / "gen")
    assert result.returncode == 2
    assert f"{contracts}/{message}" in result.stderr


_H = "class H(OrdersAmqpConsumer):\n    "
_ORDER = "(self, payload: models.Order, ctx: MessageContext) -> None:\n        pass\n"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (
            "class Mine:\n    pass\n",
            "no class subclasses OrdersAmqpConsumer (expected OrdersAmqpHandlers(OrdersAmqpConsumer))",
        ),
        ("class Broken(OrdersAmqpConsumer:\n", "cannot check the stub: "),
        (_H + "def place_order" + _ORDER, "H.place_order: must be `async def` returning once"),
        (
            _H + "async def place_order(self, payload: models.Order) -> None:\n        pass\n",
            "H.place_order: takes 1 parameter(s) after self, expected 2 (payload, ctx)",
        ),
        (
            _H + "async def place_order" + _ORDER,
            "H.place_order: returns None; expected: async def place_order(",
        ),
        (
            _H
            + "async def on_payment"
            + _ORDER.replace("models.Order", "models.PaymentFailed | models.PaymentCaptured"),
            "",
        ),
    ],
)
def test_stub_drift_checks_each_handler_shape(tmp_path: Path, body: str, problem: str) -> None:
    """The stub is parsed, never imported: a broken or unrelated module, a sync handler, a wrong
    parameter count and a changed reply type are each reported; a union in another order is not."""
    from microlib_codegen.asyncapi import load
    from microlib_codegen.drift import consumer_drift

    app = load(ASYNCAPI / "orders-amqp.yaml", package="orders_amqp", proto={}, starts=[])
    stub = tmp_path / "orders_amqp_handlers.py"
    stub.write_text(body)
    report = consumer_drift(app, stub, "gen")
    others = [line for line in report if "has no method here" not in line]
    if problem:
        assert len(others) == 1, report
        assert problem in others[0]
    else:
        assert others == []


async def test_the_generated_request_returns_the_typed_reply(events: Path) -> None:
    """A send operation with a reply generates a typed method that sends the request
    and returns the reply's payload: checkStock (orders_amqp) answered by a responder
    on the request's channel, through the in-memory broker."""
    import dataclasses
    import uuid

    from microlib import Service
    from microlib.messaging import MessageContext
    from microlib.testing import TestService

    module = importlib.import_module("gen_events.orders_amqp")
    models = importlib.import_module("gen_events.orders_amqp.models")
    check = module.DEFINITION.operations["checkStock"]
    assert check.reply is not None
    # The responder, as the inventory service's own contract would describe it.
    answer = dataclasses.replace(check.reply, action=Action.SEND)
    receive = dataclasses.replace(
        check, name="onCheckStock", python_name="on_check_stock", action=Action.RECEIVE
    )
    receive = dataclasses.replace(receive, reply=answer)

    class InventoryConsumer:
        async def on_check_stock(self, payload: Any, ctx: MessageContext) -> Any:
            raise NotImplementedError

    class Inventory(InventoryConsumer):
        async def on_check_stock(self, payload: Any, ctx: MessageContext) -> Any:
            return models.StockLevel(available={line.sku: 7 for line in payload.lines})

    InventoryConsumer.__microlib_asyncapi__ = dataclasses.replace(  # type: ignore[attr-defined]
        module.DEFINITION, operations={"onCheckStock": receive}, consumer_protocol=InventoryConsumer
    )
    url = f"memory://{uuid.uuid4().hex[:8]}"
    responder = Service("inventory")
    responder.include(Inventory())
    requester = Service("orders")
    publisher = module.OrdersAmqpPublisher(requester.publisher)
    async with (
        TestService(responder, overrides=[f"messaging.url={url}"]),
        TestService(requester, overrides=[f"messaging.url={url}"]),
    ):
        line = models.OrderLine(sku="BKS-0001", quantity=2)
        level = await publisher.check_stock(models.CheckStock(lines=[line]), timeout=10)
    assert level == models.StockLevel(available={"BKS-0001": 7})
