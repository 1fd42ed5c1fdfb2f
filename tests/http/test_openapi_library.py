"""OpenAPIApp on the Library document (OpenAPI 3.0): matrix paths, cookies, anyOf, nullable."""

from __future__ import annotations

import datetime
import uuid

from tests.http.conftest import LibraryHarness
from tests.http.gen.library30 import models

BOOK = {
    "isbn": "9780000000001",
    "title": "Dune",
    "authors": [{"name": "Frank Herbert", "born": None}],
    "media": {"type": "paper", "pages": 412},
    "published": "1965-08-01",
}
LOAN = "5f0c4a4e-0000-4000-8000-000000000001"


async def test_add_search_and_get(library: LibraryHarness) -> None:
    """A book is stored, found by a required query parameter and read back by path."""
    assert (await library.client.post("/books", json=BOOK)).status_code == 201
    found = await library.client.get(
        "/books?q=du&genre=fiction&year=1965,1966&available=true", headers={"Accept-Language": "fr"}
    )
    assert found.status_code == 200
    assert [b["isbn"] for b in found.json()] == [BOOK["isbn"]]
    assert library.books.last == {
        "q": "du",
        "genre": models.Genre.FICTION,
        "year": [1965, 1966],
        "available": True,
        "accept_language": "fr",
    }
    assert (await library.client.get(f"/books/{BOOK['isbn']}?fields=title&fields=media")).status_code == 200


async def test_required_query_and_enum_header(library: LibraryHarness) -> None:
    """A missing required query parameter and a header outside its enum are both named."""
    r = await library.client.get("/books?available=maybe", headers={"Accept-Language": "es"})
    fields = {v["field"]: v["rule"] for v in r.json()["violations"]}
    assert fields == {"query.q": "missing", "query.available": "type", "header.Accept-Language": "enum"}


async def test_nullable_3_0(library: LibraryHarness) -> None:
    """``nullable: true`` accepts null; a field without it rejects null."""
    assert (await library.client.post("/books", json={**BOOK, "subtitle": None})).status_code == 201
    r = await library.client.post("/books", json={**BOOK, "genre": None})
    assert r.status_code == 400
    assert r.json()["violations"][0]["field"] == "body.genre"


async def test_discriminator_by_enum_property(library: LibraryHarness) -> None:
    """A 3.0 discriminator on an enum property selects the oneOf member."""
    ebook = {**BOOK, "media": {"type": "ebook", "sizeMb": -1}}
    r = await library.client.post("/books", json=ebook)
    assert r.json()["violations"][0]["field"] == "body.media.sizeMb"


async def test_matrix_path_cookie_and_any_of_body(library: LibraryHarness) -> None:
    """A matrix-style exploded object in the path, a required cookie and an anyOf body."""
    library.client.cookies.set("member", "42")
    r = await library.client.put(f"/loans/{LOAN};days=14;express=true", json={"code": 7})
    assert r.status_code == 200, r.text
    assert r.json() == {"id": LOAN, "isbn": "9780000000001", "due": "2026-01-15", "renewals": 1}
    assert library.loans.last["loan_id"] == uuid.UUID(LOAN)
    assert library.loans.last["matrix"] == models.RenewLoanMatrix(days=14, express=True)
    assert library.loans.last["member"] == 42
    assert library.loans.last["body"] == models.Renewal(models.Renewal2(code=7))
    assert datetime.date.fromisoformat(r.json()["due"])


async def test_matrix_and_cookie_errors(library: LibraryHarness) -> None:
    """Bad matrix values, a bad uuid and a missing cookie are each named."""
    r = await library.client.put("/loans/not-a-uuid;days=99", json={"reason": "ok!"})
    fields = {v["field"]: v["rule"] for v in r.json()["violations"]}
    assert fields == {
        "path.loanId": "uuid_parsing",
        "path.matrix.days": "less_than_equal",
        "cookie.member": "missing",
    }


async def test_optional_body_may_be_absent(library: LibraryHarness) -> None:
    """A request body that is not required may be left out."""
    library.client.cookies.set("member", "1")
    r = await library.client.put(f"/loans/{LOAN};days=1")
    assert r.status_code == 200
    assert library.loans.last["body"] is None
