"""``validate_responses``: a response is held to its schema by the rules a request is."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import BaseModel, Field
from structlog.testing import capture_logs

from microlib.core.errors import Internal
from microlib.http._encoder import ResponseEncoder
from microlib.http.openapi import Operation, Response


class Contact(BaseModel):
    """A response with a string format, typed ``str`` as generated models type it."""

    name: str
    email: Annotated[str, Field(json_schema_extra={"format": "email"})]


OPERATION = Operation(
    operation_id="getContact",
    method="GET",
    path="/contact",
    tag="contacts",
    handler="get_contact",
    responses=(Response("200", "application/json", Contact),),
)


def test_a_response_breaking_a_string_format_is_refused_naming_the_field() -> None:
    """A handler's model passes pydantic with any text for an email; the check refuses it
    (a 500, logged with the field) as a request body's would be a 400."""
    encoder = ResponseEncoder(OPERATION, validate=True)
    assert encoder.encode(Contact(name="Bob", email="bob@b.test"))[0] == 200
    with capture_logs() as logs, pytest.raises(Internal, match="getContact returned a response"):
        encoder.encode(Contact(name="Bob", email="Bob <bob@b.test>"))
    [entry] = logs
    assert entry["event"] == "response does not match the document"
    assert entry["violations"][0].startswith("body.email: Input should be a valid email")


def test_a_response_pydantic_refuses_is_reported_as_before() -> None:
    """What pydantic refuses is still named (strict JSON types)."""
    encoder = ResponseEncoder(OPERATION, validate=True)
    with capture_logs() as logs, pytest.raises(Internal):
        encoder.encode({"name": 5, "email": "bob@b.test"})
    assert logs[0]["violations"][0].startswith("body.name: ")
