"""A service that includes a servicer with HTTP bindings serves its generated OpenAPI document."""

from __future__ import annotations

import json

from microlib import Service
from microlib.testing import TestService
from tests.http.rpc.generated import OUT
from tests.http.rpc.service import library_service


def _service() -> Service:
    return library_service()


async def test_the_generated_document_and_its_page_are_served_by_default() -> None:
    """/openapi.json is the generated document whose servers entry points at the root, where
    the transcoded routes are; /openapi.yaml and /docs too, with no DocsApp mounted by hand."""
    async with TestService(_service()) as t:
        document = (await t.http.get("/openapi.json")).json()
        page = await t.http.get("/docs")
        yaml_text = (await t.http.get("/openapi.yaml")).text
        asset = await t.http.get("/docs/static/swagger-ui.css")
    written = json.loads((OUT / "openapi.json").read_text())
    assert document == {**written, "servers": [{"url": "/"}]}
    assert page.status_code == 200
    assert '"/openapi.json"' in page.text
    assert "openapi: 3.1" in yaml_text
    assert asset.status_code == 200


async def test_the_documents_path_is_configurable() -> None:
    """transcoding.docs_prefix moves the document and page; the servers entry still names the root."""
    async with TestService(_service(), overrides=["transcoding.docs_prefix=/rest"]) as t:
        moved = await t.http.get("/rest/openapi.json")
        page = await t.http.get("/rest/docs")
        root = await t.http.get("/openapi.json")
    assert moved.json()["servers"] == [{"url": "/"}]
    assert '"/rest/openapi.json"' in page.text
    assert root.status_code == 404


async def test_the_documents_can_be_turned_off() -> None:
    """transcoding.docs=false serves neither the document nor the page."""
    async with TestService(_service(), overrides=["transcoding.docs=false"]) as t:
        assert (await t.http.get("/openapi.json")).status_code == 404
        assert (await t.http.get("/docs")).status_code == 404
