"""The HTTP edge as clients, load balancers and proxies use it, on every door of the bookshop
example: its OpenAPI-first orders API, its transcoded proto API, its plain routes and the
framework's own endpoints (probes, metrics, documents)."""

from __future__ import annotations

import asyncio

import pytest
from starlette.requests import Request

from examples.bookshop.main import create_service
from microlib import Service
from microlib.testing import TestService

# `running_service` is microlib's pytest fixture: the bookshop, started for each test.

ORDER = {"customer": "ann@example.com", "lines": [{"book_id": "1", "quantity": 2}]}


@pytest.mark.parametrize(
    "path",
    ["/api/orders", "/api/orders/o-1", "/v1/books/1", "/", "/health", "/metrics", "/api/openapi.json"],
)
async def test_head_answers_what_get_answers_without_the_body(
    running_service: TestService, path: str
) -> None:
    """HEAD (what a load balancer's check and `curl -I` send) gets GET's status and headers on
    every door, OpenAPI-first operations included, and no body (RFC 9110 9.3.2)."""
    http = running_service.http
    assert (await http.post("/api/orders", json=ORDER)).status_code == 201
    get = await http.get(path)
    head = await http.head(path)
    assert get.status_code == 200, get.text
    assert head.status_code == 200, head.text
    assert head.headers["content-type"] == get.headers["content-type"]
    assert head.content == b""


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/api/orders", "GET, HEAD, POST"),
        ("OPTIONS", "/api/orders/o-1", "GET, HEAD"),
        ("DELETE", "/v1/books/1", "GET, HEAD"),
        ("POST", "/", "GET, HEAD"),
        ("POST", "/health", "GET, HEAD"),
        ("POST", "/health/ready", "GET, HEAD"),
        ("POST", "/metrics", "GET, HEAD"),
        ("POST", "/api/openapi.json", "GET, HEAD"),
        ("DELETE", "/rest/openapi.json", "GET, HEAD"),
    ],
)
async def test_a_405_names_the_methods_the_path_answers(
    running_service: TestService, method: str, path: str, allow: str
) -> None:
    """Every 405 carries `Allow` (RFC 9110 15.5.6 requires it), sorted, HEAD with GET: a plain
    route's and a probe's too, and a document's path refuses other methods rather than 404."""
    response = await running_service.http.request(method, path)
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == allow
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == f"method {method} is not allowed on {path}"


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/v1/books/1/", "/v1/books/1"),
        ("/v1/shelves/fiction/books/?pageSize=1", "/v1/shelves/fiction/books?pageSize=1"),
        ("/v1/books/a%2Fb/", "/v1/books/a%2Fb"),
        ("/api/orders/", "/api/orders"),
        ("/api/orders/o-1/", "/api/orders/o-1"),
        ("/health/", "/health"),
        ("/health//", "/health"),
        # An encoded slash ending the path: redirected as Starlette does, by the decoded path.
        ("/reservations%2F", "/reservations"),
    ],
)
async def test_a_trailing_slash_redirects_to_the_route_on_every_door(
    running_service: TestService, path: str, location: str
) -> None:
    """A path a route answers but for its trailing slash is a 307 to that route, query kept
    (Starlette's rule, now on transcoded and OpenAPI-first routes too: the transcoded ones
    answered 500), and an encoded `%2F` stays encoded in the new location."""
    response = await running_service.http.get(path)
    assert response.status_code == 307, response.text
    assert response.headers["location"] == f"http://testserver{location}"


async def test_a_trailing_slash_no_route_answers_is_still_a_404(running_service: TestService) -> None:
    """Without a route for the other spelling, a 404 problem as before; the orders document's
    prefix (`/api`) included, its document having no operation at its root path: it was a 307
    to `/api/`, which answered 404."""
    for path in ("/v1/nothing/", "/api/nothing/", "/nothing/", "/api", "/api/"):
        response = await running_service.http.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json"


async def test_head_over_the_wire_sends_gets_headers_and_no_body() -> None:
    """Served by the real server (`curl -I`): HEAD on an OpenAPI-first operation gets GET's
    `Content-Length`, and the response ends with its head."""
    async with TestService(create_service(), listen=True) as t:
        port = t.service.component("http").port  # type: ignore[attr-defined]
        get = await _exchange(port, b"GET /api/orders HTTP/1.1\r\nhost: shop\r\nconnection: close\r\n\r\n")
        head = await _exchange(port, b"HEAD /api/orders HTTP/1.1\r\nhost: shop\r\nconnection: close\r\n\r\n")
    get_head, _, body = get.partition(b"\r\n\r\n")
    assert get_head.startswith(b"HTTP/1.1 200 ")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert head.endswith(b"\r\n\r\n")
    assert f"content-length: {len(body)}".encode() in head.lower()


async def _exchange(port: int, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    await writer.wait_closed()
    return answer


async def test_allow_names_every_route_of_the_path() -> None:
    """Plain routes splitting one path by method: a 405 names the methods of them all, not only
    those of the first route that matched the path (RFC 9110: the methods the resource answers)."""
    service = Service("items")

    @service.http.route("/items", methods=["GET"])
    async def read(request: Request) -> dict[str, str]:
        return {}

    @service.http.route("/items", methods=["POST"])
    async def write(request: Request) -> dict[str, str]:
        return {}

    async with TestService(service) as t:
        response = await t.http.delete("/items")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, POST"
