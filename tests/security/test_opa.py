"""OPA policies: in-process Rego (regopy) and the HTTP decision API, through the chain."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import jwt
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from microlib.core.errors import InvalidArgument, PermissionDenied, Unavailable
from microlib.security.opa import OpaAuthorizer, OpaHttpPolicy, RegoPolicy
from microlib.security.setup import Security

from .conftest import SigningKey, rsa_key, serve, shutdown
from .helpers import KINDS, call, settings_for

ISSUER = "https://issuer.test"
AUDIENCE = "api://books"

POLICY = """
package microlib.authz

import rego.v1

default allow := false

allow if "admin" in input.principal.roles

allow if {
    input.method in {"GetBook", "getBook"}
    input.principal.claims.tenant == "acme"
}

suspended if input.principal.claims.tenant == "suspended"

decision := {"allow": false, "reason": "tenant is suspended"} if suspended

decision := {"allow": allow} if not suspended
"""


@pytest.fixture(scope="module")
def key() -> SigningKey:
    """The issuer's signing key."""
    return rsa_key("k1")


@pytest.fixture
def policy_file(tmp_path: Path) -> str:
    """The policy, on disk."""
    path = tmp_path / "authz.rego"
    path.write_text(POLICY)
    return str(path)


def token(key: SigningKey, **claims: object) -> str:
    """A token for user u with extra claims."""
    now = int(time.time())
    body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "u", "iat": now, "exp": now + 60, **claims}
    return jwt.encode(body, key.private, algorithm="RS256", headers={"kid": key.kid})


def build(key: SigningKey, opa: dict[str, object]) -> Security:
    """Security with a static-key issuer and the given OPA settings."""
    return Security.from_settings(
        settings_for({"issuer": ISSUER, "keys": [key.jwk()], "audiences": [AUDIENCE]}, opa=opa)
    )


@pytest.fixture
async def opa_server() -> AsyncIterator[tuple[str, list[dict]]]:
    """A small OPA stand-in: POST /v1/data/<path> evaluates the policy with rego-cpp."""
    engine = RegoPolicy({"authz.rego": POLICY}, query="data.microlib.authz.decision")
    inputs: list[dict] = []

    async def data(request: Request) -> JSONResponse:
        body = await request.json()
        inputs.append(body["input"])
        rule = request.path_params["path"].replace("/", ".")
        if rule != "microlib.authz.decision":
            return JSONResponse({})  # OPA answers an undefined document without "result"
        return JSONResponse({"result": await engine.evaluate(body["input"])})

    server, task, url = await serve(Starlette(routes=[Route("/v1/data/{path:path}", data, methods=["POST"])]))
    yield url, inputs
    await shutdown(server, task)


@pytest.mark.parametrize("kind", KINDS)
class TestRegoInProcess:
    async def test_allow_by_role(self, key: SigningKey, policy_file: str, kind: str) -> None:
        """The policy allows an admin anything."""
        security = build(key, {"policy_files": [policy_file]})
        _, principal = await call(security, kind=kind, method="DeleteBook", token=token(key, roles=["admin"]))  # type: ignore[arg-type]
        assert principal.subject == "u"

    async def test_allow_by_method_and_claim(self, key: SigningKey, policy_file: str, kind: str) -> None:
        """The policy reads the method and a raw claim from its input."""
        security = build(key, {"policy_files": [policy_file]})
        await call(security, kind=kind, method="GetBook", token=token(key, tenant="acme"))  # type: ignore[arg-type]

    async def test_deny(self, key: SigningKey, policy_file: str, kind: str) -> None:
        """Anything else is denied with PERMISSION_DENIED and reason POLICY_DENIED."""
        security = build(key, {"policy_files": [policy_file]})
        with pytest.raises(PermissionDenied) as caught:
            await call(security, kind=kind, method="DeleteBook", token=token(key, tenant="acme"))  # type: ignore[arg-type]
        assert caught.value.reason == "POLICY_DENIED"


class TestRegoEngine:
    async def test_object_decision_with_reason(self, key: SigningKey, policy_file: str) -> None:
        """A {"allow", "reason"} result: the reason reaches the caller."""
        security = build(key, {"policy_files": [policy_file], "query": "data.microlib.authz.decision"})
        with pytest.raises(PermissionDenied, match="tenant is suspended"):
            await call(security, token=token(key, tenant="suspended", roles=["admin"]))

    async def test_undefined_denies(self, key: SigningKey, policy_file: str) -> None:
        """A query with no value (undefined) denies."""
        security = build(key, {"policy_files": [policy_file], "query": "data.microlib.authz.missing"})
        with pytest.raises(PermissionDenied):
            await call(security, token=token(key, roles=["admin"]))

    async def test_decisions_are_cached(self, key: SigningKey, policy_file: str) -> None:
        """The same input is evaluated once within the cache TTL."""
        authorizer = OpaAuthorizer(RegoPolicy.from_files([policy_file], query="data.microlib.authz.allow"))
        security = Security.from_settings(
            settings_for({"issuer": ISSUER, "keys": [key.jwk()], "audiences": [AUDIENCE]}),
            authorizers=[authorizer],
        )
        bearer = token(key, roles=["admin"])
        for _ in range(5):
            await call(security, token=bearer)
        assert authorizer.evaluations == 1

    def test_bad_policy_names_the_file(self, tmp_path: Path) -> None:
        """A policy that does not compile is reported with its file name."""
        path = tmp_path / "broken.rego"
        path.write_text("package x\nallow if {")
        with pytest.raises(InvalidArgument, match=r"broken\.rego"):
            RegoPolicy.from_files([str(path)], query="data.x.allow")

    def test_missing_policy_file(self, tmp_path: Path) -> None:
        """A missing policy file is reported with its path."""
        with pytest.raises(InvalidArgument, match=r"nope\.rego"):
            RegoPolicy.from_files([str(tmp_path / "nope.rego")], query="data.x.allow")


class TestOpaHttp:
    async def test_allow_and_deny(self, key: SigningKey, opa_server: tuple[str, list[dict]]) -> None:
        """The decision API allows an admin and denies others; the token never reaches OPA."""
        url, inputs = opa_server
        security = build(key, {"url": f"{url}/v1/data/microlib/authz/decision"})
        try:
            _, principal = await call(security, token=token(key, roles=["admin"]))
            assert principal is not None
            with pytest.raises(PermissionDenied):
                await call(security, token=token(key, roles=["guest"]))
        finally:
            for component in security.components:
                await component.stop()
        assert inputs[0]["principal"]["roles"] == ["admin"]
        assert inputs[0]["method"] == "GetBook"
        assert "authorization" not in inputs[0]["metadata"]

    async def test_undefined_document_denies(
        self, key: SigningKey, opa_server: tuple[str, list[dict]]
    ) -> None:
        """An OPA answer without "result" (undefined rule) denies."""
        url, _ = opa_server
        security = build(key, {"url": f"{url}/v1/data/microlib/authz/other"})
        try:
            with pytest.raises(PermissionDenied):
                await call(security, token=token(key, roles=["admin"]))
        finally:
            for component in security.components:
                await component.stop()

    async def test_opa_down_fails_closed(self, key: SigningKey) -> None:
        """OPA unreachable: the call is refused with UNAVAILABLE, never allowed."""
        authorizer = OpaAuthorizer(OpaHttpPolicy("http://127.0.0.1:9/v1/data/x", timeout=1.0), cache_ttl=0)
        security = Security.from_settings(
            settings_for({"issuer": ISSUER, "keys": [key.jwk()], "audiences": [AUDIENCE]}),
            authorizers=[authorizer],
        )
        with pytest.raises(Unavailable) as caught:
            await call(security, token=token(key, roles=["admin"]))
        assert caught.value.reason == "OPA_UNAVAILABLE"
        await authorizer.stop()
