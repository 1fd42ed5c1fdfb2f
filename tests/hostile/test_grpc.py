"""Hostile bytes on the gRPC port: malformed messages and frames, oversized
messages. Each is refused with a status, and the server keeps serving."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest

from examples.bookshop.gen.bookshop.v1 import GetBookRequest
from microlib.grpc.errors import error_from_rpc_error
from microlib.testing import TestService
from tests.hostile.shop import shop

GET_BOOK = "/bookshop.v1.BookshopService/GetBook"


@pytest.fixture
async def service() -> AsyncIterator[TestService]:
    overrides = ["grpc.max_receive_message_bytes=65536", "grpc.handshake_timeout=1"]
    async with TestService(shop(), overrides=overrides) as t:
        yield t
        # Whatever came before, the server still answers (the shop's catalog is empty).
        with pytest.raises(grpc.aio.AioRpcError) as answer:
            await t.grpc.unary_unary(GET_BOOK)(bytes(GetBookRequest(id="1")), timeout=10)
        assert answer.value.code() is grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize(
    "raw",
    [b"\xff\xff\xff\xff", b"\x0a\xff\xff\xff\xff\x0f", b"\x0a\x05ab", b"\x08\xff\xff", b"\x0f"],
    ids=["bad-tag", "bad-length", "truncated", "varint-runs-out", "invalid-wire-type"],
)
async def test_malformed_messages_are_invalid_argument(service: TestService, raw: bytes) -> None:
    """Bytes that are not the request message are INVALID_ARGUMENT with an
    ``ErrorInfo`` of reason ``MALFORMED_REQUEST``, as docs/grpc.md says."""
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await service.grpc.unary_unary(GET_BOOK)(raw, timeout=10)
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert error_from_rpc_error(refused.value).reason == "MALFORMED_REQUEST"


async def test_oversized_messages_are_resource_exhausted(service: TestService) -> None:
    """A request over ``grpc.max_receive_message_bytes`` is refused before any code runs."""
    raw = bytes(GetBookRequest(id="x" * 100_000))
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await service.grpc.unary_unary(GET_BOOK)(raw, timeout=10)
    assert refused.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED


@pytest.mark.parametrize(
    "raw",
    [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",  # HTTP/1.1 on an HTTP/2 port
        b"\x00" * 1024,
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x04\x08\x00\x00\x00\x00\x00" + b"\xff" * 64,
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\xff\xff\xff\x01\x04\x00\x00\x00\x01",  # frame too large
    ],
    ids=["http1", "zeros", "window-update-then-garbage", "oversized-frame"],
)
async def test_malformed_frames_close_the_connection(service: TestService, raw: bytes) -> None:
    """Bytes that are not HTTP/2 end that connection and nothing else."""
    port = getattr(service.service.component("grpc"), "port")  # noqa: B009
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(raw)
        await writer.drain()
        async with asyncio.timeout(30):
            while await reader.read(65536):
                pass  # until the server closes it
    except ConnectionError:
        pass  # reset: closed as well
    finally:
        writer.close()


@pytest.mark.parametrize("raw", [b"", b"PRI * HT"], ids=["silent", "partial-preface"])
async def test_a_connection_stalled_in_its_handshake_is_closed(service: TestService, raw: bytes) -> None:
    """A client that connects and never finishes the HTTP/2 preface is
    disconnected after ``grpc.handshake_timeout`` (grpc's default holds it
    two minutes)."""
    port = getattr(service.service.component("grpc"), "port")  # noqa: B009
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(raw)
        await writer.drain()
        async with asyncio.timeout(30):
            while await reader.read(65536):
                pass  # the server's settings frame, then its close
    finally:
        writer.close()
