"""`microlib codegen` on Avro payloads: the models of an Avro record schema, written in the
contract or in an .avsc file it refers to, and the errors of a schema it cannot type."""

from __future__ import annotations

import datetime
import decimal
import importlib
import json
import shutil
import sys
import typing
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from pydantic import AwareDatetime, NaiveDatetime

from tests.codegen.conftest import ASYNCAPI, ROOT, codegen, python

REAL = ROOT / "tests" / "messaging" / "real_contracts"


@pytest.fixture(scope="module")
def meters(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """meters-avro.yaml (every Avro construct; its reading schema in meters-reading.avsc),
    generated into the importable package ``gen_avro``."""
    root = tmp_path_factory.mktemp("avro")
    result = codegen(ASYNCAPI / "meters-avro.yaml", "--out", root / "gen_avro")
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr
    sys.path.insert(0, str(root))
    yield importlib.import_module("gen_avro.meters_avro")
    sys.path.remove(str(root))
    for name in [m for m in sys.modules if m == "gen_avro" or m.startswith("gen_avro.")]:
        del sys.modules[name]


def _hints(model: type[Any]) -> dict[str, Any]:
    """Each field's type (``Annotated`` constraints left out), by its Avro name."""
    return {
        (info.alias or name): typing.get_type_hints(model)[name] for name, info in model.model_fields.items()
    }


class TestModels:
    def test_every_avro_type_is_its_python_type(self, meters: ModuleType) -> None:
        """Primitives, logical types, named types, arrays, maps and unions: each field of the
        record is typed as the table in docs/codegen.md says, under its Avro name."""
        models = meters.models
        assert _hints(models.Reading) == {
            "meterId": uuid.UUID,
            "watts": int,
            "total": int,
            "ratio": float,
            "voltage": float,
            "healthy": bool,
            "raw": bytes,
            "checksum": bytes,
            "day": datetime.date,
            "at": AwareDatetime,
            "atMicros": AwareDatetime,
            "localAt": NaiveDatetime,
            "timeOfDay": datetime.time,
            "price": decimal.Decimal,
            "unit": models.Unit,
            "location": models.Location,
            "previous": models.Location | None,
            "note": str | None,
            "value": int | str,
            "tags": list[str],
            "phases": dict[str, models.Unit],
            "history": list[models.Reading],
            "class": str,
        }
        assert [u.value for u in models.Unit] == ["WH", "KWH"]
        assert models.Reading.__doc__.strip() == "One reading of a meter."

    def test_defaults_are_the_schemas_and_a_field_without_one_is_required(self, meters: ModuleType) -> None:
        """A field with a ``default`` may be left out (an enum's is its member, a nullable's None);
        one without is required; a fixed holds exactly its size."""
        fields = meters.models.Reading.model_fields
        required = {name for name, info in fields.items() if info.is_required()}
        assert required == set(fields) - {"unit", "previous", "note", "tags", "history", "class_"}
        assert fields["unit"].default is meters.models.Unit.KWH
        assert (fields["previous"].default, fields["tags"].default, fields["class_"].default) == (
            None,
            [],
            "residential",
        )
        limits = {type(m).__name__: m for m in fields["checksum"].metadata}
        assert (limits["MinLen"].min_length, limits["MaxLen"].max_length) == (16, 16)

    def test_a_type_defined_alike_twice_is_one_model_and_namespaces_are_dropped(
        self, meters: ModuleType
    ) -> None:
        """com.example.geo.Location is written in both messages' schemas: one model, named
        without its namespace; the records and enums are models, nothing else is."""
        models = meters.models
        assert _hints(models.Alarm)["location"] is models.Location
        defined = sorted(
            n for n, v in vars(models).items() if isinstance(v, type) and v.__module__ == models.__name__
        )
        assert defined == ["Alarm", "Level", "Location", "Reading", "Unit"]

    def test_the_codec_is_the_contracts_schema_and_the_content_type_avros(self, meters: ModuleType) -> None:
        """The message encodes with the schema as the .avsc file writes it, whatever the
        document's default content type (JSON here)."""
        [message] = meters.DEFINITION.operations["sendReading"].messages
        assert message.content_type == "application/vnd.apache.avro"
        assert message.payload_type is meters.models.Reading
        application = (Path(meters.__file__).parent / "application.py").read_text()
        schema = json.loads((ASYNCAPI / "meters-reading.avsc").read_text())
        assert 'AvroCodec(\n    models.Reading,\n    {\n        "type": "record"' in application
        assert repr(schema["fields"][0]).replace("'", '"') in application
        assert "json_decoder" not in application


def test_same_contract_same_bytes(tmp_path: Path) -> None:
    """Generated twice, an Avro contract gives the same files, each marked DO NOT EDIT."""
    first, second = tmp_path / "a", tmp_path / "b"
    for out in (first, second):
        assert codegen(ASYNCAPI / "meters-avro.yaml", "--out", out).returncode == 0
    a = {p.relative_to(first): p.read_bytes() for p in first.rglob("*") if p.is_file()}
    b = {p.relative_to(second): p.read_bytes() for p in second.rglob("*") if p.is_file()}
    assert a == b
    assert a[Path("meters_avro", "application.py")].startswith(b"# Generated from ")
    assert b"DO NOT EDIT" in a[Path("meters_avro", "models.py")].splitlines()[0]


def test_a_published_contract_with_its_avsc_generates(tmp_path: Path) -> None:
    """asyncapi/avro-schema-parser's issue-111 example (an AsyncAPI 2.0 message whose payload
    $refs an .avsc file): namespaced records, one used again by its full name, uuid and
    timestamp-millis logical types, a nullable map."""
    project = tmp_path / "p"
    (project / "schemas").mkdir(parents=True)
    shutil.copy(REAL / "avro-connection-requested.yaml", project)
    shutil.copy(REAL / "schemas" / "issue-111-testcase.avsc", project / "schemas")
    result = codegen(project / "avro-connection-requested.yaml", "--out", tmp_path / "gen_111")
    assert result.returncode == 0, result.stderr
    check = (
        "import typing, gen_111.avro_connection_requested as g\n"
        "m = g.models\n"
        "print(sorted(typing.get_type_hints(m.ConnectionRequested)))\n"
        "print(typing.get_type_hints(m.ConnectionRequested)['refresh_token'] is m.EncryptedString)\n"
        "print(typing.get_type_hints(m.EventMetadata)['publisher_context'])\n"
        "[message] = g.DEFINITION.operations['publishMychannel'].messages\n"
        "print(message.payload_type is m.ConnectionRequested, message.content_type)\n"
    )
    run = python(check, tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [
        "['auth_code', 'metadata', 'refresh_token', 'triggered_by']",
        "True",
        "dict[str, str] | None",
        "True application/vnd.apache.avro",
    ]
    # The .avsc is inlined where it is used, not hoisted among the JSON Schemas.
    served = json.loads((tmp_path / "gen_111" / "avro_connection_requested" / "asyncapi.json").read_text())
    assert "components" not in served
    assert served["channels"]["mychannel"]["publish"]["message"]["payload"]["name"] == "ConnectionRequested"


def _document(payload: Any, *, content_type: str | None = None) -> str:
    """A 2.6 document sending one Avro message (3.x documents have their Avro schemas checked
    by the AsyncAPI JSON Schema first; 2.x ones are read by codegen alone)."""
    message: dict[str, Any] = {
        "name": "Thing",
        "schemaFormat": "application/vnd.apache.avro;version=1.9.0",
        "payload": payload,
    }
    if content_type:
        message["contentType"] = content_type
    return yaml.safe_dump(
        {
            "asyncapi": "2.6.0",
            "info": {"title": "T", "version": "1"},
            "channels": {"things": {"subscribe": {"operationId": "sendThing", "message": message}}},
        },
        sort_keys=False,
    )


def _record(*fields: dict[str, Any], name: str = "Thing") -> dict[str, Any]:
    return {"type": "record", "name": name, "fields": list(fields)}


AT = "channels.things.subscribe.message.payload"


@pytest.mark.parametrize(
    ("schema", "where", "reason"),
    [
        (
            _record({"name": "id", "type": "uuid"}),
            f"{AT}.fields[0].type",
            "unknown Avro type 'uuid' (known here: null, boolean, int, long, float, double, bytes, string, "
            "Thing; a named type is defined before its use)",
        ),
        (
            _record({"name": "a", "type": "Later"}, {"name": "b", "type": _record(name="Later")}),
            f"{AT}.fields[0].type",
            "unknown Avro type 'Later'",
        ),
        (
            _record({"name": "a", "type": "string"}, {"name": "a", "type": "int"}),
            f"{AT}.fields[1].name",
            "the record Thing has two fields 'a'",
        ),
        # The AsyncAPI JSON Schema's own Avro schema checks each type's shape first.
        (
            _record({"name": "my-field", "type": "int"}),
            f"{AT}.fields[0].name",
            "'my-field' does not match '^[A-Za-z_][A-Za-z0-9_]*$'",
        ),
        (_record({"name": "a"}), f"{AT}.fields[0]", "'type' is a required property"),
        (
            _record({"name": "a", "type": {"type": "enum", "name": "E", "symbols": ["ok", "not ok"]}}),
            f"{AT}.fields[0].type.symbols[1]",
            "'not ok' does not match '^[A-Za-z_][A-Za-z0-9_]*$'",
        ),
        (
            _record({"name": "a", "type": {"type": "bytes", "logicalType": "decimal"}}),
            f"{AT}.fields[0].type.precision",
            "a decimal needs an integer precision",
        ),
        (
            _record({"name": "a", "type": ["null", ["int", "string"]]}),
            f"{AT}.fields[0].type[1]",
            "a union may not hold a union",
        ),
        (
            _record({"name": "a", "type": _record(name="T")}, {"name": "b", "type": _record(name="T")}),
            f"{AT}.fields[1].type.name",
            "the Avro type T is defined twice",
        ),
        (
            {"type": "enum", "name": "Only", "symbols": ["A"]},
            AT,
            "an Avro payload must be a record (the message's model), not 'enum'",
        ),
        (["null", "string"], AT, "an Avro payload must be a record (the message's model), not 'union'"),
    ],
)
def test_a_schema_it_cannot_type_is_an_error_at_its_file_and_line(
    tmp_path: Path, schema: Any, where: str, reason: str
) -> None:
    """Never a traceback: one line naming the file, the line, the path in the document and what
    is wrong; the run fails and writes nothing."""
    doc = tmp_path / "things.yaml"
    doc.write_text(_document(schema))
    result = codegen(doc, "--out", tmp_path / "gen")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    line = next(line for line in result.stderr.splitlines() if f": {where}: " in line)
    assert f"{doc}:" in line
    assert reason in line.split(f": {where}: ", 1)[1]
    assert not (tmp_path / "gen").exists()


def test_a_published_schema_with_a_mistake_names_the_avsc_line(tmp_path: Path) -> None:
    """asyncapi/avro-schema-parser's Person-1.9.0.avsc writes ``"type": "uuid"`` (uuid is a
    logical type of string, not a type): the error names the .avsc file and its line."""
    (tmp_path / "schemas").mkdir()
    schema = json.loads((REAL / "schemas" / "issue-111-testcase.avsc").read_text())
    schema["fields"][3]["type"] = "uuid"
    (tmp_path / "schemas" / "event.avsc").write_text(json.dumps(schema, indent=2))
    document = (REAL / "avro-connection-requested.yaml").read_text()
    (tmp_path / "doc.yaml").write_text(document.replace("issue-111-testcase.avsc", "event.avsc"))
    result = codegen(tmp_path / "doc.yaml", "--out", tmp_path / "gen")
    assert result.returncode != 0
    line_of_type = json.dumps(schema, indent=2).splitlines().index('      "type": "uuid",') + 1
    assert (
        f"{tmp_path / 'schemas' / 'event.avsc'}:{line_of_type}: "
        "channels.mychannel.publish.message.payload.fields[3].type: unknown Avro type 'uuid'"
    ) in result.stderr


def test_avros_json_encoding_is_skipped_with_a_warning(tmp_path: Path) -> None:
    """An Avro schema with a JSON content type describes Avro's JSON encoding, which microlib
    does not read: the message is skipped, and said so."""
    doc = tmp_path / "things.yaml"
    doc.write_text(_document(_record({"name": "a", "type": "int"}), content_type="application/json"))
    result = codegen(doc, "--out", tmp_path / "gen")
    assert result.returncode == 0, result.stderr
    assert (
        "channels.things.subscribe.message.contentType: message Thing: content type application/json with an "
        "Avro schema is Avro's JSON encoding, which microlib does not read (the binary encoding is): "
        "message skipped"
    ) in result.stderr


def test_two_types_of_one_name_are_two_models(tmp_path: Path) -> None:
    """Two messages' schemas define different records both called Location: the second model is
    Location2, each message's record holding its own."""
    doc = tmp_path / "things.yaml"
    text = _document(
        _record(
            {"name": "a", "type": _record({"name": "lat", "type": "double"}, name="Location")},
            {
                "name": "b",
                "type": {**_record({"name": "x", "type": "int"}, name="Location"), "namespace": "b"},
            },
        )
    )
    doc.write_text(text)
    result = codegen(doc, "--out", tmp_path / "gen_two")
    assert result.returncode == 0, result.stderr
    models = (tmp_path / "gen_two" / "things" / "models.py").read_text()
    assert (
        models.count("class Location(_GeneratedModel):")
        == models.count("class Location2(_GeneratedModel):")
        == 1
    )
    assert "    a: Location\n    b: Location2\n" in models
