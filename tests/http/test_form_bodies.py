"""Form bodies (`application/x-www-form-urlencoded`) read and validated as the document declares.

OpenAPI's default encoding: each field `style: form`, exploded (an array is its name repeated), cast
by its declared type as a query parameter is; an object field is JSON text. A bad field is a 400
naming `body.<field>`, as in a JSON body.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from microlib.http import OpenAPIApp
from tests.http.generated import generated_package

SPEC = Path(__file__).parent / "specs" / "forms" / "openapi.yaml"


@pytest.fixture(scope="module")
def operations(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with generated_package(SPEC, tmp_path_factory.mktemp("forms"), "forms_gen"):
        yield importlib.import_module("forms_gen.operations")


class Handlers:
    async def create_token(self, *, body: Any) -> dict[str, Any]:
        return {"type": type(body).__name__, **body.model_dump(mode="json", exclude_unset=True)}

    async def add_note(self, *, body: Any = None) -> dict[str, Any]:
        return {"body": None if body is None else body.model_dump(mode="json")}

    async def subscribe_device(self, *, body: Any) -> dict[str, Any]:
        return {"type": type(body.root).__name__, **body.model_dump(mode="json", exclude_unset=True)}

    async def create_signed_token(self, *, body: Any) -> dict[str, Any]:
        return {"type": type(body).__name__, **body.model_dump(mode="json", exclude_unset=True)}


@pytest.fixture
async def client(operations: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = OpenAPIApp(operations.OPERATIONS, Handlers(), title="forms", docs=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        yield c


def _form(text: str) -> dict[str, Any]:
    return {"content": text.encode(), "headers": {"content-type": "application/x-www-form-urlencoded"}}


def _violations(response: httpx.Response) -> list[tuple[str, str]]:
    assert response.status_code == 400, response.text
    return [(v["field"], v["rule"]) for v in response.json()["violations"]]


def test_the_handler_is_typed_with_the_forms_model(operations: Any) -> None:
    handlers = importlib.import_module("forms_gen.handlers")
    annotation = handlers.DefaultApi.create_token.__annotations__["body"]
    assert annotation == "models.TokenRequest"
    (create,) = [op for op in operations.OPERATIONS if op.operation_id == "createToken"]
    assert create.body.form["scope"] == ("array", "string")
    assert create.body.form["device"] == ("object", "object")


async def test_fields_are_cast_by_their_declared_types(client: httpx.AsyncClient) -> None:
    """Repeated names are an array; integers, numbers, booleans cast; an object field is JSON;
    percent-encoded UTF-8 and `+` decode; an empty text field is a value."""
    sent = (
        "grant_type=password&scope=read&scope=write+all&ttl=60&remember=true&ratio=0.5"
        "&since=2024-02-29&note=&device=%7B%22id%22%3A%22%C3%A9t%C3%A9%22%7D"
    )
    response = await client.post("/tokens", **_form(sent))
    assert response.status_code == 200, response.text
    assert response.json() == {
        "type": "TokenRequest",
        "grant_type": "password",
        "scope": ["read", "write all"],
        "ttl": 60,
        "remember": True,
        "ratio": 0.5,
        "since": "2024-02-29",
        "note": "",
        "device": {"id": "été"},
    }


async def test_a_json_body_of_the_same_operation_is_read_as_json(client: httpx.AsyncClient) -> None:
    response = await client.post("/tokens", json={"grant_type": "client_credentials", "scope": []})
    assert response.json() == {"type": "TokenRequest", "grant_type": "client_credentials", "scope": []}


@pytest.mark.parametrize(
    ("sent", "violations"),
    [
        # Missing required fields, each named.
        ("ttl=5", [("body.grant_type", "missing"), ("body.scope", "missing")]),
        # A value that cannot be cast is reported once, by the cast.
        ("grant_type=password&scope=a&ttl=soon", [("body.ttl", "type")]),
        ("grant_type=password&scope=a&remember=perhaps", [("body.remember", "type")]),
        ("grant_type=password&scope=a&ttl=", [("body.ttl", "type")]),
        # The schema's own rules: enum, minimum.
        ("grant_type=magic&scope=a", [("body.grant_type", "enum")]),
        ("grant_type=password&scope=a&ttl=0", [("body.ttl", "greater_than_equal")]),
        # A format checked as received, as in a JSON body.
        ("grant_type=password&scope=a&since=86400", [("body.since", "format.date")]),
        # An object field that is not JSON, or JSON without its required property.
        ("grant_type=password&scope=a&device=phone", [("body.device", "json")]),
        ("grant_type=password&scope=a&device=%7B%7D", [("body.device.id", "missing")]),
        # additionalProperties: false refuses a field the schema does not name.
        ("grant_type=password&scope=a&admin=1", [("body.admin", "extra_forbidden")]),
    ],
)
async def test_a_bad_form_is_a_400_naming_each_field(
    client: httpx.AsyncClient, sent: str, violations: list[tuple[str, str]]
) -> None:
    assert _violations(await client.post("/tokens", **_form(sent))) == violations


async def test_an_optional_form_body_may_be_absent(client: httpx.AsyncClient) -> None:
    assert (await client.post("/notes")).json() == {"body": None}
    assert (await client.post("/notes", **_form("text=hi%21"))).json() == {"body": {"text": "hi!"}}
    # A required body still is: no form at all.
    assert _violations(await client.post("/tokens", **_form(""))) == [("body", "required")]


async def test_a_form_of_one_of_several_objects_is_read_as_the_one_it_is(client: httpx.AsyncClient) -> None:
    """A form whose schema is a oneOf of objects (or an allOf) reached the handler as raw bytes,
    unvalidated, though its model was generated: its fields are read and cast as an object's are."""
    by_device = await client.post("/subscriptions", **_form("channel=news&deviceId=d1"))
    assert by_device.json() == {"type": "SubscribeDeviceForm1", "channel": "news", "deviceId": "d1"}
    by_client = await client.post("/subscriptions", **_form("clientId=c1&ttl=30"))
    assert by_client.json() == {"type": "SubscribeDeviceForm2", "clientId": "c1", "ttl": 30}
    assert _violations(await client.post("/subscriptions", **_form("clientId=c1&ttl=soon"))) == [
        ("body.ttl", "type")
    ]
    signed = await client.post("/tokens/signed", **_form("nonce=n1&timestamp=17&mac=abc"))
    assert signed.json() == {"type": "CreateSignedTokenForm", "nonce": "n1", "timestamp": 17, "mac": "abc"}
    assert _violations(await client.post("/tokens/signed", **_form("nonce=n1"))) == [("body.mac", "missing")]
