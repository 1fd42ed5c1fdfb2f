"""Errors on the wire: microlib errors as gRPC status with google.rpc details."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

from microlib.core.errors import Code, Error, FieldViolation, Internal, NotFound
from microlib.grpc import error_from_status, status_for
from microlib.grpc.errors import DETAILS_KEY
from tests.grpc.support import Generated


def _details(exc: grpc.aio.AioRpcError) -> status_pb2.Status:
    raw = dict(exc.trailing_metadata())[DETAILS_KEY]
    return status_pb2.Status.FromString(raw)


@pytest.mark.parametrize("code", list(Code))
async def test_each_code_reaches_a_grpcio_client_with_details(echo: Generated, stub: Any, code: Code) -> None:
    """Every microlib error code becomes the same gRPC status, with ErrorInfo and BadRequest."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Echo(echo.pb2.EchoRequest(message=f"raise:{code.name}"))
    exc = caught.value
    assert exc.code().value[0] == code.value
    assert exc.details() == f"echo failed with {code.name}"
    status = _details(exc)
    assert status.code == code.value
    info, bad = error_details_pb2.ErrorInfo(), error_details_pb2.BadRequest()
    assert status.details[0].Unpack(info)
    assert status.details[1].Unpack(bad)
    assert (info.reason, info.domain, dict(info.metadata)) == (
        "ECHO_FAILED",
        "echo.test",
        {"code": code.name},
    )
    violation = bad.field_violations[0]
    assert (violation.field, violation.description, violation.reason) == (
        "message",
        "asked to fail",
        "echo.fail",
    )


async def test_unexpected_exception_is_internal_without_internals(echo: Generated, stub: Any) -> None:
    """A plain exception becomes INTERNAL; its message never reaches the client."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Echo(echo.pb2.EchoRequest(message="boom"))
    exc = caught.value
    assert exc.code() is grpc.StatusCode.INTERNAL
    assert exc.details() == "internal error"
    assert "hunter2" not in repr(exc) + str(exc.trailing_metadata())


async def test_error_ending_a_stream_keeps_the_items_sent(echo: Generated, stub: Any) -> None:
    """A server stream that fails midway delivers the items sent, then the error."""
    call = stub.Expand(echo.pb2.EchoRequest(message="fail-after:2", count=5))
    got: list[int] = []

    async def consume() -> None:
        async for reply in call:
            got.append(reply.index)

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await consume()
    assert got == [0, 1]
    assert caught.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    info = error_details_pb2.ErrorInfo()
    _details(caught.value).details[0].Unpack(info)
    assert info.reason == "QUOTA"


def test_status_round_trip_restores_the_subclass() -> None:
    """status_for and error_from_status are inverse: class, reason, domain, metadata, violations."""
    original = NotFound(
        "book 7 not found",
        reason="BOOK_NOT_FOUND",
        domain="shop.example.com",
        metadata={"id": "7"},
        violations=[FieldViolation("id", "no such book", "exists")],
    )
    status = status_for(original)
    back = error_from_status(status.code, status.message, status.SerializeToString())
    assert type(back) is NotFound
    assert (back.message, back.reason, back.domain, back.metadata) == (
        "book 7 not found",
        "BOOK_NOT_FOUND",
        "shop.example.com",
        {"id": "7"},
    )
    assert back.violations == original.violations


def test_untrusted_details_are_ignored() -> None:
    """Details that do not parse, or whose code disagrees with the status, are dropped."""
    garbage = error_from_status(Code.INTERNAL.value, "x", b"\xff\xff")
    assert type(garbage) is Internal
    assert garbage.reason == ""
    mismatched = status_for(Error("m", code=Code.NOT_FOUND, reason="R")).SerializeToString()
    assert error_from_status(Code.INTERNAL.value, "x", mismatched).reason == ""
    assert type(error_from_status(99, "odd")).__name__ == "Unknown"
