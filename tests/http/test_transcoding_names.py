"""Errors on transcoded routes name every field as the REST client wrote it, and carry a correlation id.

Validation (REQUIRED here) names fields by proto name; the client wrote JSON
names, read errors already use them, and an unreadable body is `body`.
"""

from __future__ import annotations

from typing import Any

import pytest

from microlib.testing import TestService
from tests.http.test_transcoding_docs import _service

_BOOK = "/v1/shelves/s1/books/b1"
_JSON = {"content-type": "application/json"}


async def _violations(
    overrides: list[str], method: str, url: str, body: bytes | None
) -> list[dict[str, Any]]:
    async with TestService(_service(), overrides=overrides) as t:
        r = await t.http.request(method, url, content=body, headers=_JSON)
    assert r.status_code == 400, r.text
    problem = r.json()
    assert problem["correlation_id"], problem
    fields: list[dict[str, Any]] = problem["violations"]
    return fields


@pytest.mark.parametrize(
    ("method", "url", "body", "fields"),
    [
        # REQUIRED fields left out: validation said `update_mask`. (No body: a body's fields
        # would make the mask, as grpc-gateway makes it.)
        ("PATCH", _BOOK, b"", ["updateMask", "book.title"]),
        # A read error, which already used JSON names.
        ("PATCH", _BOOK + "?updateMask=title", b'{"title": "Emma", "priceCents": "x"}', ["book.priceCents"]),
        ("GET", "/v1/books:search?minRating=high", None, ["minRating"]),
        # The body itself: it was named "".
        ("POST", "/v1/shelves/s1/books", b"{bad", ["body"]),
        ("POST", "/v1/shelves/s1/books", b"[1]", ["body"]),
    ],
)
async def test_fields_are_named_as_the_client_wrote_them(
    method: str, url: str, body: bytes | None, fields: list[str]
) -> None:
    """Every error names JSON paths (or `body`) and has a correlation_id, read errors included."""
    assert [v["field"] for v in await _violations([], method, url, body)] == fields


async def test_original_names_keeps_proto_names() -> None:
    """With transcoding.original_names the server speaks proto names, and so do its errors."""
    violations = await _violations(["transcoding.original_names=true"], "PATCH", _BOOK, b"")
    assert [v["field"] for v in violations] == ["update_mask", "book.title"]


async def test_a_singular_query_field_given_twice_is_refused() -> None:
    """As grpc-gateway: `format=A&format=B` for a singular field is a 400 naming it, not the last value."""
    violations = await _violations([], "GET", "/v1/books:search?format=FORMAT_EBOOK&format=bogus", None)
    assert [(v["field"], v["description"]) for v in violations] == [("format", "takes one value, got 2")]
