"""End to end over the service's HTTP app: 401 with WWW-Authenticate, 403, principal in handlers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from starlette.requests import Request

from microlib.core.context import current_context
from microlib.security.feature import install
from microlib.service import Service
from microlib.testing import TestService

from .conftest import OidcIssuer


def books_service() -> Service:
    """A service with security installed before its routes, as users write it."""
    service = Service("books")
    install(service)

    @service.http.route("/books")
    async def list_books(request: Request) -> dict[str, Any]:
        ctx = current_context()
        assert ctx is not None
        assert ctx.principal is not None
        return {"subject": ctx.principal.subject, "scopes": sorted(ctx.principal.scopes)}

    @service.http.route("/admin/purge", methods=["POST"])
    async def purge(request: Request) -> None:
        return None

    @service.http.route("/status/{name}")
    async def status(request: Request) -> dict[str, str]:
        return {"status": "ok"}

    return service


def config(oidc: OidcIssuer) -> list[str]:
    """The service's settings as --set overrides: the fixture issuer, an admin rule, a public path."""
    issuer = {"issuer": oidc.issuer, "discovery_url": oidc.discovery_url, "audiences": [oidc.audience]}
    return [
        f"security.issuers={json.dumps([issuer])}",
        f"security.methods={json.dumps({'http//admin/*': {'roles': ['admin']}})}",
        'security.public_paths=["/status/*"]',
        "security.realm=books",
    ]


async def test_authenticated_request(oidc: OidcIssuer) -> None:
    """A valid bearer token reaches the handler as ctx.principal."""
    async with TestService(books_service(), overrides=config(oidc)) as t:
        token = oidc.mint(scope="books.read")
        response = await t.http.get("/books", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json() == {"subject": "user-1", "scopes": ["books.read"]}


async def test_401_with_challenge(oidc: OidcIssuer) -> None:
    """No token: 401 problem+json with a Bearer challenge; an expired one says why."""
    async with TestService(books_service(), overrides=config(oidc)) as t:
        missing = await t.http.get("/books")
        expired = await t.http.get("/books", headers={"Authorization": f"Bearer {oidc.mint(exp=1)}"})
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == 'Bearer realm="books"'
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert expired.status_code == 401
    assert expired.headers["www-authenticate"] == (
        'Bearer realm="books", error="invalid_token", error_description="the token has expired"'
    )


async def test_403_for_missing_role(oidc: OidcIssuer) -> None:
    """A config rule requiring a role: 403 without it, 204 with it."""
    async with TestService(books_service(), overrides=config(oidc)) as t:
        denied = await t.http.post("/admin/purge", headers={"Authorization": f"Bearer {oidc.mint()}"})
        allowed = await t.http.post(
            "/admin/purge", headers={"Authorization": f"Bearer {oidc.mint(roles=['admin'])}"}
        )
    assert denied.status_code == 403
    assert allowed.status_code == 204


async def test_public_path_and_probes(oidc: OidcIssuer) -> None:
    """Public paths and the health probes need no token."""
    async with TestService(books_service(), overrides=config(oidc)) as t:
        status = await t.http.get("/status/db")
        ready = await t.http.get("/health/ready")
    assert status.status_code == 200
    assert ready.status_code == 200


async def test_disabled(oidc: OidcIssuer) -> None:
    """security.enabled=false lets requests through unauthenticated (development only)."""
    async with TestService(books_service(), overrides=[*config(oidc), "security.enabled=false"]) as t:
        response = await t.http.get("/status/x")
    assert response.status_code == 200


async def test_a_reload_of_the_access_rules_decides_the_next_calls(oidc: OidcIssuer, tmp_path: Path) -> None:
    """`security.public_paths`, `public_methods` and `methods` are reloadable: a reload that
    tightens them decides the next call. (It was reported `applied` and changed nothing: the
    rules read at the start, and the decisions remembered from them, kept deciding.)"""
    issuer = {"issuer": oidc.issuer, "discovery_url": oidc.discovery_url, "audiences": [oidc.audience]}
    settings = tmp_path / "service.yaml"

    def write(methods: dict[str, Any], public_paths: list[str]) -> None:
        access = {"issuers": [issuer], "methods": methods, "public_paths": public_paths}
        settings.write_text(yaml.safe_dump({"security": access}))

    write({}, ["/status/*"])
    service = books_service()
    user = {"Authorization": f"Bearer {oidc.mint()}"}
    async with TestService(service, files=[str(settings)]) as t:
        assert (await t.http.get("/status/a")).status_code == 200
        assert (await t.http.post("/admin/purge", headers=user)).status_code == 204
        write({"http//admin/*": {"roles": ["admin"]}}, [])
        assert (await service.live_config.reload()).status == "applied"
        assert (await t.http.get("/status/a")).status_code == 401
        assert (await t.http.post("/admin/purge", headers=user)).status_code == 403
        admin = {"Authorization": f"Bearer {oidc.mint(roles=['admin'])}"}
        assert (await t.http.post("/admin/purge", headers=admin)).status_code == 204
