"""A corpus of OpenAPI documents in the style of large public API descriptions, each generated twice
(byte-identical), imported, type-checked with mypy --strict and served.

The documents are in tests/codegen/fidelity/openapi: operations without operationId, schema names
that are not PascalCase identifiers (camelCase, dashes, dots), operations without parameters or body,
oneOf/anyOf with discriminators, allOf inheritance, recursive schemas, additionalProperties,
`nullable` (3.0) and type arrays (3.1), every format with a range or a string form, webhooks and
callbacks, and an operation microlib cannot serve.
"""

from __future__ import annotations

import importlib
import inspect
import itertools
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from microlib.core.errors import FailedPrecondition, InvalidArgument
from microlib.http import OpenAPIApp
from tests.codegen.conftest import ROOT, codegen, tree

CORPUS = Path(__file__).resolve().parent / "fidelity" / "openapi"
DOCUMENTS = sorted(p.stem for p in CORPUS.glob("*.yaml"))
SHOWN = "tests/codegen/fidelity/openapi"


@dataclass
class Corpus:
    """Where the corpus was generated, and what each run said and wrote."""

    root: Path
    stderr: dict[str, str] = field(default_factory=dict)
    first: dict[str, dict[str, bytes]] = field(default_factory=dict)
    second: dict[str, dict[str, bytes]] = field(default_factory=dict)


def _generate(name: str, root: Path) -> tuple[str, dict[str, bytes]]:
    package = root / f"corpus_{name}"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(f'"""The {name} corpus document, generated."""\n')
    result = codegen(
        CORPUS / f"{name}.yaml",
        "--out",
        package / "gen",
        "--stubs",
        package / "handlers",
        "--package",
        f"corpus_{name}.gen",
    )
    assert result.returncode == 0, result.stderr
    return result.stderr, tree(package / "gen")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Corpus]:
    """Every document generated into an importable ``corpus_<name>`` package, and again elsewhere."""
    found = Corpus(tmp_path_factory.mktemp("corpus"))
    again = tmp_path_factory.mktemp("again")
    # Two codegen processes at a time, one a core: each is mostly an interpreter starting and the
    # model generator running, and they share nothing but the corpus they read.
    with ThreadPoolExecutor(2) as pool:
        firsts = pool.map(_generate, DOCUMENTS, itertools.repeat(found.root))
        seconds = pool.map(_generate, DOCUMENTS, itertools.repeat(again))
        for name, (stderr, first), (_, second) in zip(DOCUMENTS, firsts, seconds, strict=True):
            found.stderr[name], found.first[name], found.second[name] = stderr, first, second
    sys.path.insert(0, str(found.root))
    try:
        yield found
    finally:
        sys.path.remove(str(found.root))


@pytest.mark.parametrize("name", DOCUMENTS)
def test_generated_twice_byte_identical(corpus: Corpus, name: str) -> None:
    """Two runs in two folders write the same files, byte for byte."""
    assert corpus.first[name] == corpus.second[name]
    assert f"{name}/handlers.py" in corpus.first[name]


def test_operations_without_operation_id_are_named_and_reported(corpus: Corpus) -> None:
    """An operation without operationId is named `<method><Path words>`, a clash takes the next number
    (never a name the document gives), and each derived name is reported at its file and line."""
    stderr = corpus.stderr["naming"]
    for line, path, method, name in [
        (9, "/", "get", "getRoot"),
        (15, "/pets", "get", "getPets"),
        (38, "/pets", "post", "postPets"),
        (53, "/pets/{petId}", "get", "getPetsPetId"),
        (68, "/pets/petId", "get", "getPetsPetId2"),
    ]:
        assert (
            f"warning: {SHOWN}/naming.yaml:{line}: paths.{path}.{method}: no operationId: named {name!r}\n"
            in (stderr)
        )
    operations = importlib.import_module("corpus_naming.gen.naming.operations")
    assert [op.operation_id for op in operations.OPERATIONS] == [
        "getRoot",
        "getPets",
        "postPets",
        "getPetsPetId",
        "getPetsPetId2",
        "getPetsPetId3",
    ]


def test_schema_names_are_the_model_generators(corpus: Corpus) -> None:
    """Schemas named `pet.Pet`, `newPet`, `pet-kind`, `errors.v1.Problem-Detail` are the classes the
    model generator made of them; a synthetic model whose name a schema has takes another."""
    handlers = corpus.first["naming"]["naming/handlers.py"].decode()
    assert "kind: models.PetKind | None = None," in handlers
    assert "tags: list[models.PetKind] | None = None," in handlers
    assert "body: models.NewPet," in handlers
    assert ") -> models.PetPet | Reply:" in handlers
    assert ") -> models.GetPetsResponse2002 | Reply:" in handlers
    models = importlib.import_module("corpus_naming.gen.naming.models")
    assert models.GetPetsResponse2002.model_validate([{"id": 1, "name": "Rex"}]).root[0].name == "Rex"
    assert models.ErrorsV1ProblemDetail(title="x").title == "x"


def test_an_unsupported_operation_is_skipped_with_its_place(corpus: Corpus) -> None:
    """A parameter described by `content` is not served: that operation is left out with a warning
    naming file, line and reason, and the rest of the document is generated."""
    assert (
        f"warning: {SHOWN}/shapes30.yaml:9: paths./accounts.get: parameter 'filter' is described by "
        "`content`, not `schema`: operation skipped"
    ) in corpus.stderr["shapes30"]
    assert "named 'getAccounts'" not in corpus.stderr["shapes30"]
    operations = importlib.import_module("corpus_shapes30.gen.shapes30.operations")
    assert [op.operation_id for op in operations.OPERATIONS] == [
        "postAccounts",
        "getAccountsAccountIdFolders",
        "getStatus",
        "postVehicles",
    ]


def test_strict_refuses_what_would_be_skipped(tmp_path: Path) -> None:
    """With --strict, the skipped operation and the derived names fail the run; nothing is written."""
    result = codegen(CORPUS / "shapes30.yaml", "--out", tmp_path / "gen", "--strict")
    assert result.returncode != 0
    assert "parameter 'filter' is described by `content`" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "gen").exists()


def test_the_generated_code_and_stubs_pass_mypy_strict(corpus: Corpus, mypy_cache: Path) -> None:
    """Every generated package and its untouched stubs type-check with mypy --strict."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            f"--cache-dir={mypy_cache / 'pyproject'}",
            *(f"corpus_{name}" for name in DOCUMENTS),
        ],
        cwd=corpus.root,
        capture_output=True,
        text=True,
        timeout=600,
        env={"PYTHONPATH": f"{ROOT}:{corpus.root}", "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _app(name: str) -> OpenAPIApp:
    operations = importlib.import_module(f"corpus_{name}.gen.{name}.operations")
    handlers: dict[str, Any] = {}
    for op in operations.OPERATIONS:
        if op.tag not in handlers:
            module = importlib.import_module(f"corpus_{name}.handlers.{op.tag}")
            (cls,) = [
                c for _, c in inspect.getmembers(module, inspect.isclass) if c.__module__ == module.__name__
            ]
            handlers[op.tag] = cls()
    return OpenAPIApp(operations.OPERATIONS, handlers, title=operations.TITLE, spec_path=operations.SPEC_PATH)


@pytest.fixture
async def client(corpus: Corpus, request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    """The document named by the test's `name` parameter, served in process with its stubs."""
    transport = httpx.ASGITransport(app=_app(request.node.callspec.params["name"]))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


# (method, path, body or None, status): a status of 501 means validation passed and the stub ran.
CALLS: dict[str, list[tuple[str, str, Any, int]]] = {
    "naming": [
        ("GET", "/", None, 501),
        ("GET", "/pets?kind=cat&tags=dog", None, 501),
        ("GET", "/pets?kind=cow", None, 400),
        ("POST", "/pets", {"name": "Rex"}, 501),
        ("POST", "/pets", {"name": ""}, 400),
        ("GET", "/pets/petId", None, 501),
        ("GET", "/pets/7", None, 501),
    ],
    "shapes30": [
        ("GET", "/status", None, 501),
        ("GET", "/accounts", None, 405),
        ("POST", "/accounts", {"type": "person", "email": "a@b.example", "name": "A", "nickname": None}, 501),
        ("POST", "/accounts", {"type": "company", "email": "a@b.example", "vatId": "DE123456789"}, 501),
        ("POST", "/accounts", {"type": "company", "email": "a@b.example", "vatId": "nope"}, 400),
        ("POST", "/accounts", {"type": "robot", "email": "a@b.example"}, 400),
        ("GET", "/accounts/12/folders?depth=2", None, 501),
        ("POST", "/vehicles", {"kind": "car", "seats": 4}, 501),
        ("POST", "/vehicles", {"kind": "bike", "wheels": 2}, 501),
        ("POST", "/vehicles", {"kind": "car", "seats": "four"}, 400),
        ("GET", "/accounts/twelve/folders", None, 400),
    ],
    "shapes31": [
        ("GET", "/ping", None, 501),
        ("POST", "/shapes", {"kind": "circle", "radius": 2, "label": None, "tags": {"a": "b"}}, 501),
        ("POST", "/shapes", {"kind": "circle", "radius": 0}, 400),
        ("POST", "/shapes", {"kind": "rectangle", "width": 1}, 400),
        ("GET", "/shapes?limit=5", None, 501),
        ("GET", "/shapes?limit=500", None, 400),
        ("GET", "/trees/6a4c6b4e-3b1c-4c2d-9d47-8f5b2f3f4a11", None, 501),
        ("POST", "/events", {"kind": "deleted", "id": "e1", "reason": None}, 501),
        ("POST", "/events", None, 501),
    ],
    "hooks": [
        ("POST", "/subscriptions", {"callbackUrl": "https://subscriber.example/cb"}, 501),
        ("POST", "/subscriptions", {}, 400),
    ],
    "formats": [
        ("GET", "/slots/2024-02-29/7", None, 501),
        ("GET", "/slots/2024-02-29/seven", None, 400),
        ("POST", "/bookings", {"day": "2024-02-29"}, 501),
    ],
}


@pytest.mark.parametrize("name", DOCUMENTS)
async def test_served(client: httpx.AsyncClient, name: str) -> None:
    """The generated operations and the stubs serve: the document at /openapi.json, each request
    validated against the contract (400) before it reaches the stub (501 Unimplemented)."""
    assert (await client.get("/openapi.json")).status_code == 200
    for method, path, body, status in CALLS[name]:
        r = (
            await client.request(method, path, json=body)
            if body is not None
            else await client.request(method, path)
        )
        assert r.status_code == status, (method, path, body, r.text)


@pytest.mark.parametrize("name", ["shapes30"])
async def test_a_tag_the_union_does_not_know_is_named_with_the_tags_it_knows(
    client: httpx.AsyncClient, name: str
) -> None:
    """The tags of a discriminator typed by an enum are listed as a client writes them, not as the
    enum members the models hold (`<VehicleKind.CAR: 'car'>`)."""
    refused = await client.post("/vehicles", json={"kind": "boat"})
    assert refused.status_code == 400
    [violation] = refused.json()["violations"]
    assert violation["field"] == "body"
    assert violation["description"] == (
        "Input tag 'boat' found using 'kind' does not match any of the expected tags: 'car', 'bike' "
        "(received {'kind': 'boat'})"
    )


_SLOT = "/slots/2024-02-29/7"
_BOOKING = {
    "day": "2024-02-29",
    "at": "2024-02-29T10:00:00+01:00",
    "starts": "10:00:00Z",
    "length": "P1DT2H",
    "contact": "a@b.example",
    "site": "https://b.example/x",
    "ref": "6a4c6b4e-3b1c-4c2d-9d47-8f5b2f3f4a11",
    "from4": "192.0.2.1",
    "from6": "2001:db8::1",
    "seats": 2147483647,
    "total": 9223372036854775807,
    "weight": 3.4e38,
    "unsigned": 4294967295,
    "dates": ["2024-01-01"],
    "byName": {"a": "2024-01-01T00:00:00Z"},
    "maybe": None,
}
_BAD_BODIES = {
    "day": ["0", "86400", "2024-02-30", "2024-02-29T00:00:00Z", "20240229"],
    "at": ["0", "1.5", "2024-02-29", "2024-02-29T10:00:00", "2024-02-29 10:00:00Z"],
    "starts": ["10:00", "25:00:00Z", "P1D"],
    "length": ["12:00:00", "P", "1 day"],
    "contact": ["not-an-email", "Bob <bob@b.example>"],
    "site": ["not a uri"],
    "ref": ["12345678123456781234567812345678", "{6a4c6b4e-3b1c-4c2d-9d47-8f5b2f3f4a11}"],
    "from4": ["01.2.3.4", "2001:db8::1"],
    "from6": ["192.0.2.1", "2001:db8:::1"],
    "seats": [2147483648],
    "weight": [1e39, -1e39],
    "unsigned": [-1, 4294967296],
    "total": [9223372036854775808],
    "dates": [["2024-01-01", "0"]],
    "byName": [{"a": "2024-01-01"}],
    "maybe": ["86400"],
}


@pytest.mark.parametrize("name", ["formats"])
async def test_formats_are_enforced_in_every_location(client: httpx.AsyncClient, name: str) -> None:
    """The numeric range a format implies (int32, int64, uint32, float) and every string format of
    the JSON Schema dialect are enforced alike in path, query, header, cookie and body: a value
    pydantic would convert (a date from "86400", a UUID without dashes) is a 400 naming the field."""
    assert (await client.post("/bookings", json=_BOOKING)).status_code == 501
    for key, values in _BAD_BODIES.items():
        for value in values:
            r = await client.post("/bookings", json={**_BOOKING, key: value})
            assert r.status_code == 400, (key, value, r.text)
            assert r.json()["violations"][0]["field"].startswith(f"body.{key}"), r.text
    good = await client.get(
        _SLOT + "?at=2024-02-29T10:00:00Z&count=-2147483648&ratio=-3.4e38&since=2024-01-01",
        headers={"X-Trace-Id": "6a4c6b4e-3b1c-4c2d-9d47-8f5b2f3f4a11", "Cookie": "zone=10:00:00+02:00"},
    )
    assert good.status_code == 501, good.text
    for url, headers, where in [
        ("/slots/0/7", {}, "path.day"),
        ("/slots/86400/7", {}, "path.day"),
        ("/slots/2024-02-29/9223372036854775808", {}, "path.id"),
        (_SLOT + "?count=-112544437138", {}, "query.count"),
        (_SLOT + "?ratio=1e39", {}, "query.ratio"),
        (_SLOT + "?at=0", {}, "query.at"),
        (_SLOT + "?at=2024-02-29", {}, "query.at"),
        (_SLOT + "?since=2024-01-01&since=86400", {}, "query.since[1]"),
        (_SLOT, {"X-Trace-Id": "12345678123456781234567812345678"}, "header.X-Trace-Id"),
        (_SLOT, {"Cookie": "zone=0"}, "cookie.zone"),
    ]:
        r = await client.get(url, headers=headers)
        assert r.status_code == 400, (url, headers, r.text)
        assert r.json()["violations"][0]["field"].startswith(where), r.text
    # What pydantic refuses and a broken format, in one answer.
    both = await client.post("/bookings", json={**_BOOKING, "seats": 0, "contact": "Bob <bob@b.example>"})
    assert {v["field"] for v in both.json()["violations"]} == {"body.seats", "body.contact"}, both.text
    both = await client.get(_SLOT + "?count=-112544437138&at=0")
    assert {v["field"] for v in both.json()["violations"]} == {"query.count", "query.at"}, both.text


async def test_webhooks_and_callbacks_are_sent_as_the_document_says(corpus: Corpus) -> None:
    """Each webhook and callback operation has a typed sender (senders.py, not a handler to serve):
    the body is validated before anything is sent, the subscriber gets JSON, and an answer the
    operation does not declare is an error naming it."""
    senders = importlib.import_module("corpus_hooks.gen.hooks.senders")
    models = importlib.import_module("corpus_hooks.gen.hooks.models")
    operations = importlib.import_module("corpus_hooks.gen.hooks.operations")
    assert [op.operation_id for op in operations.OPERATIONS] == ["subscribe"]
    received: list[tuple[str, Any]] = []

    async def subscriber(request: Request) -> Response:
        received.append((request.url.path, await request.json()))
        status = {"/pets": 200, "/gone": 202, "/events": 204}.get(request.url.path, 500)
        return Response(status_code=status)

    app = Starlette(
        routes=[Route(p, subscriber, methods=["POST"]) for p in ("/pets", "/gone", "/events", "/bad")]
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sub") as client:
        send = senders.Senders(client)
        assert (
            await send.new_pet("http://sub/pets", models.Pet(name="Rex", born="2024-02-29"))
        ).status_code == 200
        await send.post_pet_gone("http://sub/gone", models.PostPetGoneBody(id=7))
        event = models.Event(kind="created", at="2024-02-29T10:00:00Z")
        assert (await send.event_happened("http://sub/events", event)).status_code == 204
        with pytest.raises(InvalidArgument) as invalid:
            await send.new_pet("http://sub/pets", models.Pet.model_construct(name=""))
        assert [v.field for v in invalid.value.violations] == ["body.name"]
        with pytest.raises(FailedPrecondition, match="answered 500"):
            await send.event_happened("http://sub/bad", event)
    assert received[:3] == [
        ("/pets", {"name": "Rex", "born": "2024-02-29"}),
        ("/gone", {"id": 7}),
        ("/events", {"kind": "created", "at": "2024-02-29T10:00:00Z"}),
    ]
