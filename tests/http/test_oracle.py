"""Request validation agrees with openapi-core, the oracle, on generated requests.

Hypothesis builds requests around each operation's schema (valid values,
boundary values, wrong types, nulls, missing and extra fields); each one is
decided by OpenAPIApp (400/415 = reject) and by openapi-core's validator on
the same bundled document, and the decisions must match.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest

from microlib.http.openapi import OpenAPIApp
from tests.http.apps.library import Books, Loans
from tests.http.apps.store import Pets, Store
from tests.http.gen.library30 import operations as library_ops
from tests.http.gen.store31 import operations as store_ops

# openapi-core does not reject undeclared query parameters: compare without strict mode.
STORE = OpenAPIApp(store_ops.OPERATIONS, {"pets": Pets(), "store": Store()}, strict=False, docs=False)
LIBRARY = OpenAPIApp(library_ops.OPERATIONS, {"books": Books(), "loans": Loans()}, strict=False, docs=False)
ORACLES = {
    id(STORE): OpenAPI.from_file_path(str(store_ops.SPEC_PATH)),
    id(LIBRARY): OpenAPI.from_file_path(str(library_ops.SPEC_PATH)),
}
EXAMPLES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 120),
    st.floats(-2, 2, allow_nan=False),
    st.text(max_size=4),
    st.just([]),
    st.just({}),
)


def maybe(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly ``value``, sometimes any JSON value, sometimes left out."""
    return st.one_of(value, value, value, anything, st.just(_ABSENT))


_ABSENT = object()


def obj(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A JSON object whose fields may each be wrong or absent, plus maybe an extra key."""
    extra = st.one_of(st.just({}), st.just({}), st.just({"extra": 1}))
    return st.tuples(st.fixed_dictionaries({k: maybe(v) for k, v in fields.items()}), extra).map(
        lambda pair: {**{k: v for k, v in pair[0].items() if v is not _ABSENT}, **pair[1]}
    )


def is_header_value(value: Any) -> bool:
    """Whether ``value`` can travel as an HTTP header value at all (no control characters)."""
    return isinstance(value, str) and value.isprintable() and value.isascii()


def microlib_accepts(
    app: OpenAPIApp, method: str, path: str, query: str, headers: dict[str, str], body: bytes
) -> bool:
    """Run one request through the app; True unless it is rejected as invalid (400/415)."""
    raw_headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": raw_headers,
        "root_path": "",
    }
    status: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    asyncio.run(app(scope, receive, send))
    return status[0] not in (400, 415)


def oracle_accepts(
    app: OpenAPIApp, method: str, path: str, query: dict[str, Any], headers: dict[str, str], body: bytes
) -> bool:
    """openapi-core's decision on the same request."""
    cookies = dict(c.split("=", 1) for c in headers.pop("Cookie", "").split("; ") if "=" in c)
    request = MockRequest(
        "http://test", method.lower(), path, args=query, headers=headers, cookies=cookies, data=body or None
    )
    try:
        ORACLES[id(app)].validate_request(request)
    except Exception as exc:
        # Shown when a decision differs.
        print("openapi-core:", repr(exc), getattr(exc, "__cause__", None))
        return False
    return True


def agree(
    app: OpenAPIApp, method: str, path: str, query: dict[str, Any], headers: dict[str, str], body: Any
) -> None:
    """Assert that microlib and openapi-core take the same decision."""
    raw = b"" if body is _ABSENT else json.dumps(body).encode()
    # Security is enforced by the security interceptors, not by request validation.
    headers = {**headers, "X-API-Key": "key"}
    if raw:
        headers = {**headers, "Content-Type": "application/json"}
    # A client following RFC 6570 leaves the delimiters of non-exploded arrays unencoded.
    ours = microlib_accepts(app, method, path, urlencode(query, doseq=True, safe=",|"), dict(headers), raw)
    theirs = oracle_accepts(app, method, path, query, dict(headers), raw)
    decisions = f"microlib={'accept' if ours else 'reject'} openapi-core={'accept' if theirs else 'reject'}"
    assert ours == theirs, f"{decisions}: {method} {path} query={query!r} headers={headers!r} body={raw!r}"


order_item = obj(
    sku=st.sampled_from(["ABC-0001", "XYZ-9999", "abc-0001", "AB-1", ""]),
    quantity=st.integers(-1, 101),
    giftWrap=st.booleans(),
)


@EXAMPLES
@given(
    body=st.one_of(
        obj(
            items=st.lists(order_item, max_size=3),
            status=st.sampled_from(["placed", "approved", "delivered", "lost"]),
            note=st.one_of(st.none(), st.text(max_size=3), st.just("n" * 201)),
        ),
        anything,
    )
)
def test_place_order_bodies(body: Any) -> None:
    """Order bodies: nested arrays, patterns, ranges, enums, nullable, additionalProperties: false."""
    agree(STORE, "POST", "/store/orders", {}, {}, body)


@EXAMPLES
@given(
    body=obj(
        kind=st.sampled_from(["cat", "dog", "bird", "cow"]),
        name=st.sampled_from(["", "x", "n" * 40, "n" * 41]),
        indoor=st.booleans(),
        barks=st.integers(-1, 11),
        wingspan=st.one_of(st.integers(-1, 2), st.floats(-1, 2, allow_nan=False)),
    )
)
def test_create_pet_discriminated_bodies(body: Any) -> None:
    """oneOf with a discriminator: member selection, const tags and member constraints."""
    agree(STORE, "POST", "/pets", {}, {}, body)


query_value = st.one_of(
    st.integers(-2, 150).map(str), st.sampled_from(["", "abc", "1.5", "true", "cat", "dog", "x"])
)


@EXAMPLES
@given(
    limit=maybe(query_value),
    kind=maybe(st.lists(st.sampled_from(["cat", "dog", "bird", "cow"]), min_size=1, max_size=3)),
    min_age=maybe(query_value),
    tag=maybe(st.sampled_from(["abc", "ABC", "toolongtag", "a1"])),
)
def test_list_pets_parameters(limit: Any, kind: Any, min_age: Any, tag: Any) -> None:
    """Query integers with bounds, exploded enum arrays, deepObject members and a header pattern."""
    query: dict[str, Any] = {}
    for key, value in (("limit", limit), ("kind", kind), ("filter[minAge]", min_age)):
        if value is not _ABSENT and isinstance(value, str | list):
            query[key] = value
    headers = {"X-Request-Tag": tag} if is_header_value(tag) else {}
    agree(STORE, "GET", "/pets", query, headers, _ABSENT)


@EXAMPLES
@given(pet_id=query_value.filter(bool))
def test_path_parameters(pet_id: str) -> None:
    """A path integer with a minimum (an empty segment is another path: 404 here, not 400)."""
    agree(STORE, "GET", f"/pets/{pet_id}", {}, {}, _ABSENT)


author = obj(name=st.sampled_from(["", "A"]), born=st.one_of(st.none(), st.integers(1800, 2000)))


@EXAMPLES
@given(
    body=obj(
        isbn=st.sampled_from(["9780000000001", "978", "97800000000012"]),
        title=st.sampled_from(["", "T"]),
        authors=st.lists(author, max_size=2),
        subtitle=st.one_of(st.none(), st.just("s")),
        genre=st.sampled_from(["fiction", "poetry", "cooking"]),
        media=st.one_of(
            obj(type=st.just("paper"), pages=st.integers(0, 2)),
            obj(type=st.just("ebook"), sizeMb=st.floats(-1, 1, allow_nan=False), drm=st.booleans()),
            obj(type=st.just("scroll")),
        ),
    )
)
def test_add_book_bodies_3_0(body: Any) -> None:
    """OpenAPI 3.0: nullable, enums, min lengths, a discriminated oneOf on an enum property."""
    agree(LIBRARY, "POST", "/books", {}, {}, body)


@EXAMPLES
@given(
    q=maybe(st.sampled_from(["", "a", "ab"])),
    genre=maybe(st.sampled_from(["fiction", "cooking"])),
    # "year=" is an empty array here (schemathesis sends it so); openapi-core rejects it.
    year=maybe(st.sampled_from(["1965", "1965,2001", "1000", "x"])).filter(lambda v: v != ""),
    available=maybe(st.sampled_from(["true", "false", "yes", "1"])),
    language=maybe(st.sampled_from(["en", "fr", "es"])),
)
def test_search_books_parameters_3_0(q: Any, genre: Any, year: Any, available: Any, language: Any) -> None:
    """OpenAPI 3.0: required query, enum $ref, non-exploded array, boolean and an enum header."""
    query = {
        k: v
        for k, v in (("q", q), ("genre", genre), ("year", year), ("available", available))
        if isinstance(v, str)
    }
    headers = {"Accept-Language": language} if is_header_value(language) else {}
    agree(LIBRARY, "GET", "/books", query, headers, _ABSENT)
