"""End to end over HTTP: an OpenAPI document's securitySchemes and per-operation security enforced.

The document (``specs/notes.yaml``) is generated into a package in a fixture;
``OpenAPIApp`` turns each operation's ``security`` into a ``SecurityRequirement``
(oauth2 lists scopes, http bearer lists roles) and the real Service's
authn/authz interceptors enforce it, behind the local OIDC issuer.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from microlib.core.context import current_context
from microlib.core.errors import InvalidArgument
from microlib.http.openapi import OpenAPIApp, Operation, Reply
from microlib.security.feature import install
from microlib.service import Service
from microlib.testing import TestService
from microlib_codegen.openapi import OpenAPIError, generate

from .conftest import OidcIssuer

SPEC = Path(__file__).resolve().parent / "specs/notes.yaml"


@pytest.fixture(scope="module")
def ops(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """The generated ``operations`` module of the notes document."""
    out = tmp_path_factory.mktemp("openapi")
    generate(SPEC, out_dir=out / "notesgen", gen_package="notesgen")
    sys.path.insert(0, str(out))
    return importlib.import_module("notesgen.operations")


def notes_service(ops: ModuleType) -> Service:
    """A service mounting the notes API under /api with security installed."""
    models = ops.models

    class Notes:
        def caller(self) -> object:
            ctx = current_context()
            assert ctx is not None
            principal = ctx.principal
            return models.Caller(
                authenticated=principal is not None,
                subject=principal.subject if principal else "",
                scopes=sorted(principal.scopes) if principal else [],
            )

        async def list_notes(self) -> object:
            return self.caller()

        async def delete_note(self, *, id: str) -> Reply:
            return Reply(None, status=204)

        async def status(self) -> object:
            return self.caller()

    service = Service("notes")
    install(service)
    service.http.mount(
        "/api",
        OpenAPIApp(ops.OPERATIONS, Notes(), chain=service.chain, title=ops.TITLE, docs=False, prefix="/api"),
    )
    return service


def config(oidc: OidcIssuer) -> list[str]:
    """The service's settings as --set overrides: the fixture issuer."""
    issuer = {"issuer": oidc.issuer, "discovery_url": oidc.discovery_url, "audiences": [oidc.audience]}
    return [f"security.issuers={json.dumps([issuer])}", "security.realm=notes"]


def bearer(token: str) -> dict[str, str]:
    """The Authorization header carrying ``token``."""
    return {"Authorization": f"Bearer {token}"}


async def test_no_token_is_401_with_challenge(oidc: OidcIssuer, ops: ModuleType) -> None:
    """An operation under the document's default security refuses an anonymous call: 401, Bearer challenge."""
    async with TestService(notes_service(ops), overrides=config(oidc)) as t:
        response = await t.http.get("/api/notes")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="notes"'
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_wrong_scope_is_403(oidc: OidcIssuer, ops: ModuleType) -> None:
    """A token without the oauth2 scope the operation lists is 403 insufficient_scope."""
    async with TestService(notes_service(ops), overrides=config(oidc)) as t:
        response = await t.http.get("/api/notes", headers=bearer(oidc.mint(scope="notes.write")))
    assert response.status_code == 403
    assert "notes.read" in response.json()["detail"]
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


async def test_right_scope_reaches_handler(oidc: OidcIssuer, ops: ModuleType) -> None:
    """With the listed scope the call succeeds and the handler sees the principal."""
    async with TestService(notes_service(ops), overrides=config(oidc)) as t:
        response = await t.http.get("/api/notes", headers=bearer(oidc.mint(scope="notes.read")))
    assert response.status_code == 200
    assert response.json() == {"authenticated": True, "subject": "user-1", "scopes": ["notes.read"]}


async def test_alternatives_scope_or_role(oidc: OidcIssuer, ops: ModuleType) -> None:
    """Alternative requirement objects: the oauth2 scope, or the role listed under the bearer scheme."""
    async with TestService(notes_service(ops), overrides=config(oidc)) as t:
        neither = await t.http.delete("/api/notes/1", headers=bearer(oidc.mint(scope="notes.read")))
        scope = await t.http.delete("/api/notes/1", headers=bearer(oidc.mint(scope="notes.write")))
        role = await t.http.delete("/api/notes/1", headers=bearer(oidc.mint(roles=["admin"])))
        # Under the http bearer scheme the list holds roles, never scopes.
        admin_scope = await t.http.delete("/api/notes/1", headers=bearer(oidc.mint(scope="admin")))
    assert neither.status_code == 403
    assert scope.status_code == 204
    assert role.status_code == 204
    assert admin_scope.status_code == 403


async def test_public_operation(oidc: OidcIssuer, ops: ModuleType) -> None:
    """``security: []`` makes an operation public: no token needed, and no principal even with one."""
    async with TestService(notes_service(ops), overrides=config(oidc)) as t:
        anonymous = await t.http.get("/api/status")
        with_token = await t.http.get("/api/status", headers=bearer(oidc.mint()))
    assert anonymous.status_code == 200
    assert anonymous.json()["authenticated"] is False
    assert with_token.json()["authenticated"] is False


def test_undeclared_scheme_is_refused() -> None:
    """An operation naming a scheme it has no type for fails at construction, naming the operation."""
    op = Operation("listNotes", "GET", "/notes", "notes", "list_notes", security=[{"oauth": ["x"]}])

    class Handler:
        async def list_notes(self) -> None:
            return None

    with pytest.raises(
        InvalidArgument, match=r"GET /notes \(listNotes\): security\[0\] names undeclared scheme 'oauth'"
    ):
        OpenAPIApp([op], Handler(), docs=False)


def test_codegen_refuses_an_undeclared_scheme(tmp_path: Path) -> None:
    """Generation fails when an operation's security names a scheme the document does not declare."""
    spec = tmp_path / "notes.yaml"
    spec.write_text(SPEC.read_text().replace("- bearer: [admin]", "- basic: [admin]"))
    with pytest.raises(
        OpenAPIError,
        match=r"notes\.yaml:\d+: paths\./notes/\{id\}\.delete\.security\[1\]: "
        r"names 'basic', which components.securitySchemes",
    ):
        generate(spec, out_dir=tmp_path / "gen", gen_package="gen")
