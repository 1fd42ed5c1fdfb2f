"""Generated converters: wire compatibility both ways with protoc-generated messages, and JSON."""

from __future__ import annotations

import datetime as dt
import importlib
import random
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from google.protobuf import any_pb2, json_format
from google.protobuf.descriptor import FieldDescriptor

from microlib.core.errors import InvalidArgument
from tests.codegen.conftest import ROOT, TESTDATA

UTC = dt.UTC


@pytest.fixture(scope="module")
def pb2(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """protoc's own Python classes (`bookshop_pb2`) for the same contract."""
    out = tmp_path_factory.mktemp("pb2")
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{TESTDATA}", f"-I{ROOT / 'contracts'}",
         f"--python_out={out}", *sorted(str(p.relative_to(TESTDATA)) for p in TESTDATA.rglob("*.proto"))],
        cwd=TESTDATA, check=True, timeout=120,
    )  # fmt: skip
    sys.path.insert(0, str(out))
    yield importlib.import_module("shop.v1.bookshop_pb2")
    sys.path.remove(str(out))


@pytest.fixture(scope="module")
def gen(generated: Path) -> ModuleType:
    """The generated `shop.v1` package."""
    return importlib.import_module("gen_testdata.shop.v1")


@pytest.fixture(scope="module")
def codecs(generated: Path) -> dict[type[Any], Any]:
    """The generated CODECS registry."""
    module = importlib.import_module("gen_testdata._codec")
    return dict(module.CODECS)


def _book(gen: ModuleType) -> Any:
    wkt = importlib.import_module("gen_testdata.google.protobuf")
    return gen.Book(
        name="shelves/1/books/2",
        title="Dune",
        authors=["Frank Herbert", "Ünïcode"],
        price=gen.Money(currency_code="EUR", units=12, nanos=-5),
        format=gen.Format.HARDCOVER,
        labels={"lang": "en", "": "empty key"},
        published_at=dt.datetime(1965, 8, 1, 12, 30, 5, 123456, tzinfo=UTC),
        reading_time=dt.timedelta(hours=-3, microseconds=7),
        pages=0,
        subtitle="",
        attributes=wkt.Struct(fields={"n": wkt.Value(number_value=1.5), "s": wkt.Value(string_value="x")}),
        warehouse=gen.BookWarehouse(code="W1", bin=gen.BookWarehouseBin(aisle=3, level=0)),
        history=[gen.Audit(actor="me", at=dt.datetime(2020, 1, 1, tzinfo=UTC))],
        prices_by_region={"us": gen.Money(currency_code="USD", units=13)},
        other_formats=[gen.Format.EBOOK, gen.Format(99)],
        cover=b"\x00\xff",
        rating=4.25,
        in_stock=True,
        isbn13=2**64 - 1,
        sold=0,
        extra=wkt.Value(
            list_value=wkt.ListValue(values=[wkt.Value(bool_value=True), wkt.Value(null_value=0)])
        ),
    )


class TestWireCompatibility:
    def test_generated_bytes_parse_in_protoc_classes(
        self, gen: ModuleType, codecs: Any, pb2: ModuleType
    ) -> None:
        """Every field kind survives encode → protoc parse, including unknown enum numbers."""
        book = _book(gen)
        theirs = pb2.Book.FromString(codecs[gen.Book].encode(book))
        assert theirs.title == "Dune"
        assert list(theirs.authors) == ["Frank Herbert", "Ünïcode"]
        assert (theirs.price.units, theirs.price.nanos) == (12, -5)
        assert theirs.format == importlib.import_module("shop.v1.common_pb2").FORMAT_HARDCOVER
        assert dict(theirs.labels) == {"lang": "en", "": "empty key"}
        assert theirs.published_at.ToDatetime(UTC) == dt.datetime(1965, 8, 1, 12, 30, 5, 123456, tzinfo=UTC)
        assert (theirs.reading_time.seconds, theirs.reading_time.nanos) == (-10799, -999993000)
        assert theirs.HasField("pages")
        assert theirs.pages == 0
        assert theirs.HasField("subtitle")
        assert theirs.subtitle.value == ""
        assert theirs.WhichOneof("location") == "warehouse"
        assert theirs.warehouse.bin.aisle == 3
        assert theirs.prices_by_region["us"].currency_code == "USD"
        assert list(theirs.other_formats) == [3, 99]
        assert theirs.isbn13 == 2**64 - 1
        assert theirs.HasField("sold")
        assert theirs.sold.value == 0
        assert theirs.attributes.fields["n"].number_value == 1.5
        assert theirs.extra.list_value.values[1].WhichOneof("kind") == "null_value"

    def test_protoc_bytes_decode_to_the_same_dataclass(
        self, gen: ModuleType, codecs: Any, pb2: ModuleType
    ) -> None:
        """protoc's bytes decode to a message equal to the original, and to betterproto2's own parse."""
        book = _book(gen)
        data = pb2.Book.FromString(codecs[gen.Book].encode(book)).SerializeToString()
        decoded = codecs[gen.Book].decode(data)
        assert decoded == book
        assert decoded == gen.Book.parse(data)
        assert decoded.other_formats[1].value == 99

    def test_unset_optional_and_oneof_stay_none(self, gen: ModuleType, codecs: Any, pb2: ModuleType) -> None:
        """Absent optional, wrapper, message and oneof fields decode as None both ways."""
        theirs = pb2.Book(title="x", shelf_slot="A3")
        decoded = codecs[gen.Book].decode(theirs.SerializeToString())
        assert decoded.pages is None
        assert decoded.subtitle is None
        assert decoded.price is None
        assert decoded.published_at is None
        assert decoded.warehouse is None
        assert decoded.shelf_slot == "A3"
        again = pb2.Book.FromString(codecs[gen.Book].encode(decoded))
        assert not again.HasField("pages")
        assert again.WhichOneof("location") == "shelf_slot"

    def test_any_and_nested_packages(self, generated: Path, pb2: ModuleType) -> None:
        """Any (packed by protobuf) and cross-package types round-trip through the generated codec."""
        inventory = importlib.import_module("gen_testdata.shop.inventory.v1")
        codecs = importlib.import_module("gen_testdata._codec").CODECS
        inv_pb2 = importlib.import_module("shop.inventory.v1.inventory_pb2")
        packed = any_pb2.Any()
        packed.Pack(importlib.import_module("shop.v1.common_pb2").Money(currency_code="EUR", units=1))
        theirs = inv_pb2.ReserveRequest(quantities={"sku-1": 2}, metadata=packed)
        theirs.audit.actor = "ops"
        transfer = theirs.transfers.add(to="b")
        setattr(transfer, "from", "a")  # `from` and `async` are Python keywords
        setattr(transfer, "async", True)
        decoded = codecs[inventory.ReserveRequest].decode(theirs.SerializeToString())
        assert decoded.metadata.type_url == "type.googleapis.com/shop.v1.Money"
        assert decoded.audit.actor == "ops"
        assert decoded.quantities == {"sku-1": 2}
        assert inv_pb2.ReserveRequest.FromString(codecs[inventory.ReserveRequest].encode(decoded)) == theirs

    def test_unknown_fields_survive_a_round_trip(self, gen: ModuleType, codecs: Any, pb2: ModuleType) -> None:
        """Fields an older schema does not know (here: a Book read as GetBookRequest) are kept and re-sent."""
        book = pb2.Book.FromString(codecs[gen.Book].encode(_book(gen)))
        older = codecs[gen.GetBookRequest].decode(book.SerializeToString())
        assert older.name == book.name
        assert older._unknown_fields
        assert pb2.Book.FromString(codecs[gen.GetBookRequest].encode(older)) == book

    def test_declared_enums_and_no_unknown_fields_decode_without_a_helper_call(
        self, gen: ModuleType, codecs: Any
    ) -> None:
        """The usual message (every enum number declared, no unknown field) pays no call into
        the codec's helpers for them: each is a lookup or a test in the converter itself; an
        undeclared number and unknown fields still go through the helpers, and decode as before."""
        from microlib.contract import codec

        helpers = {codec.enum_from_pb.__code__, codec.unknown_fields.__code__}
        called: list[str] = []

        def decode(message: Any) -> Any:
            data = codecs[type(message)].encode(message)
            called.clear()
            sys.setprofile(
                lambda frame, event, _: (
                    event == "call" and frame.f_code in helpers and called.append(frame.f_code.co_name)
                )
            )
            try:
                return codecs[type(message)].decode(data)
            finally:
                sys.setprofile(None)

        usual = replace(_book(gen), other_formats=[gen.Format.EBOOK, gen.Format.HARDCOVER])
        assert decode(usual) == usual
        assert called == []
        unusual = _book(gen)  # other_formats holds Format(99)
        assert decode(unusual) == unusual
        assert called == ["enum_from_pb"]
        older = codecs[gen.GetBookRequest].decode(codecs[gen.Book].encode(usual))
        assert decode(older)._unknown_fields == older._unknown_fields != b""
        assert called == ["unknown_fields"]

    def test_malformed_bytes_raise_invalid_argument(self, gen: ModuleType, codecs: Any) -> None:
        """Corrupt input is an InvalidArgument naming the message type, not a protobuf exception."""
        with pytest.raises(InvalidArgument, match=r"malformed shop\.v1\.Book message"):
            codecs[gen.Book].decode(b"\xff\xff\xff")


_WIDE_INTS = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}


def _scalar(field: Any, rng: random.Random) -> Any:
    """A random value for a non-message field (distinct values, so that swapped fields show)."""
    kind = field.type
    if kind in _WIDE_INTS:
        low, high = _WIDE_INTS[kind]
        return rng.choice([0, low, high, rng.randint(low, high)])
    if kind in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return rng.choice([0.0, -0.0, 1.5, float(rng.randint(-(10**6), 10**6)) / 8])
    if kind == FieldDescriptor.TYPE_BOOL:
        return rng.random() < 0.5
    if kind == FieldDescriptor.TYPE_STRING:
        return rng.choice(["", "Ünïcode", f"s{rng.randint(0, 10**9)}"])
    if kind == FieldDescriptor.TYPE_BYTES:
        return rng.randbytes(rng.randint(0, 5))
    assert kind == FieldDescriptor.TYPE_ENUM
    return rng.choice([*(v.number for v in field.enum_type.values), 99])


def _fill(message: Any, rng: random.Random, depth: int = 0) -> None:
    """Set a random subset of ``message``'s fields (a upb message) to random values."""
    name = message.DESCRIPTOR.full_name
    if name in ("google.protobuf.Timestamp", "google.protobuf.Duration"):
        # In datetime's range, whole microseconds (what the dataclass holds), one sign.
        sign = rng.choice([1, -1]) if name.endswith("Duration") else 1
        message.seconds = sign * rng.randint(0, 4 * 10**9)
        message.nanos = sign * rng.randint(0, 999_999) * 1000
        return
    for field in message.DESCRIPTOR.fields:
        if rng.random() < 0.25:
            continue
        target = getattr(message, field.name)
        if field.type != FieldDescriptor.TYPE_MESSAGE:
            if field.is_repeated:
                target.extend(_scalar(field, rng) for _ in range(rng.randint(0, 3)))
            else:
                setattr(message, field.name, _scalar(field, rng))
        elif depth < 3 and field.message_type.GetOptions().map_entry:
            key, value = field.message_type.fields
            for _ in range(rng.randint(0, 3)):
                k = _scalar(key, rng)
                if value.type == FieldDescriptor.TYPE_MESSAGE:
                    _fill(target[k], rng, depth + 1)
                else:
                    target[k] = _scalar(value, rng)
        elif depth < 3 and field.is_repeated:
            for _ in range(rng.randint(0, 2)):
                _fill(target.add(), rng, depth + 1)
        elif depth < 3:
            target.SetInParent()
            _fill(target, rng, depth + 1)


class TestFromUpb:
    def test_random_messages_decode_as_betterproto2_parses_them(self, codecs: Any) -> None:
        """from_upb (upb → dataclass, the fields by position) agrees with betterproto2's own
        parse of the same bytes, field for field, for every message of the contracts."""
        rng = random.Random(19)
        for cls, codec in codecs.items():
            for _ in range(40):
                message = codec.upb_type()
                _fill(message, rng)
                ours = codec.from_upb(message)
                theirs = cls.parse(message.SerializeToString())
                assert ours == theirs, (cls.__name__, message)
                assert vars(ours) == vars(theirs), cls.__name__


class TestJson:
    def test_json_matches_protobuf_json_format(self, gen: ModuleType, codecs: Any, pb2: ModuleType) -> None:
        """to_json equals protobuf's proto3 JSON of the same message; from_json inverts it."""
        book = _book(gen)
        ours = codecs[gen.Book].to_dict(book)
        theirs = json_format.MessageToDict(pb2.Book.FromString(codecs[gen.Book].encode(book)))
        assert ours == theirs
        assert codecs[gen.Book].from_json(codecs[gen.Book].to_json(book)) == book

    def test_bad_json_names_the_problem(self, gen: ModuleType, codecs: Any) -> None:
        """JSON that does not fit the message is an InvalidArgument with the parser's reason."""
        with pytest.raises(InvalidArgument, match="pages"):
            codecs[gen.Book].from_json('{"pages": "many"}')


class TestDefinition:
    def test_definition_describes_the_service(self, generated: Path, gen: ModuleType) -> None:
        """DEFINITION carries kinds, codecs, HTTP rules and a descriptor set with the imports."""
        from google.protobuf import descriptor_pb2

        from microlib.contract.definition import MethodKind

        definition = gen.BookshopService.__microlib_service__
        assert definition.full_name == "shop.v1.BookshopService"
        assert gen.BookshopServiceClient.__microlib_service__ is definition
        kinds = {name: m.kind for name, m in definition.methods.items()}
        assert kinds["ListBooks"] is MethodKind.UNARY_STREAM
        assert kinds["UploadContent"] is MethodKind.STREAM_UNARY
        assert kinds["Chat"] is MethodKind.STREAM_STREAM
        get_book = definition.methods["GetBook"]
        assert [r.path for r in get_book.http_rules] == ["/v1/{name=shelves/*/books/*}", "/v1/books/{name}"]
        assert get_book.validate_request is not None
        assert definition.methods["Chat"].validate_request is None
        fds = descriptor_pb2.FileDescriptorSet.FromString(definition.file_descriptor_set)
        names = [f.name for f in fds.file]
        assert names[-1] == "shop/v1/bookshop.proto"
        assert "shop/v1/common.proto" in names
        assert "google/api/http.proto" in names

    async def test_default_methods_raise_unimplemented(self, gen: ModuleType) -> None:
        """An interface method nobody implemented raises microlib's Unimplemented."""
        from microlib.core.errors import Unimplemented

        class Partial(gen.BookshopService):  # type: ignore[name-defined,misc]
            pass

        with pytest.raises(Unimplemented, match=r"shop\.v1\.BookshopService/GetBook"):
            await Partial().get_book(gen.GetBookRequest(name="x"), None)
