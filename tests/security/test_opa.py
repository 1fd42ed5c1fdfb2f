"""OPA policies: in-process Rego (regopy) and the HTTP decision API, through the chain."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import jwt
import pytest
from pydantic import BaseModel, Field

from microlib.core.context import Rejected
from microlib.core.errors import InvalidArgument, PermissionDenied, Unavailable
from microlib.security.opa import OpaAuthorizer, OpaHttpPolicy, RegoPolicy
from microlib.security.setup import Security

from .conftest import SigningKey, rsa_key
from .helpers import KINDS, call, opa_stand_in, settings_for

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
    """A small OPA stand-in evaluating the policy's ``decision`` rule with rego-cpp."""
    async with opa_stand_in(POLICY, "microlib.authz.decision") as served:
        yield served


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

    async def test_per_request_fields_stay_out_of_the_cache_key(
        self, key: SigningKey, policy_file: str
    ) -> None:
        """Calls differing only in the peer's port, request id, trace context and deadline header share
        one decision; another peer host, or another value of any other header, is another decision."""
        authorizer = OpaAuthorizer(RegoPolicy.from_files([policy_file], query="data.microlib.authz.allow"))
        security = Security.from_settings(
            settings_for({"issuer": ISSUER, "keys": [key.jwk()], "audiences": [AUDIENCE]}),
            authorizers=[authorizer],
        )
        bearer = token(key, roles=["admin"])

        async def ask(peer: str, n: int, tenant: str = "acme") -> None:
            metadata = {
                "x-request-id": f"req-{n}",
                "traceparent": f"00-{n:032x}-{n:016x}-01",
                "tracestate": f"vendor={n}",
                "baggage": f"n={n}",
                "grpc-trace-bin": f"{n}",
                "x-request-timeout": f"{n}.5",
                "x-tenant": tenant,
            }
            await call(security, token=bearer, peer=peer, metadata=metadata)

        for n, peer in enumerate(["10.0.0.7:5123", "10.0.0.7:5124", "10.0.0.7:61000"]):
            await ask(peer, n)
        assert authorizer.evaluations == 1
        for n, peer in enumerate(["ipv4:10.0.0.7:5123", "ipv4:10.0.0.7:40000", "unix:/run/app.sock"]):
            await ask(peer, n)
        assert authorizer.evaluations == 3  # gRPC's peer names the address family; a socket has no port
        await ask("10.0.0.8:5123", 9)
        await ask("10.0.0.7:5123", 9, tenant="other")
        assert authorizer.evaluations == 5

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


class TestPolicyInput:
    async def test_path_values_and_request(self, key: SigningKey, opa_server: tuple[str, list[dict]]) -> None:
        """The input carries the path's values; with include_request, the decoded request too: a model
        by model_dump (aliases), an operation's arguments as JSON (bytes in base64), nothing for a request
        that did not decode."""

        class Note(BaseModel):
            owner: str
            size: int = Field(alias="sizeBytes")

        url, inputs = opa_server
        authorizers = [
            OpaAuthorizer(
                OpaHttpPolicy(f"{url}/v1/data/microlib/authz/decision"), cache_ttl=0, include_request=on
            )
            for on in (True, False)
        ]
        settings = settings_for({"issuer": ISSUER, "keys": [key.jwk()], "audiences": [AUDIENCE]})
        bearer = token(key, roles=["admin"])
        note = Note(owner="u", sizeBytes=3)
        attributes = {"http.route": "/notes/{id}", "http.path_params": {"id": "n1"}}
        try:
            with_request = Security.from_settings(settings, authorizers=authorizers[:1])
            await call(
                with_request,
                token=bearer,
                attributes=attributes,
                request={"id": "n1", "body": note, "raw": b"\0"},
            )
            await call(with_request, token=bearer, request=note)
            with pytest.raises(InvalidArgument):  # after the policy allowed: access first
                await call(with_request, token=bearer, request=Rejected(InvalidArgument("bad")))
            await call(
                Security.from_settings(settings, authorizers=authorizers[1:]), token=bearer, request=note
            )
        finally:
            for authorizer in authorizers:
                await authorizer.stop()
        assert inputs[0]["path"] == "/notes/{id}"
        assert inputs[0]["path_params"] == {"id": "n1"}
        assert inputs[0]["request"] == {"id": "n1", "body": {"owner": "u", "sizeBytes": 3}, "raw": "AA=="}
        assert (inputs[1]["path_params"], inputs[1]["request"]) == ({}, {"owner": "u", "sizeBytes": 3})
        assert inputs[2]["request"] is None
        assert inputs[3]["request"] is None


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


class TestCredentialsStayOut:
    def test_api_key_headers_of_the_call_are_removed(self) -> None:
        """An API key sent in a header the call's schemes name is a credential: it never reaches the
        policy, in any alternative, while other headers do."""
        from microlib.core.context import CallContext, Principal
        from microlib.security.opa import policy_input
        from microlib.security.requirements import SecurityRequirement
        from microlib.security.schemes import SecurityScheme

        header_key = SecurityScheme("headerKey", "apiKey", location="header", parameter="X-API-Key")
        query_key = SecurityScheme("queryKey", "apiKey", location="query", parameter="x-tenant")
        requirement = SecurityRequirement(
            schemes=(query_key,), alternatives=(SecurityRequirement(schemes=(header_key,)),)
        )
        metadata = {"x-api-key": "k-123", "x-tenant": "acme", "authorization": "Basic YTpi", "cookie": "s=1"}
        ctx = CallContext(kind="http", service="vault", method="getNote", metadata=metadata)
        document = policy_input(ctx, Principal("u1"), requirement)
        assert document["metadata"] == {"x-tenant": "acme"}
        assert policy_input(ctx, Principal("u1"), None)["metadata"] == {
            "x-api-key": "k-123",
            "x-tenant": "acme",
        }
