"""Hostile requests to the bookshop example served by `microlib run` (uvicorn): what reaches
the doors over a real socket, as a client sends it."""

from __future__ import annotations

import gzip
from collections.abc import Iterator

import httpx
import pytest

from tests.scale.replica import Replica

ORDER = b'{"customer": "ann@example.com", "lines": [{"book_id": "1", "quantity": 2}]}'
BOOK = b'{"title": "Ariel", "author": "Sylvia Plath"}'


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The example on `microlib run`, its log-level endpoint on; yields its base URL."""
    replica = Replica(tmp_path_factory.mktemp("served") / "shop.log", "logging.admin.enabled=true")
    try:
        replica.start().wait_ready()
        yield replica.url
    finally:
        replica.kill()


@pytest.mark.parametrize(
    ("path", "method", "body"),
    [
        ("/api/orders", "POST", ORDER),
        ("/v1/shelves/poetry/books", "POST", BOOK),
        ("/admin/loggers", "PUT", b'{"levels": {"root": "INFO"}}'),
    ],
    ids=["openapi", "transcoded", "log-levels"],
)
@pytest.mark.parametrize("coding", ["gzip", "br", "identity, gzip"])
def test_a_body_in_a_content_coding_is_415_saying_what_is_accepted(
    shop: str, path: str, method: str, body: bytes, coding: str
) -> None:
    """A compressed body is refused as a coding the service does not decode (RFC 9110 15.5.16),
    with ``Accept-Encoding: identity``; it was read as malformed JSON (400)."""
    sent = gzip.compress(body) if "gzip" in coding else body
    headers = {"content-type": "application/json", "content-encoding": coding}
    response = httpx.request(method, shop + path, content=sent, headers=headers)
    assert response.status_code == 415, response.text
    assert response.headers["accept-encoding"] == "identity"
    problem = response.json()
    assert problem["reason"] == "UNSUPPORTED_CONTENT_ENCODING"
    assert problem["detail"] == (
        f"unsupported content coding {coding!r}: send the body as it is, without Content-Encoding"
    )
    assert problem["violations"][0]["field"] == "header.Content-Encoding"


@pytest.mark.parametrize(
    ("path", "body"),
    [("/api/orders", ORDER), ("/v1/shelves/poetry/books", BOOK)],
    ids=["openapi", "transcoded"],
)
def test_identity_is_no_coding(shop: str, path: str, body: bytes) -> None:
    """``Content-Encoding: identity`` is the body as it is: read as any other."""
    headers = {"content-type": "application/json", "content-encoding": "identity"}
    response = httpx.post(shop + path, content=body, headers=headers)
    assert response.status_code in (200, 201), response.text


def _malformed(escape: str, segment: str) -> str:
    return f"malformed percent-escape {escape!r} in path segment {segment!r}"


def _not_utf8(segment: str) -> str:
    return f"percent-escapes in path segment {segment!r} are not UTF-8"


@pytest.mark.parametrize(
    ("path", "field", "description"),
    [
        ("/v1/books/%ZZ", "id", _malformed("%ZZ", "%ZZ")),
        ("/v1/books/b%4", "id", _malformed("%4", "b%4")),
        ("/v1/shelves/fic%tion/books", "shelf", _malformed("%ti", "fic%tion")),
        ("/api/orders/o-1%G1", "path.orderId", _malformed("%G1", "o-1%G1")),
        ("/api/orders/%", "path.orderId", _malformed("%", "%")),
        ("/v1/books/%FF", "id", _not_utf8("%FF")),
        ("/v1/shelves/fic%C3tion/books", "shelf", _not_utf8("fic%C3tion")),
        ("/api/orders/o-%E2%82", "path.orderId", _not_utf8("o-%E2%82")),
    ],
    ids=[
        "transcoded",
        "transcoded-truncated",
        "transcoded-post",
        "openapi",
        "openapi-lone",
        "transcoded-not-utf8",
        "transcoded-post-not-utf8",
        "openapi-not-utf8",
    ],
)
def test_a_malformed_percent_escape_in_a_path_value_is_400_naming_the_segment(
    shop: str, path: str, field: str, description: str
) -> None:
    """``%`` not followed by two hex digits is refused naming the value's field and segment, as
    grpc-gateway refuses a ``malformed path escape``; it reached the handler as literal text
    (``book '%ZZ' does not exist``). Escapes that are no UTF-8 (``%FF``) were decoded to U+FFFD
    and reached the handler too (a 404 for book U+FFFD, a book created on shelf `fic\ufffdtion`)."""
    method = "POST" if path.endswith("/books") else "GET"
    response = httpx.request(method, shop + path, content=BOOK, headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    (violation,) = response.json()["violations"]
    assert violation == {"field": field, "description": description, "rule": "percent_escape"}


def test_the_bare_prefix_of_the_orders_document_is_its_404(shop: str) -> None:
    """``/api`` is answered by the orders document (its 404, in the shape it declares), as
    ``/api/`` is; the router answered it with its own (``no route matches GET /api``)."""
    for path in ("/api", "/api/"):
        response = httpx.get(shop + path)
        assert response.status_code == 404
        assert response.json()["detail"] == f"no operation matches GET {path}"
