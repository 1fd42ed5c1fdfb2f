"""A service with AsyncAPI consumers or publishers serves their documents over HTTP."""

from __future__ import annotations

import uuid
from typing import Any

import yaml

from microlib import Service
from microlib.messaging import MessageContext, register_document
from microlib.testing import TestService
from tests.messaging.contract import orders, stock


def _consuming() -> tuple[Service, Any]:
    contract = orders(f"t{uuid.uuid4().hex[:8]}")

    async def on_order(self: Any, payload: Any, ctx: MessageContext) -> None:
        """Nothing to do."""

    service = Service("stock")
    service.include(type("Stock", (contract.consumer,), {"on_order": on_order})())
    return service, contract.application.document


async def test_a_consumers_document_is_served_with_its_page() -> None:
    """By default /asyncapi.json is the consumer's document, /asyncapi.yaml the same
    in YAML, /asyncapi the page, and its assets are served locally."""
    service, document = _consuming()
    async with TestService(service) as t:
        assert (await t.http.get("/asyncapi.json")).json() == document
        assert yaml.safe_load((await t.http.get("/asyncapi.yaml")).text) == document
        page = await t.http.get("/asyncapi")
        assert page.status_code == 200
        assert "/asyncapi/static/" in page.text
        asset = page.text.split('src="/asyncapi/static/')[1].split('"')[0]
        assert (await t.http.get(f"/asyncapi/static/{asset}")).status_code == 200


async def test_the_prefix_moves_the_documents_and_docs_false_removes_them() -> None:
    """messaging.docs_prefix serves them under that path instead; messaging.docs=false not at all."""
    service, document = _consuming()
    async with TestService(service, overrides=["messaging.docs_prefix=/events"]) as t:
        assert (await t.http.get("/events/asyncapi.json")).json() == document
        assert (await t.http.get("/asyncapi.json")).status_code == 404
    service, _ = _consuming()
    async with TestService(service, overrides=["messaging.docs=false"]) as t:
        assert (await t.http.get("/asyncapi.json")).status_code == 404


async def test_a_publishers_document_is_served_and_several_get_a_path_each() -> None:
    """A generated publisher registers its document (register_document), so a service
    that only publishes serves it too; with two documents each is under its slugged title."""
    service, consumed = _consuming()
    requests = stock(f"t{uuid.uuid4().hex[:8]}")
    register_document(service.publisher, requests.application)
    register_document(object(), requests.application)  # not a publisher that keeps documents: ignored
    async with TestService(service) as t:
        assert (await t.http.get("/orders/asyncapi.json")).json() == consumed
        assert (await t.http.get("/stock/asyncapi.json")).json() == requests.application.document
        assert (await t.http.get("/asyncapi.json")).status_code == 404
    only = Service("shop")
    register_document(only.publisher, requests.application)
    async with TestService(only) as t:
        assert (await t.http.get("/asyncapi.json")).json() == requests.application.document
