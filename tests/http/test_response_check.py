"""``validate_responses``: a response is held to its schema by the rules a request is."""

from __future__ import annotations

from typing import Annotated

import httpx
import pytest
from pydantic import BaseModel, Field
from structlog.testing import capture_logs

from microlib.core.errors import Internal
from microlib.http._encoder import ResponseEncoder
from microlib.http.openapi import Operation, Reply, Response
from tests.http.apps.store import Pets
from tests.http.conftest import store_app
from tests.http.gen.store31 import models


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


def test_a_plain_value_is_held_to_its_schema_with_validate_responses_off() -> None:
    """A model is the document's by construction; a dict is not: one breaking the schema went
    out as a 200 the document does not describe. It is the 500 FastAPI answers a response that
    breaks its response_model, logged with the field."""
    encoder = ResponseEncoder(OPERATION, validate=False)
    assert encoder.encode({"name": "Bob", "email": "bob@b.test"})[0] == 200
    with capture_logs() as logs, pytest.raises(Internal, match="getContact returned a response"):
        encoder.encode({"nme": "Bob", "email": "bob@b.test"})
    assert logs[0]["event"] == "response does not match the document"
    assert logs[0]["violations"][0].startswith("body.name: ")


def test_a_model_is_not_checked_again_with_validate_responses_off() -> None:
    """What only validate_responses checks (a string format pydantic lets through) stays its."""
    encoder = ResponseEncoder(OPERATION, validate=False)
    assert encoder.encode(Contact(name="Bob", email="Bob <bob@b.test>"))[0] == 200


class PlainPets(Pets):
    """Answers get_pet with a dict missing the pet's id."""

    async def get_pet(self, *, pet_id: int) -> models.Pet | Reply:
        return {"name": "Rex"}  # type: ignore[return-value]


async def test_a_handler_returning_a_dict_the_document_does_not_describe_is_a_500() -> None:
    """Through the served app, as ``service.include`` builds it (validate_responses off)."""
    app = store_app(validate_responses=False, pets=PlainPets())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        with capture_logs() as logs:
            response = await client.get("/pets/1")
    assert response.status_code == 500
    assert "Rex" not in response.text
    assert any(entry["event"] == "response does not match the document" for entry in logs)
