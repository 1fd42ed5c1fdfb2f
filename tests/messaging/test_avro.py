"""Avro payloads on the wire: a contract's Avro message (tests/codegen/asyncapi/meters-avro.yaml,
its schema in meters-reading.avsc) sent and received through the memory broker and Kafka, its
bytes those any Avro writer writes, and a body that is not Avro dead-lettered."""

from __future__ import annotations

import datetime
import decimal
import importlib
import io
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import fastavro
import pytest

from microlib import Service
from microlib.core.errors import InvalidArgument
from microlib.messaging import MessageContext, OutgoingMessage
from microlib.testing import TestService
from tests.codegen.conftest import ASYNCAPI, ROOT, codegen
from tests.messaging.contract import eventually

SCHEMA = json.loads((ASYNCAPI / "meters-reading.avsc").read_text())
AT = datetime.datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=datetime.UTC)


@pytest.fixture(scope="module")
def meters(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """meters-avro.yaml generated into the importable package ``gen_avro_wire``."""
    root = tmp_path_factory.mktemp("avro_wire")
    result = codegen(ASYNCAPI / "meters-avro.yaml", "--out", root / "gen_avro_wire")
    assert result.returncode == 0, result.stderr
    sys.path.insert(0, str(root))
    yield importlib.import_module("gen_avro_wire.meters_avro")
    sys.path.remove(str(root))
    for name in [m for m in sys.modules if m == "gen_avro_wire" or m.startswith("gen_avro_wire.")]:
        del sys.modules[name]


def _record(meter: uuid.UUID) -> dict[str, Any]:
    """One reading as another producer holds it: a plain dict, fastavro's Python values."""
    location = {"lat": 59.9, "lon": 10.7}
    return {
        "meterId": str(meter),
        "watts": -1500,
        "total": 2**40,
        "ratio": 0.5,
        "voltage": 229.75,
        "healthy": True,
        "raw": b"\x00\xff",
        "checksum": b"0123456789abcdef",
        "day": datetime.date(2024, 5, 6),
        "at": AT,
        "atMicros": AT.replace(microsecond=123456),
        "localAt": datetime.datetime(2024, 5, 6, 9, 8, 9, 123000),
        "timeOfDay": datetime.time(7, 8, 9, 123000),
        "price": decimal.Decimal("12.34"),
        "unit": "WH",
        "location": location,
        "previous": location,
        "note": None,
        "value": "n/a",
        "tags": ["a", "b"],
        "phases": {"l1": "KWH"},
        "history": [],
        "class": "commercial",
    }


def _fastavro(record: dict[str, Any]) -> bytes:
    out = io.BytesIO()
    fastavro.schemaless_writer(out, fastavro.parse_schema(SCHEMA), record)
    return out.getvalue()


def _consumer(meters: ModuleType, got: list[Any]) -> Any:
    class Readings(meters.MetersAvroConsumer):  # type: ignore[misc,name-defined]
        async def on_reading(self, payload: Any, ctx: MessageContext) -> None:
            got.append((payload, ctx.address))

    return Readings()


class TestCodec:
    def test_the_bytes_are_fastavros_and_fastavros_are_read(self, meters: ModuleType) -> None:
        """What microlib writes for a reading is byte for byte what fastavro writes for the same
        record from the .avsc file alone, and it reads those bytes back as the model."""
        [message] = meters.DEFINITION.operations["sendReading"].messages
        record = _record(uuid.uuid4())
        payload = meters.models.Reading.model_validate(record)
        assert message.encode(payload) == _fastavro(record)
        assert message.decode(_fastavro(record)) == payload

    @pytest.mark.parametrize(
        ("body", "description"),
        [
            (b"", "not an Avro record of this schema: EOFError"),
            (b"\xff\xff\xff", "not an Avro record of this schema"),
            (b'{"watts": 5}', "not an Avro record of this schema"),
        ],
    )
    def test_a_body_that_is_not_a_record_is_invalid_argument(
        self, meters: ModuleType, body: bytes, description: str
    ) -> None:
        """Truncated, garbage or JSON bytes: INVALID_PAYLOAD on ``payload``, rule ``avro``."""
        [message] = meters.DEFINITION.operations["onReading"].messages
        with pytest.raises(InvalidArgument) as caught:
            message.decode(body)
        assert caught.value.reason == "INVALID_PAYLOAD"
        [violation] = caught.value.violations
        assert (violation.field, violation.rule) == ("payload", "avro")
        assert violation.description.startswith(description)

    def test_bytes_after_the_record_are_refused(self, meters: ModuleType) -> None:
        """A record followed by anything is not one record: refused, naming the extra bytes."""
        [message] = meters.DEFINITION.operations["onReading"].messages
        with pytest.raises(InvalidArgument, match=r"payload: 2 byte\(s\) after the Avro record"):
            message.decode(_fastavro(_record(uuid.uuid4())) + b"\x00\x00")

    def test_a_value_its_schema_cannot_hold_is_refused_when_sending(self, meters: ModuleType) -> None:
        """An Avro int holds 32 bits: a bigger one (which fastavro would write as it is, for every
        reader to misread) is refused, naming the field."""
        [message] = meters.DEFINITION.operations["sendReading"].messages
        payload = meters.models.Reading.model_validate({**_record(uuid.uuid4()), "watts": 2**31})
        with pytest.raises(ValueError) as caught:
            message.encode(payload)
        assert str(caught.value) == (
            "payload of message MeterReading does not fit its Avro schema: "
            "com.example.meters.Reading.watts is <2147483648> of type <class 'int'> expected int"
        )

    @pytest.mark.parametrize(
        "items",
        [
            "null",
            {"type": "record", "name": "Nothing", "fields": []},
            {"type": "record", "name": "Nulls", "fields": [{"name": "n", "type": "null"}]},
            {"type": "fixed", "name": "Empty", "size": 0},
        ],
        ids=["null", "empty-record", "record-of-null", "empty-fixed"],
    )
    def test_an_array_of_items_that_take_no_bytes_is_refused_when_built(self, items: Any) -> None:
        """Such an array's count (a few bytes: 2**62 is nine) makes fastavro's reader build that
        many items without reading another byte, so one small body would never decode."""
        from pydantic import BaseModel

        from microlib.core.errors import InvalidContract
        from microlib.messaging import AvroCodec

        endless = {"type": "array", "items": items}
        schema = {"type": "record", "name": "R", "fields": [{"name": "xs", "type": ["null", endless]}]}
        with pytest.raises(InvalidContract, match="has an array whose items take no bytes"):
            AvroCodec(BaseModel, schema, "M")
        fine = {
            "type": "record",
            "name": "Node",
            "fields": [{"name": "kids", "type": {"type": "array", "items": "Node"}}],
        }
        AvroCodec(BaseModel, fine, "M")  # a recursive array takes at least its count


class TestMemory:
    async def test_a_reading_round_trips_with_avro_bytes_and_content_type(self, meters: ModuleType) -> None:
        """Sent through the typed publisher, received by the consumer as the model it was; on the
        way, the body is fastavro's bytes and the content type Avro's."""
        got: list[Any] = []
        service = Service("meters")
        service.include(_consumer(meters, got))
        publisher = meters.MetersAvroPublisher(service.publisher)
        record = _record(uuid.uuid4())
        payload = meters.models.Reading.model_validate(record)
        async with TestService(service) as t:
            await publisher.send_reading(payload, site="north")
            await eventually(lambda: got)
            [sent] = t.messages.published
        assert got == [(payload, "meters.north.readings")]
        assert sent.message.body == _fastavro(record)
        assert sent.message.content_type == "application/vnd.apache.avro"
        # x-microlib-key: $message.payload#/meterId, read from the model.
        assert sent.message.key == record["meterId"]

    async def test_another_producers_record_is_handled_and_garbage_dead_lettered(
        self, meters: ModuleType
    ) -> None:
        """fastavro's bytes from a producer other than microlib reach the handler; a body that is
        not Avro never does: it is dead-lettered as poison, INVALID_PAYLOAD naming ``payload``."""
        got: list[Any] = []
        service = Service("meters")
        service.include(_consumer(meters, got))
        operation = meters.DEFINITION.operations["onReading"]
        record = _record(uuid.uuid4())
        async with TestService(service) as t:
            for body in (b"\x07garbage", _fastavro(record)):
                message = OutgoingMessage(
                    address="meters.south.readings", body=body, message_id=uuid.uuid4().hex
                )
                await service.messaging.broker.publish(operation, message)
            await eventually(lambda: got)
            [letter] = await eventually(lambda: t.messages.dead_letters(operation))
        assert got == [(meters.models.Reading.model_validate(record), "meters.south.readings")]
        _assert_dead_letter(letter, b"\x07garbage")


def _assert_dead_letter(letter: OutgoingMessage, body: bytes) -> None:
    assert letter.body == body
    assert letter.headers["x-microlib-dead-letter-reason"] == "poison"
    assert letter.headers["x-microlib-error-reason"] == "INVALID_PAYLOAD"
    [violation] = json.loads(letter.headers["x-microlib-violations"])
    assert (violation["field"], violation["rule"]) == ("payload", "avro")


@pytest.mark.connected
async def test_on_kafka_with_another_producer(meters: ModuleType, kafka_bootstrap: str) -> None:
    """On a real Kafka broker: a reading microlib sends and one a plain aiokafka producer wrote
    with fastavro both reach the handler as models; a record value that is not Avro is
    dead-lettered."""
    from aiokafka import AIOKafkaProducer

    got: list[Any] = []
    service = Service("meters")
    service.include(_consumer(meters, got))
    publisher = meters.MetersAvroPublisher(service.publisher)
    site = f"s{uuid.uuid4().hex[:8]}"
    ours, theirs = _record(uuid.uuid4()), _record(uuid.uuid4())
    settings = [f"messaging.url=kafka://{kafka_bootstrap}", f"messaging.group=g{uuid.uuid4().hex[:8]}"]
    operation = meters.DEFINITION.operations["onReading"]
    async with TestService(service, overrides=settings, with_real=True) as t:
        await publisher.send_reading(meters.models.Reading.model_validate(ours), site=site)
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
        await producer.start()
        try:
            topic = f"meters.{site}.readings"
            await producer.send_and_wait(topic, b"\x07garbage")
            await producer.send_and_wait(topic, _fastavro(theirs), key=theirs["meterId"].encode())
        finally:
            await producer.stop()
        await eventually(lambda: len(got) == 2)
        [letter] = await eventually(lambda: t.messages.dead_letters(operation))
    models = meters.models
    assert sorted(got, key=lambda g: str(g[0].meterId)) == sorted(
        [(models.Reading.model_validate(r), f"meters.{site}.readings") for r in (ours, theirs)],
        key=lambda g: str(g[0].meterId),
    )
    _assert_dead_letter(letter, b"\x07garbage")


SERVICE = """
from microlib import Service
from gen_avro_wire.meters_avro import MetersAvroConsumer


class Readings(MetersAvroConsumer):
    pass


service = Service("meters")
service.include(Readings())
"""


def test_without_the_extra_the_service_stops_at_start_with_the_pip_command(
    meters: ModuleType, tmp_path: Path
) -> None:
    """fastavro not installed: `microlib run` stops at once, naming the message that needs it
    and the pip command, without a traceback."""
    (tmp_path / "svc.py").write_text(SERVICE)
    generated = Path(meters.__file__).parents[1]
    script = (
        "import sys\n"
        "sys.modules['fastavro'] = None\n"  # as if not installed
        "from microlib.cli.main import main\n"
        "raise SystemExit(main(['run', 'svc:service']))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(generated.parent), str(tmp_path)])}
    run = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert run.returncode == 2, run.stderr
    assert run.stderr.strip() == (
        "microlib run: the Avro payload of message MeterReading needs fastavro, not installed: "
        "pip install 'microlib[avro]'"
    )
