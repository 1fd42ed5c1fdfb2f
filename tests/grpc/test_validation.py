"""Contract validation: field_behavior REQUIRED and buf.validate rules."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

from microlib.contract.definition import METHOD_ATTRIBUTE
from microlib.core.chain import compose
from microlib.core.context import CallContext
from microlib.core.errors import InvalidArgument
from microlib.grpc import ValidationInterceptor, make_validator
from microlib.grpc.errors import DETAILS_KEY
from tests.grpc.support import Generated, generate


def _violations(exc: InvalidArgument) -> list[tuple[str, str]]:
    return [(v.field, v.rule) for v in exc.violations]


def test_valid_message_passes(echo: Generated) -> None:
    """A message that satisfies every rule is accepted."""
    validate = make_validator(echo.pb2.EchoRequest, lambda m: m)
    validate(echo.pb2.EchoRequest(message="hi", count=3, tags=[echo.pb2.Tag(key="k")], email="a@b.example"))


def test_required_and_protovalidate_rules_are_reported_with_paths(echo: Generated) -> None:
    """Each broken rule is one violation: field path, rule id, message."""
    validate = make_validator(echo.pb2.EchoRequest, lambda m: m)
    bad = echo.pb2.EchoRequest(
        count=101,
        email="not-an-email",
        tags=[echo.pb2.Tag(key="ok"), echo.pb2.Tag(value="v"), echo.pb2.Tag(key="x" * 9)],
    )
    with pytest.raises(InvalidArgument) as caught:
        validate(bad)
    assert sorted(_violations(caught.value)) == [
        ("count", "int32.gte_lte"),
        ("email", "string.email"),
        ("message", "required"),
        ("tags[1].key", "required"),
        ("tags[2].key", "string.max_len"),
    ]
    assert str(caught.value).startswith(
        "invalid echotest.v1.EchoRequest: message: value is required (and 4 more)"
    )
    assert all(v.description for v in caught.value.violations)


def test_converter_is_applied(echo: Generated) -> None:
    """The validator checks the upb form the converter returns."""
    validate = make_validator(echo.pb2.EchoRequest, lambda text: echo.pb2.EchoRequest(message=text))
    validate("fine")
    with pytest.raises(InvalidArgument):
        validate("")


async def test_invalid_request_gets_bad_request_details_over_the_wire(echo: Generated, stub: Any) -> None:
    """The validation slot rejects a bad request before the handler with INVALID_ARGUMENT + BadRequest."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Echo(echo.pb2.EchoRequest(message="", count=-1))
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    status = status_pb2.Status.FromString(dict(caught.value.trailing_metadata())[DETAILS_KEY])
    bad = error_details_pb2.BadRequest()
    status.details[0].Unpack(bad)
    assert sorted((v.field, v.reason) for v in bad.field_violations) == [
        ("count", "int32.gte_lte"),
        ("message", "required"),
    ]


async def test_each_streamed_request_is_validated(echo: Generated, stub: Any) -> None:
    """In a client stream, the first invalid request fails the call."""

    async def requests() -> Any:
        yield echo.pb2.EchoRequest(message="ok")
        yield echo.pb2.EchoRequest(message="")

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Collect(requests())
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "message: value is required" in (caught.value.details() or "")


async def test_interceptor_passes_calls_without_a_method() -> None:
    """Calls whose context names no method definition (HTTP routes, jobs) pass through."""

    async def handler(ctx: CallContext) -> Any:
        return "done"

    assert await compose([ValidationInterceptor()], handler)(CallContext("http", "s", "m")) == "done"


def test_a_rule_of_the_whole_message_is_reported_without_a_field(tmp_path: Path) -> None:
    """A broken ``buf.validate.message`` rule names no field: its violation has an empty path."""
    required = generate(tmp_path, "requiredtest/v1/required.proto").pb2
    validate = make_validator(required.RulesOnMessage, lambda m: m)
    validate(required.RulesOnMessage(lo=1, hi=2))
    with pytest.raises(InvalidArgument) as caught:
        validate(required.RulesOnMessage(lo=2, hi=1))
    assert [(v.field, v.rule, v.description) for v in caught.value.violations] == [
        ("", "lo.le.hi", "lo must not exceed hi")
    ]


async def test_streams_and_single_requests_are_told_apart_each_call(echo: Generated) -> None:
    """A single request is validated at once and a client stream item by item, whichever came first."""
    validate = make_validator(echo.pb2.EchoRequest, lambda m: m)
    method = type("Method", (), {"validate_request": staticmethod(validate)})()

    async def stream() -> AsyncIterator[Any]:
        yield echo.pb2.EchoRequest(message="")

    for _ in range(2):
        streamed = CallContext("grpc", "s", "m", attributes={METHOD_ATTRIBUTE: method})
        streamed.request = stream()
        ValidationInterceptor().enter(streamed)  # nothing read yet
        with pytest.raises(InvalidArgument):
            await anext(streamed.request)
        single = CallContext("grpc", "s", "m", attributes={METHOD_ATTRIBUTE: method})
        single.request = echo.pb2.EchoRequest(message="")
        with pytest.raises(InvalidArgument):
            ValidationInterceptor().enter(single)
