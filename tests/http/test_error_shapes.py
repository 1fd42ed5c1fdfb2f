"""The mapping from microlib's errors to a document's own error schema, decided per schema."""

from __future__ import annotations

import json
from typing import Literal

import pytest
from pydantic import BaseModel, Field

from microlib.core.errors import FieldViolation, InvalidArgument, NotFound
from microlib.http._error_shapes import ErrorShape, ErrorShapeError, ErrorShapes, shared_shape
from microlib.http.openapi import Response


class Detail(BaseModel):
    pointer: str
    detail: str
    reason: str | None = None


class Google(BaseModel):
    status: str
    error_code: int
    errorMessage: str
    title: str | None = None
    type: str | None = None
    request_id: str | None = None
    details: list[Detail] | None = None


class Unfillable(BaseModel):
    errorId: str
    message: str


class StrictItems(BaseModel):
    class Item(BaseModel):
        field: str
        severity: str

    message: str
    items: list[Item] | None = None


class Listed(BaseModel):
    message: str
    errors: list[Detail]


class OnlyNotFound(BaseModel):
    message: str
    status: Literal["NOT_FOUND", "ALREADY_EXISTS"]


BAD = InvalidArgument(
    "bad request", violations=[FieldViolation("body.name", "too short", "string_too_short")]
)


def _render(model: type[BaseModel], error: InvalidArgument | NotFound, status: int) -> object:
    shape = ErrorShape.of(model, "application/json")
    assert shape is not None
    body = shape.render(error, status, error.message, "c-1")
    return None if body is None else json.loads(body)


def test_every_property_is_filled_by_name_and_type() -> None:
    """Names match whatever their case or separators; a string `status` is the code, an integer
    `error_code` the HTTP status; the violation items by their own names."""
    assert _render(Google, BAD, 400) == {
        "status": "INVALID_ARGUMENT",
        "error_code": 400,
        "errorMessage": "bad request",
        "title": "Bad Request",
        "type": "urn:microlib:problem:invalid-argument",
        "request_id": "c-1",
        "details": [{"pointer": "body.name", "detail": "too short", "reason": "string_too_short"}],
    }


def test_a_required_property_nothing_fills_is_refused_naming_its_path() -> None:
    """`errorId` has no source: the schema is refused when the app is built, naming the property
    and the response; declared as problem+json, a schema is microlib's own format."""
    with pytest.raises(ErrorShapeError, match=r"^errorId: required, and nothing microlib"):
        ErrorShape.of(Unfillable, "application/json")
    with pytest.raises(
        ErrorShapeError, match=r"^GET /x: responses.4XX.content.application/json.schema.errorId: "
    ):
        ErrorShapes([Response("4XX", "application/json", Unfillable)], "GET /x")
    assert ErrorShape.of(Google, "application/problem+json") is None


def test_an_array_whose_items_cannot_be_filled_is_left_out() -> None:
    """Items require `severity`: the optional array is left out, the rest is filled; the message
    names the violations the array would have listed."""
    assert _render(StrictItems, BAD, 400) == {"message": "bad request: body.name: too short"}


class Nested(BaseModel):
    """circular.yaml's ErrorMessage (ReadMe's OpenAPI examples): an error holding its inner error."""

    statusCode: int | None = None
    error: str | None = None
    inner: Nested | None = None


def test_an_error_schema_holding_itself_is_filled_once() -> None:
    """Planning how to fill `inner` planned an ErrorMessage again, and again, to Python's recursion
    limit: a RecursionError at codegen and at the app's build. The outer error is filled; its own
    copy inside is left out."""
    assert _render(Nested, NotFound("no such thing"), 404) == {"statusCode": 404, "error": "no such thing"}


class Flat(BaseModel):
    code: int
    message: str


def test_a_shape_without_an_array_names_the_violations_in_its_message() -> None:
    """The petstore's `Error {code, message}`: a refusal still says which field is wrong and why;
    an error without violations keeps its message as it is."""
    two = InvalidArgument(
        "invalid request to listPets",
        violations=[
            FieldViolation("query.limit", "Input should be a valid integer", "type"),
            FieldViolation("query.tag", "Field required", "missing"),
        ],
    )
    assert _render(Flat, two, 400) == {
        "code": 400,
        "message": "invalid request to listPets: query.limit: Input should be a valid integer; "
        "query.tag: Field required",
    }
    assert _render(Flat, NotFound("gone"), 404) == {"code": 404, "message": "gone"}


def test_a_required_list_of_violations_is_sent_empty() -> None:
    """`errors` is required: an error without violations sends it empty, one with them fills it."""
    assert _render(Listed, NotFound("gone"), 404) == {"message": "gone", "errors": []}
    assert _render(Listed, BAD, 400) == {
        "message": "bad request",
        "errors": [{"pointer": "body.name", "detail": "too short", "reason": "string_too_short"}],
    }


def test_a_body_the_schema_refuses_keeps_problem_json() -> None:
    """The enum lists NOT_FOUND and ALREADY_EXISTS: an INVALID_ARGUMENT cannot be written in it."""
    assert _render(OnlyNotFound, NotFound("gone"), 404) == {"message": "gone", "status": "NOT_FOUND"}
    assert _render(OnlyNotFound, BAD, 400) is None


def test_status_lookup_and_agreement() -> None:
    """Exact status, then its class, then `default`; a shared shape only where all agree."""
    exact = ErrorShapes(
        [Response("404", "application/json", Google), Response("4XX", "application/problem+json", Google)]
    )
    ranged = ErrorShapes([Response("4xx", "application/json", Google), Response("default", "text/plain")])
    fallback = ErrorShapes(
        [Response("200", "application/json", Google), Response("default", "application/json", Google)]
    )
    assert exact.shape(404) is not None
    assert exact.shape(409) is None
    assert ranged.shape(409) is not None
    assert ranged.shape(500) is None
    assert fallback.shape(503) is not None
    assert shared_shape([exact, fallback], 404) == exact.shape(404)
    assert shared_shape([exact, fallback], 409) is None
    assert not ErrorShapes([Response("200", "application/json", Google)])


class Typed(BaseModel):
    class Detail(BaseModel):
        kind: Literal["type.example.com/FieldViolation"]
        field: str

    type_: Literal["error"] = Field(alias="type")
    message: str
    details: list[Detail]


def test_a_property_allowing_one_value_is_that_value() -> None:
    """A `const` (pydantic's one-value Literal) is filled with its value, in items too, whatever its
    name says: `type` is "error", not the problem URN."""
    assert _render(Typed, BAD, 400) == {
        "type": "error",
        "message": "bad request",
        "details": [{"kind": "type.example.com/FieldViolation", "field": "body.name"}],
    }
