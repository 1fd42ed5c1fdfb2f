"""Both message layers (``messages = "betterproto2"`` and ``"upb"``) serve the same service the same way.

contracts/testdata is generated once per layer; one servicer, written
against what both layers share (keyword constructors, attributes), is served
over gRPC and over transcoded REST on each, with the contract's validation.
The conformance tests hold each layer's wire bytes and proto3 JSON to
protobuf's own (upb with ``json_format``) for a message with every field kind.
"""

from __future__ import annotations

import datetime
import importlib
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import grpc
import httpx
import pytest
from google.protobuf import json_format

from microlib.contract.protojson import JsonOptions
from microlib.core.chain import Chain
from microlib.core.context import CallContext
from microlib.core.errors import InvalidArgument, NotFound, Unimplemented
from microlib.grpc import GrpcServer, GrpcSettings, ValidationInterceptor
from microlib.http.app import HttpApp
from microlib.http.transcoding import TranscodingSettings, add_transcoded_routes
from tests.codegen.conftest import TESTDATA, codegen

LAYERS = ("betterproto2", "upb")

# A Book with every field kind: scalars of each wire type, enum, repeated
# enum, nested message, message of a nested type (oneof member), repeated
# messages, scalar and message maps, optional, bytes, and the well-known
# Timestamp, Duration, wrappers, Struct and Value. Map keys are in sorted
# order, the order protobuf's deterministic encoding writes them in.
EVERY_KIND = {
    "name": "shelves/s1/books/b1",
    "title": "Dune",
    "authors": ["Frank Herbert", "Brian Herbert"],
    "price": {"currencyCode": "EUR", "units": "12", "nanos": 500000000},
    "format": "FORMAT_HARDCOVER",
    "labels": {"genre": "sf", "lang": "en"},
    "publishedAt": "1965-08-01T10:20:30.123456Z",
    "readingTime": "-3600.500s",
    "pages": 0,
    "subtitle": "",
    "attributes": {"copies": 3.0, "notes": None, "signed": True, "tags": ["a", {"b": "c"}]},
    "warehouse": {"code": "W-1", "bin": {"aisle": -4, "level": 2}},
    "history": [{"actor": "ann", "at": "2020-01-01T00:00:00Z"}, {"actor": "bob"}],
    "pricesByRegion": {"eu": {"currencyCode": "EUR", "units": "-1"}, "us": {}},
    "otherFormats": ["FORMAT_EBOOK", "FORMAT_PAPERBACK"],
    "cover": "AAH/gA==",
    "rating": 4.25,
    "inStock": True,
    "isbn13": "18446744073709551615",
    "sold": "-9007199254740993",
    "extra": [1.5, "x", False],
}


@pytest.fixture(scope="module")
def generated_layers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """contracts/testdata generated with each layer into ``gen_layer_<layer>``."""
    root = tmp_path_factory.mktemp("layers")
    for layer in LAYERS:
        result = codegen(TESTDATA, "--messages", layer, "--out", root / f"gen_layer_{layer}")
        assert result.returncode == 0, result.stderr
    sys.path.insert(0, str(root))
    yield root
    sys.path.remove(str(root))


@pytest.fixture(params=LAYERS)
def layer(request: pytest.FixtureRequest) -> str:
    """One message layer."""
    return str(request.param)


@pytest.fixture
def shop(generated_layers: Path, layer: str) -> ModuleType:
    """The ``shop.v1`` package of ``layer``."""
    return importlib.import_module(f"gen_layer_{layer}.shop.v1")


def _codecs(shop: ModuleType) -> Any:
    return sys.modules[shop.__name__.split(".")[0] + "._codec"]


def _hardcover(shop: ModuleType) -> Any:
    # betterproto2 strips the enum's prefix from member names; upb keeps the proto names.
    return getattr(shop.Format, "HARDCOVER", None) or shop.Format.FORMAT_HARDCOVER


def _servicer(shop: ModuleType) -> Any:
    class Shop(shop.BookshopService):  # type: ignore[name-defined,misc]
        async def get_book(self, request: Any, ctx: CallContext) -> Any:
            if request.name.endswith("/missing"):
                raise NotFound(f"{request.name} does not exist", reason="BOOK_MISSING", domain="shop.test")
            return shop.Book(
                name=request.name,
                title="Dune",
                authors=["Frank Herbert"],
                format=_hardcover(shop),
                labels={"genre": "sf"},
                price=shop.Money(currency_code="EUR", units=12, nanos=500_000_000),
                published_at=datetime.datetime(1965, 8, 1, tzinfo=datetime.UTC),
                pages=412,
            )

        async def list_books(self, request: Any, ctx: CallContext) -> AsyncIterator[Any]:
            for index in range(3):
                yield shop.Book(name=f"{request.parent}/books/{index}", title=f"T{index}")

        async def create_book(self, request: Any, ctx: CallContext) -> Any:
            return shop.Book(name=f"{request.parent}/books/new", title=request.book.title)

        async def update_book(self, request: Any, ctx: CallContext) -> Any:
            raise Unimplemented("not in this test")

        async def delete_book(self, request: Any, ctx: CallContext) -> Any:
            raise Unimplemented("not in this test")

        async def upload_content(self, requests: AsyncIterator[Any], ctx: CallContext) -> Any:
            total = 0
            async for chunk in requests:
                total += len(chunk.data)
            return shop.UploadSummary(total_bytes=total)

        async def chat(self, requests: AsyncIterator[Any], ctx: CallContext) -> AsyncIterator[Any]:
            async for message in requests:
                yield shop.ChatResponse(text=message.text.upper())

        async def move_book(self, request: Any, ctx: CallContext) -> Any:
            raise Unimplemented("not in this test")

    return Shop()


DUNE = {
    "name": "shelves/s1/books/b1",
    "title": "Dune",
    "authors": ["Frank Herbert"],
    "price": {"currencyCode": "EUR", "units": "12", "nanos": 500000000},
    "format": "FORMAT_HARDCOVER",
    "labels": {"genre": "sf"},
    "publishedAt": "1965-08-01T00:00:00Z",
    "pages": 412,
}


async def test_grpc_behaves_the_same_on_both_layers(shop: ModuleType, layer: str) -> None:
    """Unary, server-, client- and bidi-streaming calls, validation and error details over gRPC."""
    server = GrpcServer(GrpcSettings(host="127.0.0.1", port=0), interceptors=[ValidationInterceptor()])
    server.add(_servicer(shop))
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            client = shop.BookshopServiceClient(channel)
            book = await client.get_book(shop.GetBookRequest(name="shelves/s1/books/b1"))
            assert type(book) is shop.Book
            assert _codecs(shop).CODECS[shop.Book].to_dict(book) == DUNE
            names = [b.name async for b in client.list_books(shop.ListBooksRequest(parent="shelves/s1"))]
            assert names == [f"shelves/s1/books/{i}" for i in range(3)]

            async def chunks() -> AsyncIterator[Any]:
                for data in (b"ab", b"cde"):
                    yield shop.UploadContentRequest(data=data)

            assert (await client.upload_content(chunks())).total_bytes == 5

            async def lines() -> AsyncIterator[Any]:
                for text in ("hi", "there"):
                    yield shop.ChatRequest(text=text)

            assert [r.text async for r in client.chat(lines())] == ["HI", "THERE"]
            with pytest.raises(InvalidArgument) as invalid:
                await client.create_book(shop.CreateBookRequest(parent="shelves/s1", book=shop.Book()))
            assert [(v.field, v.rule) for v in invalid.value.violations] == [("book.title", "required")]
            with pytest.raises(NotFound) as missing:
                await client.get_book(shop.GetBookRequest(name="shelves/s1/books/missing"))
            assert (missing.value.reason, missing.value.domain) == ("BOOK_MISSING", "shop.test")
    finally:
        await server.stop()


async def test_transcoded_rest_behaves_the_same_on_both_layers(shop: ModuleType) -> None:
    """JSON in and out, validation as problem+json, error details and NDJSON streams over REST."""
    chain = Chain([ValidationInterceptor()])
    http = HttpApp(chain)
    add_transcoded_routes(
        http, shop.BookshopService.__microlib_service__, _servicer(shop), chain, TranscodingSettings()
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=http.app), base_url="http://test"
    ) as client:
        got = await client.get("/v1/shelves/s1/books/b1")
        assert (got.status_code, got.json()) == (200, DUNE)
        created = await client.post("/v1/shelves/s1/books", json={"title": "Emma"})
        assert created.json() == {"name": "shelves/s1/books/new", "title": "Emma"}
        invalid = await client.post("/v1/shelves/s1/books", json={"authors": ["x"]})
        assert invalid.status_code == 400
        assert [(v["field"], v["rule"]) for v in invalid.json()["violations"]] == [("book.title", "required")]
        wrong = await client.post("/v1/shelves/s1/books", json={"title": 5})
        assert wrong.status_code == 400
        missing = await client.get("/v1/shelves/s1/books/missing")
        assert (missing.status_code, missing.json()["reason"]) == (404, "BOOK_MISSING")
        streamed = await client.get("/v1/shelves/s1/books")
        assert [line for line in streamed.text.splitlines() if line] == [
            f'{{"name":"shelves/s1/books/{i}","title":"T{i}"}}' for i in range(3)
        ]


def test_generated_openapi_and_descriptors_do_not_depend_on_the_layer(generated_layers: Path) -> None:
    """The served OpenAPI document and the descriptor sets (reflection) are the same for both layers."""
    docs = {layer: (generated_layers / f"gen_layer_{layer}" / "openapi.json").read_text() for layer in LAYERS}
    assert docs["betterproto2"] == docs["upb"]
    sets = {
        layer: importlib.import_module(
            f"gen_layer_{layer}.shop.v1"
        ).BookshopService.__microlib_service__.file_descriptor_set
        for layer in LAYERS
    }
    assert sets["betterproto2"] == sets["upb"]


def _reference_class(shop: ModuleType) -> Any:
    # protobuf's own class for shop.v1.Book, from the package's descriptors.
    return sys.modules[shop.__name__.split(".")[0] + "._descriptors"].message_class("shop.v1.Book")


def _protobuf_reference(
    shop: ModuleType, document: dict[str, Any] = EVERY_KIND
) -> tuple[bytes, dict[str, Any]]:
    """``document`` through protobuf's own classes: its (deterministic) wire bytes and its JSON."""
    reference = json_format.ParseDict(document, _reference_class(shop)())
    return reference.SerializeToString(deterministic=True), json_format.MessageToDict(reference)


def _canonical(shop: ModuleType, data: bytes) -> bytes:
    """``data`` in protobuf's deterministic encoding (map entries by key)."""
    return bytes(_reference_class(shop).FromString(data).SerializeToString(deterministic=True))


def test_every_field_kind_has_protobufs_wire_bytes_on_both_layers(shop: ModuleType) -> None:
    """Decoded and encoded again, a message with every field kind keeps protobuf's bytes."""
    codec = _codecs(shop).CODECS[shop.Book]
    # protobuf fixes the order of map entries only when asked for a
    # deterministic encoding: with maps the bytes match once put in that order...
    wire, _ = _protobuf_reference(shop)
    message = codec.decode(wire)
    assert type(message) is shop.Book
    assert _canonical(shop, codec.encode(message)) == wire
    # ...and without them, exactly.
    maps = ("labels", "pricesByRegion", "attributes")
    wire, _ = _protobuf_reference(shop, {k: v for k, v in EVERY_KIND.items() if k not in maps})
    assert codec.encode(codec.decode(wire)) == wire


def test_every_field_kind_has_protobufs_json_on_both_layers(shop: ModuleType) -> None:
    """The transcoder's JSON of the message equals json_format's, both ways, whichever layer."""
    from microlib.contract.message_json import message_json

    wire, document = _protobuf_reference(shop)
    assert document == EVERY_KIND
    codec = _codecs(shop).CODECS[shop.Book]
    mapping = message_json(codec.decode, shop.Book, JsonOptions())
    assert mapping.dump(codec.decode(wire)) == document
    assert _canonical(shop, codec.encode(mapping.load(document))) == wire
    assert codec.to_dict(codec.from_dict(document)) == document


def test_a_bad_messages_setting_is_one_line_naming_key_and_file(tmp_path: Path) -> None:
    """`messages` takes only the layers there are; anything else names the key and the file."""
    (tmp_path / "contracts").mkdir()
    (tmp_path / "pyproject.toml").write_text(
        '[tool.microlib.codegen]\ncontracts = ["contracts"]\nout = "gen"\nmessages = "fast"\n'
    )
    result = codegen(cwd=tmp_path)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert (
        'pyproject.toml [tool.microlib.codegen] messages: expected "betterproto2" or "upb", got \'fast\''
        in lines[0]
    )
