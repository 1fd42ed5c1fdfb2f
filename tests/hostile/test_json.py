"""Hostile JSON bodies: each is a 4xx naming what is wrong, never a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from starlette.requests import Request

from microlib.core._json_depth import MAX_JSON_DEPTH
from microlib.testing import TestService
from tests.hostile.shop import shop

JSON = {"content-type": "application/json"}
ORDERS = "/api/orders"
BOOKS = "/v1/shelves/s1/books"


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


@pytest.mark.parametrize("url", [ORDERS, BOOKS], ids=["openapi", "transcoded"])
@pytest.mark.parametrize(
    "body",
    [nested(100_000), '{"title": ' + nested(5_000) + ', "bookId": "1"}', nested(MAX_JSON_DEPTH + 1)],
    ids=["100000-levels", "5000-levels-in-a-field", "one-past-the-limit"],
)
async def test_deep_nesting_is_refused_naming_the_limit(url: str, body: str) -> None:
    """JSON nested deeper than the limit is a 400 naming it, before any parser
    recurses into it (it used to end in RecursionError, a 500)."""
    async with TestService(shop()) as t:
        response = await t.http.post(url, content=body, headers=JSON)
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["reason"] == "JSON_TOO_DEEP"
    assert f"deeper than {MAX_JSON_DEPTH} levels" in problem["detail"]
    assert problem["metadata"] == {"limit": str(MAX_JSON_DEPTH)}


async def test_nesting_within_the_limit_reaches_validation() -> None:
    """Nesting up to the limit is the validator's business (here: a wrong type)."""
    async with TestService(shop()) as t:
        body = '{"bookId": ' + nested(MAX_JSON_DEPTH - 1) + ', "quantity": 1}'
        response = await t.http.post(ORDERS, content=body, headers=JSON)
    assert response.status_code == 400
    assert "reason" not in response.json()


async def test_the_limit_is_configurable_on_each_door() -> None:
    """``OpenAPIApp(max_json_depth=...)`` and ``transcoding.max_json_depth`` set the limit."""
    async with TestService(shop(max_json_depth=3), overrides=["transcoding.max_json_depth=3"]) as t:
        for url in (ORDERS, BOOKS):
            response = await t.http.post(url, content='{"title": [[["x"]]]}', headers=JSON)
            assert response.status_code == 400, url
            assert "deeper than 3 levels" in response.json()["detail"]


@pytest.mark.parametrize("url", [ORDERS, BOOKS], ids=["openapi", "transcoded"])
@pytest.mark.parametrize(
    "body",
    [
        b'{"title": "\xff\xfe", "bookId": "1"}',  # invalid UTF-8
        b'{"title": "a", "title": "b", "bookId": "1", "bookId": 2}',  # duplicate keys
        b'{"title": 1e999999, "bookId": 1e999999, "quantity": 1e999999}',  # overflows a float
        b'{"title": "x", "bookId": "1", "quantity": ' + b"9" * 5_000 + b"}",  # past int's digit limit
        b'{"title": "\\ud800", "bookId": "\\ud800"}',  # a lone surrogate
        b'{"title": ',  # truncated
        b"\x00" * 64,
    ],
    ids=["invalid-utf8", "duplicate-keys", "huge-float", "huge-int", "lone-surrogate", "truncated", "nul"],
)
async def test_malformed_json_is_a_client_error(url: str, body: bytes) -> None:
    """Bytes that are not the JSON the route takes are a 4xx problem, never a 500."""
    async with TestService(shop()) as t:
        response = await t.http.post(url, content=body, headers=JSON)
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("url", [ORDERS, BOOKS], ids=["openapi", "transcoded"])
@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None],
)
async def test_bodies_that_are_not_json_are_415(url: str, content_type: str | None) -> None:
    """Only ``application/json`` is accepted: the content types a browser may
    send cross-site without a CORS preflight (and none at all) are a 415 on
    transcoded routes as on OpenAPI-first ones."""
    headers = {"content-type": content_type} if content_type else {}
    async with TestService(shop()) as t:
        response = await t.http.post(
            url, content=b'{"title": "x", "author": "y", "bookId": "1", "quantity": 1}', headers=headers
        )
    assert response.status_code == 415, response.text
    assert response.json()["reason"] == "UNSUPPORTED_MEDIA_TYPE"


async def test_json_with_parameters_is_accepted() -> None:
    """``application/json; charset=utf-8`` is JSON."""
    async with TestService(shop()) as t:
        response = await t.http.post(
            BOOKS,
            content=b'{"title": "Ariel", "author": "Sylvia Plath"}',
            headers={"content-type": "Application/JSON; charset=utf-8"},
        )
    assert response.status_code == 200, response.text


async def test_oversized_body_is_413_labelled_with_its_route() -> None:
    """A body over ``http_middleware.max_body_bytes``, declared or chunked, is
    a 413 on every door, plain routes too (a chunked one used to be a 500
    there), and its access line names the route (it used to say "unmatched")."""
    service = shop()

    @service.http.route("/echo", methods=["POST"])
    async def echo(request: Request) -> dict[str, Any]:
        return {"size": len(await request.body())}

    async def chunked() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield b"x" * 64

    async with TestService(service, overrides=["http_middleware.max_body_bytes=1024"]) as t:
        for url, route in (
            (ORDERS, ORDERS),
            (BOOKS, "/v1/shelves/{shelf}/books"),
            ("/echo", "/echo"),
        ):
            for body in (b"x" * 4096, chunked()):
                response = await t.http.post(url, content=body, headers=JSON)
                assert response.status_code == 413, (url, response.text)
                assert response.json()["reason"] == "BODY_TOO_LARGE"
                access = [e for e in t.logs if e["event"] == "http request" and e["path"] == url][-1]
                assert (access["route"], access["status"]) == (route, 413)
