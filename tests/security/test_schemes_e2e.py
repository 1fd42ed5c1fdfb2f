"""Every security scheme OpenAPI defines, enforced on a real Service over HTTP, or the start is refused.

``specs/schemes.yaml`` has one operation per scheme (http basic, bearer and
digest, apiKey in header, query and cookie, oauth2, openIdConnect,
mutualTLS), one requiring two schemes together and one accepting
alternatives. It is generated into a package in a fixture and served by
``OpenAPIApp`` in a ``Service`` with ``install(service, verifiers=...)``,
behind the local OIDC issuer for the JWT schemes.
"""

from __future__ import annotations

import base64
import importlib
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import ModuleType

import httpx
import pytest

from microlib.core.context import Principal
from microlib.core.errors import Unavailable
from microlib.core.lifecycle import StartupError
from microlib.http.openapi import OpenAPIApp
from microlib.security import CredentialVerifier, install
from microlib.service import Service
from microlib.testing import TestService
from microlib_codegen.openapi import generate

from .conftest import OidcIssuer
from .vault import API_KEY, PASSWORDS, SPEC, VERIFIERS, WRONG_KEY, WRONG_PASSWORD, Vault


@pytest.fixture(scope="module")
def ops(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """The generated ``operations`` module of the schemes document."""
    out = tmp_path_factory.mktemp("openapi")
    generate(SPEC, out_dir=out / "schemesgen", gen_package="schemesgen")
    sys.path.insert(0, str(out))
    return importlib.import_module("schemesgen.operations")


def vault_service(
    ops: ModuleType, verifiers: Mapping[str, CredentialVerifier] | None = None, *, secure: bool = True
) -> Service:
    """A service mounting the vault API under /api, with security installed unless ``secure`` is false."""
    service = Service("vault")
    if secure:
        install(service, verifiers=VERIFIERS if verifiers is None else verifiers)
    service.http.mount(
        "/api",
        OpenAPIApp(ops.OPERATIONS, Vault(), chain=service.chain, title=ops.TITLE, docs=False, prefix="/api"),
    )
    return service


def config(oidc: OidcIssuer | None, *extra: str) -> list[str]:
    """The settings as --set overrides: the fixture issuer (if any), realm, every log line."""
    issuers = [{"issuer": oidc.issuer, "discovery_url": oidc.discovery_url, "audiences": [oidc.audience]}]
    trusted = [f"security.issuers={json.dumps(issuers)}"] if oidc is not None else []
    return [*trusted, "security.realm=vault", "logging.level=DEBUG", *extra]


def basic(username: str, password: str) -> dict[str, str]:
    """An Authorization: Basic header."""
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


def bearer(token: str) -> dict[str, str]:
    """An Authorization: Bearer header."""
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Case:
    """One operation: how to call it without, with wrong and with right credentials."""

    method: str
    path: str
    challenge: str
    right: dict[str, str] = field(default_factory=dict)
    wrong: dict[str, str] = field(default_factory=dict)
    subject: str = ""
    query: str = ""
    wrong_query: str = ""
    wrong_reason: str = "INVALID_CREDENTIALS"

    async def send(self, client: httpx.AsyncClient, which: str) -> httpx.Response:
        """The call with ``none``, ``wrong`` or ``right`` credentials."""
        headers = {"none": {}, "wrong": self.wrong, "right": self.right}[which]
        query = {"none": "", "wrong": self.wrong_query, "right": self.query}[which]
        return await client.request(self.method, f"/api{self.path}{query}", headers=headers)


BASIC_CHALLENGE = 'Basic realm="vault", charset="UTF-8"'
KEY_CHALLENGE = 'ApiKey realm="vault", in="header", name="X-API-Key"'


def cases(oidc: OidcIssuer) -> dict[str, Case]:
    """Every scheme's operation; JWTs come from the fixture issuer."""
    token = oidc.mint(scope="vault.read")
    forged = oidc.mint(scope="vault.read", iss="https://elsewhere.example")
    return {
        "http basic": Case(
            "DELETE",
            "/basic/7",
            BASIC_CHALLENGE,
            basic("alice", PASSWORDS["alice"]),
            basic("alice", WRONG_PASSWORD),
        ),
        "http bearer": Case(
            "GET", "/bearer", 'Bearer realm="vault"', bearer(token), bearer(forged), "user-1"
        ),
        "apiKey in header": Case(
            "GET", "/header-key", KEY_CHALLENGE, {"X-API-Key": API_KEY}, {"X-API-Key": WRONG_KEY}, "svc-a"
        ),
        "apiKey in query": Case(
            "GET",
            "/query-key",
            'ApiKey realm="vault", in="query", name="api_key"',
            subject="svc-a",
            query=f"?limit=5&api_key={API_KEY}",
            wrong_query=f"?api_key={WRONG_KEY}",
        ),
        "apiKey in cookie": Case(
            "GET",
            "/cookie-key",
            'ApiKey realm="vault", in="cookie", name="session"',
            {"Cookie": f"theme=dark; session={API_KEY}"},
            {"Cookie": f"session={WRONG_KEY}"},
            "svc-a",
        ),
        "oauth2": Case("GET", "/oauth", 'Bearer realm="vault"', bearer(token), bearer(forged), "user-1"),
        "openIdConnect": Case(
            "GET", "/oidc", 'Bearer realm="vault"', bearer(token), bearer(forged), "user-1"
        ),
        "http digest": Case(
            "GET",
            "/digest",
            'Digest realm="vault"',
            {"Authorization": 'Digest username="carol", response="6629fae49393a05397450978507c4ef1"'},
            {"Authorization": 'Digest username="carol", response="00000000000000000000000000000000"'},
            "carol",
            wrong_reason="BAD_DIGEST",
        ),
        "mutualTLS": Case(
            "GET",
            "/mtls",
            "",
            {"X-Client-Cert-Subject": "CN=dave"},
            {"X-Client-Cert-Subject": "CN=mallory"},
            "dave",
            wrong_reason="UNTRUSTED_CERTIFICATE",
        ),
    }


SCHEMES = [
    "http basic",
    "http bearer",
    "apiKey in header",
    "apiKey in query",
    "apiKey in cookie",
    "oauth2",
    "openIdConnect",
    "http digest",
    "mutualTLS",
]


@pytest.mark.parametrize("scheme", SCHEMES)
async def test_each_scheme_refuses_without_and_with_wrong_credentials_and_allows_right_ones(
    oidc: OidcIssuer, ops: ModuleType, scheme: str
) -> None:
    """No credentials: 401 naming the scheme in the challenge; wrong ones: 401 with a reason;
    right ones reach the handler."""
    case = cases(oidc)[scheme]
    async with TestService(vault_service(ops), overrides=config(oidc)) as t:
        none = await case.send(t.http, "none")
        wrong = await case.send(t.http, "wrong")
        right = await case.send(t.http, "right")
    assert none.status_code == 401, none.text
    assert none.json()["reason"] == "MISSING_CREDENTIALS"
    assert none.headers.get("www-authenticate", "") == case.challenge
    assert wrong.status_code == 401, wrong.text
    expected_reason = "UNKNOWN_ISSUER" if case.challenge.startswith("Bearer") else case.wrong_reason
    assert wrong.json()["reason"] == expected_reason
    if case.method == "DELETE":
        assert right.status_code == 204, right.text
    else:
        assert right.status_code == 200, right.text
        assert right.json()["subject"] == case.subject


async def test_basic_auth_only_operation_is_never_served_open(ops: ModuleType) -> None:
    """The hole: with no security installed, a DELETE requiring HTTP basic answered 204 to anyone.

    Now the service does not start, and names the operations whose security nothing enforces.
    """

    async def delete_without_credentials() -> int:
        async with TestService(vault_service(ops, secure=False)) as t:
            return (await t.http.delete("/api/basic/7")).status_code

    try:
        status = await delete_without_credentials()
    except StartupError as exc:
        message = str(exc)
    else:
        pytest.fail(f"served without enforcement: DELETE without credentials answered {status}")
    assert "microlib.security.install(service)" in message
    assert "DELETE /api/basic/{id} (deleteBasic)" in message
    assert "GET /api/either (either)" in message
    assert "GET /api/status" not in message  # public


async def test_all_schemes_of_one_object_must_pass(oidc: OidcIssuer, ops: ModuleType) -> None:
    """Two schemes in one requirement object: both credentials, both right; the first names the caller."""
    alice, key = basic("alice", PASSWORDS["alice"]), {"X-API-Key": API_KEY}
    async with TestService(vault_service(ops), overrides=config(oidc)) as t:
        basic_only = await t.http.get("/api/both", headers=alice)
        key_only = await t.http.get("/api/both", headers=key)
        wrong_key = await t.http.get("/api/both", headers={**alice, "X-API-Key": WRONG_KEY})
        both = await t.http.get("/api/both", headers={**alice, **key})
    for refused in (basic_only, key_only):
        assert refused.status_code == 401
        assert refused.json()["reason"] == "MISSING_CREDENTIALS"
        assert "send basicAuth and headerKey" in refused.json()["detail"]
        assert refused.headers["www-authenticate"] == f"{BASIC_CHALLENGE}, {KEY_CHALLENGE}"
    assert wrong_key.status_code == 401
    assert wrong_key.json()["reason"] == "INVALID_CREDENTIALS"
    assert both.status_code == 200
    assert both.json() == {"subject": "alice", "roles": ["admin", "service"]}


async def test_alternatives_any_one_suffices_and_never_lends_its_roles(
    oidc: OidcIssuer, ops: ModuleType
) -> None:
    """Alternatives: basic with the admin role, or the API key, or a bearer token; a role listed
    under basic must come from the basic credentials."""
    async with TestService(vault_service(ops), overrides=config(oidc)) as t:
        nothing = await t.http.get("/api/either")
        admin = await t.http.get("/api/either", headers=basic("alice", PASSWORDS["alice"]))
        not_admin = await t.http.get("/api/either", headers=basic("bob", PASSWORDS["bob"]))
        not_admin_with_key = await t.http.get(
            "/api/either", headers={**basic("bob", PASSWORDS["bob"]), "X-API-Key": API_KEY}
        )
        token = await t.http.get("/api/either", headers=bearer(oidc.mint(roles=["admin"])))
        wrong_password = await t.http.get(
            "/api/either", headers={**basic("alice", WRONG_PASSWORD), "X-API-Key": API_KEY}
        )
    assert nothing.status_code == 401
    assert nothing.headers["www-authenticate"] == f'{BASIC_CHALLENGE}, {KEY_CHALLENGE}, Bearer realm="vault"'
    assert "send basicAuth, or headerKey, or bearerAuth" in nothing.json()["detail"]
    assert admin.json()["subject"] == "alice"
    assert not_admin.status_code == 403
    assert not_admin.json()["reason"] == "INSUFFICIENT_SCOPE"
    assert "admin" in not_admin.json()["detail"]
    assert "www-authenticate" not in not_admin.headers  # no bearer token was involved
    assert not_admin_with_key.status_code == 200
    assert not_admin_with_key.json()["subject"] == "svc-a"
    assert token.json()["subject"] == "user-1"
    # A wrong credential is refused even when another alternative would pass.
    assert wrong_password.status_code == 401
    assert wrong_password.json()["reason"] == "INVALID_CREDENTIALS"


async def test_roles_under_basic_come_from_the_verifier(oidc: OidcIssuer, ops: ModuleType) -> None:
    """A list under a non-OAuth scheme holds roles: the verifier's principal must have one of them."""
    async with TestService(vault_service(ops), overrides=config(oidc)) as t:
        alice = await t.http.get("/api/basic-admin", headers=basic("alice", PASSWORDS["alice"]))
        bob = await t.http.get("/api/basic-admin", headers=basic("bob", PASSWORDS["bob"]))
    assert alice.status_code == 200
    assert bob.status_code == 403
    assert bob.json()["detail"] == "requires one of the roles: admin"


async def test_oauth2_lists_scopes(oidc: OidcIssuer, ops: ModuleType) -> None:
    """Under oauth2 and openIdConnect the list holds scopes: without them, 403 insufficient_scope."""
    async with TestService(vault_service(ops), overrides=config(oidc)) as t:
        oauth = await t.http.get("/api/oauth", headers=bearer(oidc.mint(scope="other")))
        oidc_call = await t.http.get("/api/oidc", headers=bearer(oidc.mint(roles=["vault.read"])))
    for response in (oauth, oidc_call):
        assert response.status_code == 403
        assert response.json()["detail"] == "missing scopes: vault.read"
        assert response.headers["www-authenticate"] == 'Bearer error="insufficient_scope"'


async def test_malformed_and_foreign_authorization(oidc: OidcIssuer, ops: ModuleType) -> None:
    """Basic credentials that are not base64 of user:password, and an Authorization scheme the
    operation does not accept, are 401 INVALID_REQUEST; an empty bearer token is no credential."""
    async with TestService(vault_service(ops), overrides=config(oidc)) as t:
        malformed = await t.http.delete("/api/basic/7", headers={"Authorization": "Basic not*base64"})
        no_colon = await t.http.delete(
            "/api/basic/7", headers={"Authorization": "Basic " + base64.b64encode(b"alice").decode()}
        )
        foreign = await t.http.get("/api/header-key", headers=basic("alice", PASSWORDS["alice"]))
        token_for_basic = await t.http.delete("/api/basic/7", headers=bearer(oidc.mint()))
        empty_token = await t.http.get("/api/bearer", headers={"Authorization": "Bearer "})
    for response in (malformed, no_colon):
        assert response.status_code == 401
        assert response.json()["reason"] == "INVALID_REQUEST"
        assert response.headers["www-authenticate"] == BASIC_CHALLENGE
    for response in (foreign, token_for_basic):
        assert response.status_code == 401
        assert response.json()["reason"] == "INVALID_REQUEST"
        assert "scheme is not accepted" in response.json()["detail"]
    assert empty_token.status_code == 401
    assert empty_token.json()["reason"] == "MISSING_CREDENTIALS"


async def test_public_operation_and_query_key_are_not_undeclared_parameters(
    oidc: OidcIssuer, ops: ModuleType
) -> None:
    """security: [] needs nothing; the query API key is not an unknown query parameter in strict mode."""
    async with TestService(vault_service(ops), overrides=config(oidc)) as t:
        public = await t.http.get("/api/status")
        unknown = await t.http.get(f"/api/query-key?api_key={API_KEY}&other=1")
    assert public.status_code == 200
    assert unknown.status_code == 400
    assert [v["field"] for v in unknown.json()["violations"]] == ["query.other"]


async def test_no_credential_reaches_a_log_line(oidc: OidcIssuer, ops: ModuleType) -> None:
    """At DEBUG, refused and accepted calls log reasons and scheme names, never a password, key or token."""
    token = oidc.mint(scope="vault.read")
    async with TestService(vault_service(ops), overrides=config(oidc)) as t:
        for case in cases(oidc).values():
            for which in ("none", "wrong", "right"):
                await case.send(t.http, which)
        await t.http.get("/api/bearer", headers=bearer(token))
        await t.http.get("/api/both", headers={**basic("alice", PASSWORDS["alice"]), "X-API-Key": WRONG_KEY})
        await t.http.get("/api/query-key?api_key=" + WRONG_KEY)
        lines = [json.dumps(entry, default=str) for entry in t.logs]
    failures = [line for line in lines if "authentication_failed" in line]
    assert any('"scheme": "basicAuth"' in line and "INVALID_CREDENTIALS" in line for line in failures)
    assert any('"scheme": "queryKey"' in line for line in failures)
    secrets = [*PASSWORDS.values(), WRONG_PASSWORD, API_KEY, WRONG_KEY, token, token.split(".")[2]]
    secrets += [
        basic("alice", WRONG_PASSWORD)["Authorization"].split()[1],
        "6629fae49393a05397450978507c4ef1",
    ]
    leaked = [(secret, line) for secret in secrets for line in lines if secret in line]
    assert leaked == []


class Broken:
    """A verifier of every kind that fails in an unexpected way, or with a retryable error."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def verify_basic(self, username: str, password: str) -> Principal | None:
        """Raise the configured error."""
        raise self.error

    async def verify_api_key(self, key: str) -> Principal | None:
        """Raise the configured error."""
        raise self.error


async def test_a_failing_verifier_fails_closed(oidc: OidcIssuer, ops: ModuleType) -> None:
    """A verifier that crashes refuses the call (401, the exception's type logged, not its text);
    one raising a microlib error (its store is down) passes that error on (503)."""
    crashing = {**VERIFIERS, "basicAuth": Broken(RuntimeError(f"db said no to {PASSWORDS['alice']}"))}
    down = {**VERIFIERS, "headerKey": Broken(Unavailable("key store down", reason="KEYS_DOWN"))}
    async with TestService(vault_service(ops, crashing), overrides=config(oidc)) as t:
        crashed = await t.http.delete("/api/basic/7", headers=basic("alice", PASSWORDS["alice"]))
        lines = [json.dumps(entry, default=str) for entry in t.logs]
    async with TestService(vault_service(ops, down), overrides=config(oidc)) as t:
        unavailable = await t.http.get("/api/header-key", headers={"X-API-Key": API_KEY})
    assert crashed.status_code == 401
    assert crashed.json()["reason"] == "INVALID_CREDENTIALS"
    assert any("authentication_error" in line and "RuntimeError" in line for line in lines)
    assert not any(PASSWORDS["alice"] in line for line in lines)
    assert unavailable.status_code == 503
    assert unavailable.json()["reason"] == "KEYS_DOWN"
