"""The generated proto3 JSON converters agree with protobuf's json_format, both ways."""

from __future__ import annotations

import datetime
import enum
import math
from typing import Any

import httpx
import pytest
from google.protobuf import json_format

from microlib.contract import protojson
from microlib.contract.protojson import JsonOptions
from microlib.core.errors import InvalidArgument
from tests.http.rpc import servicer as _servicer  # noqa: F401  (generates gen_transcode)
from tests.http.rpc.harness import library_app, serve

from gen_transcode import _codec  # isort: skip
from gen_transcode.google.protobuf import Any as AnyMessage, Empty, FieldMask, ListValue, Struct, Value  # isort: skip
from gen_transcode.transcode.v1 import Book, Everything, Format, Shelf  # isort: skip

CODEC = _codec.CODECS[Everything]
TO_JSON, FROM_JSON = _codec.JSON[Everything]
POOL: Any = CODEC.upb_type.DESCRIPTOR.file.pool

UTC = datetime.UTC


def full() -> Everything:
    """An Everything with every field set to a non-default value."""
    book_any = _codec.CODECS[Book].to_upb(Book(id="b1", title="Dune", price_cents=5))
    any_pb = _codec.CODECS[AnyMessage].upb_type()
    any_pb.Pack(book_any)
    return Everything(
        i32=-7, i64=-(2**62), u32=2**32 - 1, u64=2**64 - 1, s32=-3, s64=-(2**40), f32=9, f64=2**63,
        sf32=-9, sf64=-(2**63), flt=0.1, dbl=1e-300, flag=True, text="héllo \"q\"", blob=b"\x00\xff\xfe",
        format=Format.EBOOK, shelf=Shelf(name="shelves/1", theme="t"), many_i64=[1, -2, 2**60],
        formats=[Format.HARDCOVER, Format.UNSPECIFIED], shelves=[Shelf(name="a"), Shelf()],
        counts={"a": 1, "b": -(2**50)}, by_number={-1: Shelf(name="neg"), 7: Shelf()},
        by_flag={True: "y", False: "n"},
        when=datetime.datetime(2021, 5, 6, 7, 8, 9, 123000, tzinfo=UTC),
        took=datetime.timedelta(seconds=-90, microseconds=-1500),
        mask=FieldMask(paths=["price_cents", "book.title"]),
        meta=Struct(fields={"k": Value(string_value="v"), "n": Value(number_value=1.5)}),
        value=Value(list_value=ListValue(values=[Value(bool_value=True), Value(null_value=0)])),
        items=ListValue(values=[Value(string_value="x")]),
        maybe_text="", maybe_i64=0, maybe_blob=b"hi", maybe_dbl=-0.5,
        any=_codec.CODECS[AnyMessage].from_upb(any_pb), opt_i32=0, choice_shelf=Shelf(name="c"),
        values={"z": Value(null_value=0)}, times=[datetime.datetime(1970, 1, 1, tzinfo=UTC)],
        maybe_u64=2**64 - 1, maybe_flag=False, maybe_flt=2.5,
    )  # fmt: skip


def oracle_dump(message: Everything, **options: bool) -> Any:
    """json_format's document for ``message``."""
    return json_format.MessageToDict(CODEC.to_upb(message), descriptor_pool=POOL, **options)


MESSAGES = [
    full(),
    Everything(),
    Everything(choice_text="", opt_i32=5, dbl=math.inf, flt=-math.inf),
    Everything(
        dbl=math.nan, took=datetime.timedelta(microseconds=1), when=datetime.datetime(1, 1, 1, tzinfo=UTC)
    ),
    Everything(took=datetime.timedelta(seconds=3, microseconds=20), nothing=Empty()),
    Everything(any=AnyMessage()),  # the empty Any is {}
]


@pytest.mark.parametrize("index", range(len(MESSAGES)))
@pytest.mark.parametrize(
    "options",
    [{}, {"emit_defaults": True}, {"original_names": True}, {"emit_defaults": True, "original_names": True}],
)
def test_output_equals_json_format(index: int, options: dict[str, bool]) -> None:
    """to_json writes exactly json_format's document, under every output option."""
    message = MESSAGES[index]
    expected = oracle_dump(
        message,
        always_print_fields_with_no_presence=options.get("emit_defaults", False),
        preserving_proto_field_name=options.get("original_names", False),
    )
    assert TO_JSON(message, JsonOptions(**options)) == expected


class Rank(enum.IntEnum):
    FIRST = 1


class Label(enum.StrEnum):
    A = "a"


# Values a handler may hand back that are not the field's own type but that protobuf takes.
TAKEN = [
    Everything(i32=Rank.FIRST, i64=Rank.FIRST, u64=Rank.FIRST, many_i64=[Rank.FIRST]),  # type: ignore[list-item]
    Everything(flag=1, text=Label.A),  # type: ignore[arg-type]
    Everything(text=b"caf\xc3\xa9"),  # type: ignore[arg-type]
    Everything(format=1, formats=[99]),  # type: ignore[arg-type, list-item]
    Everything(counts={"a": Rank.FIRST}, by_flag={True: Label.A}),  # type: ignore[dict-item]
]


@pytest.mark.parametrize("index", range(len(TAKEN)))
def test_values_protobuf_takes_are_written_as_json_format_writes_them(index: int) -> None:
    """An IntEnum member in an integer field, an integer in a bool field, a str subclass or UTF-8
    bytes in a string field: written as json_format writes them after protobuf took them."""
    assert TO_JSON(TAKEN[index], JsonOptions()) == oracle_dump(TAKEN[index])


# Values protobuf refuses: over gRPC they fail to encode; JSON must not write them either.
REFUSED = [
    Everything(i32="7"),  # type: ignore[arg-type]
    Everything(i32=1.5),  # type: ignore[arg-type]
    Everything(i32=True),
    Everything(i64="12"),  # type: ignore[arg-type]
    Everything(text=3),  # type: ignore[arg-type]
    Everything(flag="yes"),  # type: ignore[arg-type]
    Everything(format="NO_SUCH_FORMAT"),  # type: ignore[arg-type]
    Everything(many_i64=[1, "2"]),  # type: ignore[list-item]
    Everything(counts={"a": "1"}),  # type: ignore[dict-item]
    Everything(by_flag={True: 3}),  # type: ignore[dict-item]
]


@pytest.mark.parametrize("index", range(len(REFUSED)))
def test_values_protobuf_refuses_are_not_written(index: int) -> None:
    """to_json raises TypeError where protobuf does: the transcoder answers 500 and names the
    field (tests/grpc/test_unencodable.py) instead of a 200 whose document breaks its schema."""
    with pytest.raises((TypeError, ValueError)):
        CODEC.to_upb(REFUSED[index])
    with pytest.raises(TypeError):
        TO_JSON(REFUSED[index], JsonOptions())


@pytest.mark.parametrize("index", range(len(MESSAGES)))
def test_input_equals_json_format(index: int) -> None:
    """from_json of json_format's document builds the message json_format parses from it."""
    document = oracle_dump(MESSAGES[index])
    pb = CODEC.upb_type()
    json_format.ParseDict(document, pb, descriptor_pool=POOL)
    expected = CODEC.from_upb(pb)
    got = FROM_JSON(document, "", JsonOptions())
    assert CODEC.to_upb(got) == CODEC.to_upb(expected)
    # Original names are accepted as well.
    snake = oracle_dump(MESSAGES[index], preserving_proto_field_name=True)
    assert CODEC.to_upb(FROM_JSON(snake, "", JsonOptions())) == CODEC.to_upb(expected)


@pytest.mark.parametrize(
    "document",
    [
        {"i32": "12", "i64": 5, "u64": "18446744073709551615", "flt": "1.5", "dbl": "NaN", "format": 2},
        {
            "i32": 3.0,
            "sf64": "-9223372036854775808",
            "blob": "_-8=",
            "when": "2020-02-29T23:59:59.999999999+01:30",
        },
        {
            "took": "-0.000001s",
            "flag": False,
            "maybeText": None,
            "counts": {"x": "3"},
            "byNumber": {"-5": {}},
        },
        {"byFlag": {"true": "t"}, "formats": ["FORMAT_EBOOK", 1], "value": None, "mask": "a.bC,d"},
        {"any": {}},
        {"mask": "*,a.*"},
    ],
)
def test_lenient_input_like_json_format(document: dict[str, Any]) -> None:
    """Numbers as strings, enum numbers, URL-safe base64, offsets, nulls: parsed as json_format does."""
    pb = CODEC.upb_type()
    json_format.ParseDict(document, pb, descriptor_pool=POOL)
    # Through the dataclass, as users see it (timestamps hold microseconds).
    assert CODEC.to_upb(FROM_JSON(document, "", JsonOptions())) == CODEC.to_upb(CODEC.from_upb(pb))


@pytest.mark.parametrize(
    ("document", "path"),
    [
        ({"i32": 2**31}, "i32"),
        ({"i32": 1.5}, "i32"),
        ({"u32": -1}, "u32"),
        ({"i64": "x"}, "i64"),
        ({"flag": "true"}, "flag"),
        ({"text": 1}, "text"),
        ({"blob": "a"}, "blob"),
        ({"format": "NOPE"}, "format"),
        ({"shelf": {"name": 1}}, "shelf.name"),
        ({"shelves": [{}, {"theme": []}]}, "shelves[1].theme"),
        ({"manyI64": "1"}, "manyI64"),
        ({"i64": " 1"}, "i64"),  # a space in an integer's string (int() would take it)
        ({"i32": "7 "}, "i32"),
        ({"counts": {"a": "b"}}, "counts['a']"),
        ({"byNumber": {"x": {}}}, "byNumber['x']"),
        ({"when": "2020-13-01T00:00:00Z"}, "when"),
        ({"took": "5m"}, "took"),
        ({"flt": 1e39}, "flt"),
        ({"unknown": 1}, "unknown"),
        ({"shelf": {"bogus": 1}}, "shelf.bogus"),
        ({"meta": 5}, "meta"),
        ({"any": {"x": 1}}, "any"),
        ({"when": "0001-01-01T00:00:00+00:01"}, "when"),
        ({"when": "9999-12-31T23:59:59-00:01"}, "when"),
    ],
)
def test_bad_input_names_the_path(document: dict[str, Any], path: str) -> None:
    """Every value json_format rejects is rejected too, naming its JSON path."""
    with pytest.raises(json_format.ParseError):
        json_format.ParseDict(document, CODEC.upb_type(), descriptor_pool=POOL)
    with pytest.raises(InvalidArgument) as caught:
        FROM_JSON(document, "", JsonOptions())
    assert caught.value.violations[0].field == path


_INTEGER_RANGES = {
    protojson.int32: (-(2**31), 2**31 - 1),
    protojson.uint32: (0, 2**32 - 1),
    protojson.int64: (-(2**63), 2**63 - 1),
    protojson.uint64: (0, 2**64 - 1),
}


@pytest.mark.parametrize("parse", list(_INTEGER_RANGES), ids=lambda parse: parse.__name__)
def test_integer_parsers_equal_the_general_rule(parse: protojson.Parse) -> None:
    """Each integer parser's shortcut for in-range ints gives what ``_integer`` gives, errors alike."""
    low, high = _INTEGER_RANGES[parse]
    edges = [low, high, low - 1, high + 1, 0, 1, -1, 2**100, -(2**100)]
    values: list[Any] = [v + d for v in edges for d in (-1, 0, 1)]
    values += [True, False, None, 3.0, -2.5, "12", " 7 ", "1_000", "1e3", "x", [], {}, float(high)]

    def outcome(call: Any, value: Any) -> tuple[str, Any]:
        try:
            result = call(value)
        except InvalidArgument as exc:
            return "error", (exc.message, exc.violations)
        return type(result).__name__, result

    for value in values:
        fast = outcome(lambda v: parse(v, "n", JsonOptions()), value)
        assert fast == outcome(lambda v: protojson._integer(v, "n", low, high), value), value


def test_values_taken_as_they_are_are_what_their_parser_returns() -> None:
    """A converter takes a value of its field's exact type (a string for a string field) without
    calling the field's parser: only where the parser returns every such value as it is."""
    samples: dict[type, list[Any]] = {
        str: ["", "x", "é\ud800", "1"],
        bool: [True, False],
        int: [0, -1, 2**31, 2**64, -(2**70)],
        float: [0.5, 1e300, math.nan],
    }
    taken: set[type] = set()
    for name, table in vars(_codec).items():
        if not name.startswith("_FJ_"):
            continue
        for key, (_, _, parse, _, as_is) in table.items():
            if as_is is not None:
                taken.add(as_is)
                for value in samples[as_is]:
                    assert parse(value, key, JsonOptions()) is value, (name, key, value)
    assert taken == {str, bool}


def test_unknown_fields_can_be_ignored() -> None:
    """With ignore_unknown, unknown keys are skipped at every depth."""
    message = FROM_JSON(
        {"i32": 1, "zzz": 2, "shelf": {"x": 1, "name": "n"}}, "", JsonOptions(ignore_unknown=True)
    )
    assert message.i32 == 1
    assert message.shelf == Shelf(name="n")


@pytest.mark.parametrize(
    "document",
    [
        {"choiceText": "t", "choiceShelf": {"name": "s"}},
        {"choice_shelf": {}, "choiceText": "t"},
    ],
)
def test_two_members_of_one_oneof_are_refused_as_json_format_does(document: dict[str, Any]) -> None:
    """grpc-gateway's a_bit_of_everything sends `oneofString` and `oneofEmpty` together: protobuf's
    json_format and grpc-gateway refuse it, and so does the transcoder now (it kept the last member,
    silently dropping the other), with a 400 naming the oneof and both members; the served document
    says at most one."""
    with pytest.raises(json_format.ParseError, match="oneof"):
        json_format.ParseDict(document, CODEC.upb_type())
    with pytest.raises(InvalidArgument) as refused:
        FROM_JSON(document, "items[2]", JsonOptions())
    assert [(v.field, v.description) for v in refused.value.violations] == [
        ("items[2].choice", "oneof choice takes one member, got choiceText and choiceShelf")
    ]
    http, _ = library_app()
    with serve(http.app) as url, httpx.Client(base_url=url) as client:
        r = client.post("/v1/echo", json=document)
        unset = client.post("/v1/echo", json={"choiceText": "t", "choiceShelf": None})
    assert r.status_code == 400, r.text
    assert [(v["field"], v["description"]) for v in r.json()["violations"]] == [
        ("everything.choice", "oneof choice takes one member, got choiceText and choiceShelf")
    ]
    # A null member is unset, as json_format reads it.
    assert (
        json_format.ParseDict({"choiceText": "t", "choiceShelf": None}, CODEC.upb_type()).choice_text == "t"
    )
    assert (unset.status_code, unset.json()) == (200, {"choiceText": "t"})


def test_echo_over_http_round_trips_everything() -> None:
    """The full message sent as JSON through a transcoded route comes back as the same document."""
    http, _ = library_app()
    document = oracle_dump(full())
    with serve(http.app) as url, httpx.Client(base_url=url) as client:
        r = client.post("/v1/echo", json=document)
    assert r.status_code == 200, r.text
    assert r.json() == document


@pytest.mark.parametrize("mask", ["a b", "A", "a,", "a..b", "é", "a,,b"])
def test_field_masks_are_field_paths(mask: str) -> None:
    """A FieldMask is lowerCamelCase paths (or "*"), as the OpenAPI document says; json_format
    takes any text without "_", so these are stricter than the oracle."""
    with pytest.raises(InvalidArgument) as caught:
        FROM_JSON({"mask": mask}, "", JsonOptions())
    assert caught.value.violations[0].field == "mask"
    assert caught.value.violations[0].rule == "pattern"


def test_the_largest_float_reads_back() -> None:
    """3.4028235e+38, the largest float as written, reads back as it (json_format refuses it)."""
    largest = Everything(flt=3.4028234663852886e38)
    written = TO_JSON(largest, JsonOptions())
    assert written == oracle_dump(largest) == {"flt": 3.4028235e38}
    assert FROM_JSON(written, "", JsonOptions()).flt == 3.4028235e38
    with pytest.raises(InvalidArgument):
        FROM_JSON({"flt": 3.4028235677973366e38}, "", JsonOptions())  # rounds to infinity


@pytest.mark.parametrize(
    "document",
    [{"any": {"@type": []}}, {"any": {"@type": 5}}, {"any": []}],
)
def test_malformed_any_is_a_violation(document: dict[str, Any]) -> None:
    """Shapes json_format fails on, some with AttributeError or TypeError, are 400s naming the field."""
    with pytest.raises(Exception):  # noqa: B017 (json_format's own exception varies)
        json_format.ParseDict(document, CODEC.upb_type(), descriptor_pool=POOL)
    with pytest.raises(InvalidArgument) as caught:
        FROM_JSON(document, "", JsonOptions())
    assert caught.value.violations[0].field == "any"
