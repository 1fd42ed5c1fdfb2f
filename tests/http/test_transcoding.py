"""REST transcoding over real HTTP: every google.api.http rule feature of the test contract."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from microlib.http.transcoding import TranscodingSettings
from tests.http.conftest import Recorder
from tests.http.rpc.harness import Served, library_app, serve


@pytest.fixture(scope="module")
def recorder() -> Recorder:
    """The interceptor every call of the module's server runs through."""
    return Recorder()


@pytest.fixture(scope="module")
def served(recorder: Recorder) -> Iterator[Served]:
    """The Library contract on uvicorn at 127.0.0.1, default settings."""
    http, library = library_app(recorder)
    with serve(http.app) as url:
        yield Served(url, library, http)


@pytest.fixture
def client(served: Served) -> Iterator[httpx.Client]:
    """An HTTP client for the served API."""
    with httpx.Client(base_url=served.url, timeout=10) as c:
        yield c


def test_wildcard_path_variable(client: httpx.Client, served: Served) -> None:
    """`{name=shelves/*}` binds the whole matched segments to `name`."""
    r = client.get("/v1/shelves/s1")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"name": "shelves/s1", "theme": "fiction"}
    # Response metadata and trailers are both headers over HTTP/1.1, on errors too; text beyond
    # Latin-1 goes out as UTF-8 octets.
    after = r.headers.raw[[name for name, _ in r.headers.raw].index(b"x-shelf-after")][1]
    assert (r.headers["x-shelf"], after.decode()) == ("seen", "€uro")
    missing = client.get("/v1/shelves/missing")
    assert (missing.status_code, missing.headers["x-shelf"]) == (404, "seen")


def test_two_level_name_and_additional_binding(client: httpx.Client) -> None:
    """The primary rule and its additional binding reach the same RPC."""
    for prefix in ("/v1", "/v2"):
        r = client.get(f"{prefix}/shelves/a/books/b%20c")
        assert r.status_code == 200, r.text
        assert r.json() == {"id": "b c", "shelf": "a", "title": "Dune"}


def test_field_mask_from_query(client: httpx.Client) -> None:
    """A FieldMask query parameter takes its JSON form (comma-separated camelCase)."""
    r = client.get("/v1/shelves/a/books/b", params={"readMask": "title,priceCents"})
    assert r.json()["tags"] == ["title", "price_cents"]


def test_body_star_with_path_field(client: httpx.Client) -> None:
    """`body: "*"` fills the request from the body; the path binds `shelf` and wins over the body."""
    r = client.post(
        "/v1/shelves/s9/books",
        json={"title": "Emma", "priceCents": "1250", "format": "FORMAT_EBOOK", "shelf": "x"},
    )
    assert r.status_code == 200, r.text
    assert r.json() == {
        "id": "1",
        "shelf": "s9",
        "title": "Emma",
        "priceCents": "1250",
        "format": "FORMAT_EBOOK",
    }


def test_body_star_accepts_original_names_and_enum_numbers(client: httpx.Client) -> None:
    """Proto field names and enum numbers are accepted on input."""
    r = client.post("/v1/shelves/s9/books", json={"title": "Emma", "price_cents": 5, "format": 1})
    assert r.json()["priceCents"] == "5"
    assert r.json()["format"] == "FORMAT_HARDCOVER"


def test_single_body_field_with_nested_path_fields(client: httpx.Client) -> None:
    """`body: "book"` is the book; `{book.shelf}` and `{book.id}` are set inside it."""
    r = client.patch("/v1/shelves/s1/books/b7", json={"title": "Persuasion", "tags": ["a", "b"]})
    assert r.status_code == 200, r.text
    assert r.json() == {"id": "b7", "shelf": "s1", "title": "Persuasion", "tags": ["a", "b"]}


def test_query_parameters_of_every_kind(client: httpx.Client, served: Served) -> None:
    """Nested (dotted), repeated, enums by name and number, WKTs, wrappers, bools, int64 and doubles."""
    params = [
        ("filter.author", "Austen"),
        ("filter.signed", "true"),
        ("tags", "x"),
        ("tags", "y"),
        ("format", "FORMAT_EBOOK"),
        ("formats", "1"),
        ("formats", "FORMAT_EBOOK"),
        ("publishedAfter", "2020-01-02T03:04:05Z"),
        ("min_price", "100"),
        ("inStock", "true"),
        ("limit", "9007199254740993"),
        ("maxAge", "1.5s"),
        ("minRating", "4.5"),
    ]
    r = client.get("/v1/books:search", params=params)
    assert r.status_code == 200, r.text
    # response_body: "books" sends only that field.
    assert r.json() == [{"id": "x", "title": "x"}, {"id": "y", "title": "y"}]
    request = served.library.requests[-1]
    assert request.filter.author == "Austen"
    assert request.filter.signed is True
    assert request.tags == ["x", "y"]
    assert request.format == 2
    assert request.formats == [1, 2]
    assert request.published_after.isoformat() == "2020-01-02T03:04:05+00:00"
    assert request.min_price == 100
    assert request.in_stock is True
    assert request.limit == 9007199254740993
    assert request.max_age.total_seconds() == 1.5
    assert request.min_rating == 4.5


def test_map_fields_from_the_query_one_entry_per_parameter(client: httpx.Client, served: Served) -> None:
    """`labels[genre]=novel` sets one entry, as grpc-gateway reads a map (a map in the query used
    to be refused); keys are checked against the key type, values read as their type."""
    params = [
        ("labels[genre]", "novel"),
        ("labels[lang]", "en"),
        ("formatByYear[2020]", "FORMAT_EBOOK"),
        ("format_by_year[-3]", "1"),
        ("maxPriceByRegion[eu]", "100"),
        ("labels[a]b]", "brackets"),
    ]
    r = client.get("/v1/books:search", params=params)
    assert r.status_code == 200, r.text
    request = served.library.requests[-1]
    assert request.labels == {"genre": "novel", "lang": "en", "a]b": "brackets"}
    assert request.format_by_year == {2020: 2, -3: 1}
    assert request.max_price_by_region == {"eu": 100}


@pytest.mark.parametrize(
    ("query", "field", "description"),
    [
        ("labels[a]=1&labels[a]=2", "labels['a']", "takes one value, got 2"),
        ("labels=x", "labels", "a map field: each entry is its own parameter, labels[key]=value"),
        ("filter[author]=x", "filter['author']", "filter is not a map field, so it takes no [key]"),
        (
            "filtersByName[x]=1",
            "filtersByName['x']",
            "a transcode.v1.Filter cannot be set from the URL (only in a JSON body)",
        ),
        ("formatByYear[x]=1", "formatByYear['x']", "expected an integer, got 'x'"),
        ("maxPriceByRegion[eu]=lots", "maxPriceByRegion['eu']", "expected an integer, got 'lots'"),
    ],
)
def test_map_entries_the_query_cannot_set_are_400_naming_the_parameter(
    client: httpx.Client, query: str, field: str, description: str
) -> None:
    """A key given twice, a map without a key, `[key]` on no map, a value with no text form."""
    r = client.get(f"/v1/books:search?{query}")
    assert r.status_code == 400, r.text
    assert [(v["field"], v["description"]) for v in r.json()["violations"]] == [(field, description)]


@pytest.mark.parametrize(
    ("query", "field", "text"),
    [
        ("minPrice=65536.0", "minPrice", "65536.0"),
        ("limit=1e3", "limit", "1e3"),
        ("limit=%201", "limit", " 1"),
        ("limit=%D9%A1", "limit", "\u0661"),  # ARABIC-INDIC DIGIT ONE, which int() reads
        ("maxPriceByRegion[eu]=65536.0", "maxPriceByRegion['eu']", "65536.0"),
        ("formatByYear[2020.0]=1", "formatByYear['2020.0']", "2020.0"),
    ],
)
def test_an_integer_in_the_url_is_digits(client: httpx.Client, query: str, field: str, text: str) -> None:
    """As grpc-gateway reads one (strconv.ParseInt) and the served document's pattern says:
    `5.0`, `1e3` or ` 1` is a 400 in a URL (schemathesis sent `maxPriceByRegion[k]=65536.0`)."""
    r = client.get(f"/v1/books:search?{query}")
    assert r.status_code == 400, r.text
    assert [(v["field"], v["description"]) for v in r.json()["violations"]] == [
        (field, f"expected an integer, got {text!r}")
    ]


@pytest.mark.parametrize(
    ("query", "field", "text"),
    [
        ("formats=%C2%B9", "formats[0]", "\u00b9"),  # SUPERSCRIPT ONE: str.isdigit(), which int() refuses
        ("format=%D9%A1", "format", "\u0661"),  # ARABIC-INDIC DIGIT ONE, which int() reads
    ],
)
def test_an_enum_number_in_the_url_is_ascii_digits(
    client: httpx.Client, query: str, field: str, text: str
) -> None:
    """Anything else is taken as a name, and refused as none of the enum's (schemathesis sent
    `formats=¹`, which answered 500)."""
    r = client.get(f"/v1/books:search?{query}")
    assert r.status_code == 400, r.text
    assert [(v["field"], v["description"]) for v in r.json()["violations"]] == [
        (field, f"{text!r} is not one of ['FORMAT_EBOOK', 'FORMAT_HARDCOVER', 'FORMAT_UNSPECIFIED']")
    ]


def test_custom_verb(client: httpx.Client) -> None:
    """`:batchGet` routes to its RPC; repeated query parameters fill the list."""
    r = client.get("/v1/shelves/s2/books:batchGet?ids=a&ids=b")
    assert r.status_code == 200, r.text
    assert [b["id"] for b in r.json()["books"]] == ["a", "b"]
    assert {b["shelf"] for b in r.json()["books"]} == {"s2"}


def test_delete_with_empty_response(client: httpx.Client) -> None:
    """An Empty response is `{}`."""
    r = client.delete("/v1/shelves/a/books/b")
    assert r.status_code == 200
    assert r.json() == {}


def test_multi_segment_wildcard_keeps_encoded_slash(client: httpx.Client) -> None:
    """`{path=**}` spans segments; an encoded `/` stays encoded, other escapes are decoded."""
    r = client.get("/v1/files/a/b%20c/d%2Fe.txt")
    assert r.status_code == 200, r.text
    assert r.json()["path"] == "a/b c/d%2Fe.txt"


def test_route_table_errors(client: httpx.Client) -> None:
    """Unknown paths are 404 and a wrong method on a known path 405, both problem+json."""
    r = client.get("/v1/nothing/here")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    r = client.put("/v1/shelves/s1")
    assert r.status_code == 405
    assert r.json()["code"] == "UNIMPLEMENTED"


def test_servicer_error_is_problem_json(client: httpx.Client) -> None:
    """A microlib Error from the servicer maps to its HTTP status as problem+json."""
    r = client.get("/v1/shelves/missing", headers={"x-request-timeout": "5"})
    assert r.status_code == 404
    body = r.json()
    assert body["code"] == "NOT_FOUND"
    assert body["detail"] == "shelves/missing does not exist"


@pytest.mark.parametrize(
    ("method", "url", "payload", "field"),
    [
        ("POST", "/v1/shelves/s/books", b"{not json", "body"),
        ("POST", "/v1/shelves/s/books", b"[1]", "body"),
        ("POST", "/v1/shelves/s/books", b"null", "body"),
        # A body bound to one field: null is not that field's type (found by a random schemathesis run).
        ("PATCH", "/v1/shelves/s/books/b", b"null", "body"),
        ("POST", "/v1/echo", b"null", "body"),
        # Form feed and vertical tab are whitespace to Python, not to JSON: no empty body (schemathesis).
        ("POST", "/v1/echo", b"\x0c", "body"),
        ("POST", "/v1/shelves/s/books", b" \x0b ", "body"),
        ("POST", "/v1/shelves/s/books", b'{"title": 5}', "title"),
        ("POST", "/v1/shelves/s/books", b'{"priceCents": "ten"}', "priceCents"),
        ("POST", "/v1/shelves/s/books", b'{"nope": 1}', "nope"),
        ("PATCH", "/v1/shelves/s/books/b", b'{"published": "yesterday"}', "book.published"),
        ("GET", "/v1/books:search?inStock=maybe", None, "inStock"),
        ("GET", "/v1/books:search?limit=1.5", None, "limit"),
        ("GET", "/v1/books:search?bogus=1", None, "bogus"),
        ("GET", "/v1/books:search?filter.who=1", None, "filter.who"),
        ("GET", "/v1/books:search?format=FORMAT_NONE", None, "format"),
        # In UTC, a minute before year 1: outside Timestamp's range (found by a random schemathesis run).
        ("GET", "/v1/books:search?publishedAfter=0001-01-01T00%3A00%3A00%2B00%3A01", None, "publishedAfter"),
    ],
)
def test_bad_input_names_the_field(
    client: httpx.Client, method: str, url: str, payload: bytes | None, field: str
) -> None:
    """Malformed JSON, wrong types and unknown fields are 400s naming the field's JSON path."""
    r = client.request(method, url, content=payload, headers={"content-type": "application/json"})
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["code"] == "INVALID_ARGUMENT"
    assert body["violations"][0]["field"] == field, body


def test_bad_timeout_header_is_400(client: httpx.Client) -> None:
    """The x-request-timeout header is parsed as endpoint.py does for plain routes."""
    r = client.get("/v1/shelves/s1", headers={"x-request-timeout": "soon"})
    assert r.status_code == 400
    assert r.json()["violations"][0]["field"] == "header.x-request-timeout"


def test_interceptors_see_an_http_call(client: httpx.Client, recorder: Recorder) -> None:
    """The chain runs with kind="http", the RPC's names, the request message and the route attributes."""
    client.get("/v2/shelves/q/books/w", headers={"X-Trace": "t1"})
    ctx = recorder.seen[-1]
    assert (ctx.kind, ctx.service, ctx.method) == ("http", "transcode.v1.LibraryService", "GetBook")
    assert ctx.request.name == "shelves/q/books/w"
    assert ctx.metadata["x-trace"] == "t1"
    assert ctx.attributes["http.route"] == "/v2/{name=shelves/*/books/*}"
    assert ctx.attributes["http.method"] == "GET"
    assert ctx.attributes["microlib.method"].name == "GetBook"
    assert recorder.outcomes[-1] == "OK"


def test_ndjson_stream(client: httpx.Client) -> None:
    """A server stream is newline-delimited JSON by default."""
    r = client.get("/v1/shelves/s/books:stream?count=3")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert [b["id"] for b in lines] == ["0", "1", "2"]


def test_ndjson_error_mid_stream_is_framed(client: httpx.Client) -> None:
    """An error after the first item ends the stream with an error line, not a cut connection."""
    r = client.get("/v1/shelves/s/books:stream?count=5&failAfter=2")
    assert r.status_code == 200
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert [b["id"] for b in lines[:2]] == ["0", "1"]
    assert lines[2]["error"]["code"] == "FAILED_PRECONDITION"
    assert lines[2]["error"]["reason"] == "SHELF_FELL"
    assert lines[2]["error"]["status"] == 400


def test_sse_stream_with_error_event(client: httpx.Client) -> None:
    """Accept: text/event-stream gets Server-Sent Events; the error is an `error` event."""
    r = client.get("/v1/shelves/s/books:stream?count=5&failAfter=1", headers={"accept": "text/event-stream"})
    assert r.headers["content-type"] == "text/event-stream"
    events = r.text.split("\n\n")
    assert events[0] == 'data: {"id":"0","shelf":"s","title":"Book 0"}'
    kind, data = events[1].split("\n")
    assert kind == "event: error"
    assert json.loads(data.removeprefix("data: "))["code"] == "FAILED_PRECONDITION"


def test_stream_error_before_first_item_is_a_plain_problem(client: httpx.Client) -> None:
    """Before anything was sent, a stream's error is an ordinary problem+json response."""
    r = client.get("/v1/shelves/s/books:stream?count=5&failAfter=0&bogus=1")
    assert r.status_code == 400


def test_settings_emit_defaults_original_names_ignore_unknown() -> None:
    """The transcoding section switches default emission, proto names and unknown-field handling."""
    settings = TranscodingSettings(
        emit_defaults=True, original_names=True, unknown_fields="ignore", streaming="sse"
    )
    http, _ = library_app(settings=settings)
    with serve(http.app) as url, httpx.Client(base_url=url) as c:
        r = c.post("/v1/shelves/s/books", json={"title": "T", "extra": 1}, params={"also": "x"})
        assert r.status_code == 200, r.text
        book = r.json()
        assert book["price_cents"] == "0"
        assert book["tags"] == []
        assert book["format"] == "FORMAT_UNSPECIFIED"
        r = c.get("/v1/shelves/s/books:stream?count=1")
        assert r.headers["content-type"] == "text/event-stream"
        r = c.get("/v1/shelves/s/books:stream?count=1", headers={"accept": "application/x-ndjson"})
        assert r.headers["content-type"] == "application/x-ndjson"


def test_the_transcoder_loads_no_grpc_module() -> None:
    """REST transcoding reads the contract (``microlib.contract``), not the gRPC transport: loading
    it loads no ``microlib.grpc`` module and no grpcio, so an HTTP-only service never does."""
    probe = "import sys, microlib.http.transcoding; print(' '.join(sys.modules))"
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True, cwd=root)
    loaded = set(out.stdout.split())
    assert "microlib.contract.message_json" in loaded
    assert not {m for m in loaded if m.startswith("microlib.grpc") or m.split(".")[0] == "grpc"}
