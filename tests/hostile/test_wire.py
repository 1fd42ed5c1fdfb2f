"""Hostile bytes on the HTTP socket: each request is refused or served within
bounds, and the server keeps serving."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from microlib.testing import TestService
from tests.hostile.shop import shop


@pytest.fixture
async def port() -> AsyncIterator[int]:
    overrides = ["http.header_timeout=2", "http.max_header_bytes=8192"]
    async with TestService(shop(), listen=True, overrides=overrides) as t:
        port: int = getattr(t.service.component("http"), "port")  # noqa: B009
        yield port
        # Whatever came before, the server still answers.
        alive = await exchange(port, b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
        assert alive.startswith(b"HTTP/1.1 200"), alive


async def exchange(port: int, request: bytes, *, trickle: bool = False) -> bytes:
    """Send ``request`` and read until the server closes the connection or
    ends one response."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        if trickle:
            # A byte at a time, as a slowloris client does; then it just waits.
            for byte in request:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(0.01)
        else:
            writer.write(request)
            await writer.drain()
        answer = b""
        async with asyncio.timeout(30):
            while chunk := await reader.read(65536):
                answer += chunk
                if b"\r\n\r\n" in answer and b"connection: close" not in answer.lower():
                    head, _, body = answer.partition(b"\r\n\r\n")
                    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                    if len(body) >= length:
                        break
        return answer
    finally:
        writer.close()


async def test_a_request_head_that_trickles_in_is_cut_off(port: int) -> None:
    """Slowloris: a head still incomplete after ``http.header_timeout`` gets a
    408 and the connection closes (it used to stay open for good)."""
    answer = await exchange(port, b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Slow: a", trickle=True)
    assert answer.startswith(b"HTTP/1.1 408"), answer


async def test_a_connection_that_sends_nothing_is_closed(port: int) -> None:
    """An opened connection with no request is closed after ``http.header_timeout``."""
    assert (await exchange(port, b"")).startswith(b"HTTP/1.1 408")


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Many: a\r\n" * 5_000 + b"\r\n",
    ],
    ids=["long-url", "long-header", "many-headers"],
)
async def test_oversized_heads_are_refused(port: int, request_bytes: bytes) -> None:
    """A head over ``http.max_header_bytes`` is a 400 and the connection closes."""
    assert (await exchange(port, request_bytes)).startswith(b"HTTP/1.1 400")


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Request-ID: a\rSet-Cookie: evil=1\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Request-ID: a\nSet-Cookie: evil=1\r\n\r\n",
    ],
    ids=["bare-cr", "bare-lf"],
)
async def test_crlf_injection_never_reaches_a_response(port: int, request_bytes: bytes) -> None:
    """A bare CR or LF smuggled into a header value is refused (400): it never
    becomes a header of the answer."""
    answer = await exchange(port, request_bytes)
    assert answer.startswith(b"HTTP/1.1 400"), answer
    assert b"set-cookie" not in answer.lower()


async def test_an_invalid_request_id_is_replaced_not_echoed(port: int) -> None:
    """An ``X-Request-ID`` that is not a plain token is replaced by a fresh one."""
    answer = await exchange(port, b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Request-ID: a b;c=<x>\r\n\r\n")
    head = answer.partition(b"\r\n\r\n")[0].lower()
    assert b"x-request-id: a b" not in head
    assert b"x-request-id: " in head


@pytest.mark.parametrize(
    "path",
    [
        b"/rest/../../../etc/passwd",
        b"/rest/..%2F..%2F..%2Fetc%2Fpasswd",
        b"/rest/%2e%2e/%2e%2e/etc/passwd",
        b"/api/orders/..%2F..%2Fhealth",
        b"/v1/shelves/..%2F..%2F/books",
    ],
)
async def test_dot_segments_and_encoded_slashes_escape_nothing(port: int, path: bytes) -> None:
    """``..`` and ``%2F`` in a path reach no file: a 4xx, or, where a route
    binds the segment (``/v1/shelves/{shelf}/books``), a value like any other."""
    answer = await exchange(port, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    status = int(answer.split(b" ", 2)[1])
    assert status == 200 if path.startswith(b"/v1/") else 400 <= status < 500, answer
    assert b"root:" not in answer
