"""Scopes and roles declared in OpenAPI and proto contracts, enforced through the chain."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
import yaml

from microlib.core.context import CallKind
from microlib.core.errors import InvalidArgument, PermissionDenied, Unauthenticated
from microlib.security.requirements import (
    SECURITY_ATTRIBUTE,
    SecurityRequirement,
    from_descriptor_set,
    from_method_options,
    from_openapi_document,
    from_openapi_operation,
)
from microlib.security.schemes import SecurityScheme
from microlib.security.setup import Security

from .conftest import SigningKey, rsa_key
from .helpers import KINDS, call, settings_for

ROOT = Path(__file__).resolve().parents[2]
ISSUER = "https://issuer.test"
AUDIENCE = "api://books"

OPENAPI = yaml.safe_load(
    """
openapi: 3.1.0
info: {title: Books, version: "1"}
security: [{oauth: [books.read]}]
components:
  securitySchemes:
    oauth:
      type: oauth2
      flows:
        clientCredentials: {tokenUrl: "https://issuer.test/token", scopes: {books.read: r, books.write: w}}
    bearer: {type: http, scheme: bearer, bearerFormat: JWT}
paths:
  /books:
    get: {operationId: listBooks, responses: {"200": {description: ok}}}
  /books/{id}:
    delete:
      operationId: deleteBook
      security: [{oauth: [books.write]}, {bearer: [admin]}]
      responses: {"204": {description: ok}}
  /status:
    get: {operationId: status, security: [], responses: {"200": {description: ok}}}
"""
)

PROTO = """
syntax = "proto3";
package shop.v1;
import "microlib/v1/auth.proto";
message Req { string id = 1; }
service Books {
  option (microlib.v1.default_auth) = { scopes: ["books.read"] };
  rpc ListBooks(Req) returns (Req);
  rpc DeleteBook(Req) returns (Req) {
    option (microlib.v1.auth) = { scopes: ["books.write"], roles: ["admin", "librarian"] };
  }
  rpc Status(Req) returns (Req) { option (microlib.v1.auth) = { public: true }; }
}
"""


@pytest.fixture(scope="module")
def key() -> SigningKey:
    """The issuer's signing key."""
    return rsa_key("k1")


@pytest.fixture(scope="module")
def proto_requirements(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SecurityRequirement]:
    """Requirements read from a descriptor set compiled by protoc from a proto using the option."""
    work = tmp_path_factory.mktemp("proto")
    (work / "books.proto").write_text(PROTO)
    out = work / "books.binpb"
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{ROOT / 'contracts'}", f"-I{work}",
         "--include_imports", f"--descriptor_set_out={out}", "books.proto"],
        check=True, capture_output=True,
    )  # fmt: skip
    return from_descriptor_set(out.read_bytes())


OAUTH = SecurityScheme("oauth", "oauth2")
BEARER = SecurityScheme("bearer", "http", "bearer", bearer_format="JWT")


def openapi_requirement(path: str, verb: str) -> SecurityRequirement | None:
    """The requirement of one operation of the test document."""
    return from_openapi_operation(OPENAPI["paths"][path][verb], OPENAPI, where=f"{verb.upper()} {path}")


def build(key: SigningKey, **extra: Any) -> Security:
    """Security with a static-key issuer."""
    return Security.from_settings(
        settings_for({"issuer": ISSUER, "keys": [key.jwk()], "audiences": [AUDIENCE]}, **extra)
    )


def token(key: SigningKey, *, scope: str = "", roles: tuple[str, ...] = ()) -> str:
    """A token with the given grants."""
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "u", "iat": now, "exp": now + 60, "scope": scope,
              "roles": list(roles)}  # fmt: skip
    return jwt.encode(claims, key.private, algorithm="RS256", headers={"kid": key.kid})


# The same three methods as each contract declares them: (method, requirement source).
CASES = {
    "http": {
        "list": ("listBooks", lambda _: openapi_requirement("/books", "get")),
        "delete": ("deleteBook", lambda _: openapi_requirement("/books/{id}", "delete")),
        "status": ("status", lambda _: openapi_requirement("/status", "get")),
    },
    "grpc": {
        "list": ("ListBooks", lambda reqs: reqs["shop.v1.Books/ListBooks"]),
        "delete": ("DeleteBook", lambda reqs: reqs["shop.v1.Books/DeleteBook"]),
        "status": ("Status", lambda reqs: reqs["shop.v1.Books/Status"]),
    },
}


async def run(
    security: Security, kind: CallKind, case: str, reqs: dict[str, SecurityRequirement], bearer: str | None
) -> Any:
    """Call one method of the contract for ``kind`` with its declared requirement in the context."""
    method, requirement = CASES[kind][case]
    attributes = {SECURITY_ATTRIBUTE: requirement(reqs)}
    return await call(security, kind=kind, method=method, token=bearer, attributes=attributes)


@pytest.mark.parametrize("kind", KINDS)
class TestContractEnforcement:
    async def test_scope_granted(self, key: SigningKey, proto_requirements: dict, kind: CallKind) -> None:
        """A caller with the declared scope is let through."""
        _, principal = await run(build(key), kind, "list", proto_requirements, token(key, scope="books.read"))
        assert principal.subject == "u"

    async def test_scope_missing(self, key: SigningKey, proto_requirements: dict, kind: CallKind) -> None:
        """Without the scope: PERMISSION_DENIED naming it, with an insufficient_scope challenge."""
        with pytest.raises(PermissionDenied) as caught:
            await run(build(key), kind, "delete", proto_requirements, token(key, scope="books.read"))
        assert caught.value.reason == "INSUFFICIENT_SCOPE"
        assert "books.write" in caught.value.message

    async def test_role_alternative(self, key: SigningKey, proto_requirements: dict, kind: CallKind) -> None:
        """HTTP: the bearer+admin alternative suffices; gRPC: scope plus one of the roles."""
        grants = {
            "http": token(key, roles=("admin",)),
            "grpc": token(key, scope="books.write", roles=("librarian",)),
        }
        _, principal = await run(build(key), kind, "delete", proto_requirements, grants[kind])
        assert principal is not None

    async def test_role_missing(self, key: SigningKey, proto_requirements: dict, kind: CallKind) -> None:
        """The wrong role is denied."""
        with pytest.raises(PermissionDenied):
            await run(build(key), kind, "delete", proto_requirements, token(key, roles=("guest",)))

    async def test_public_needs_no_token(
        self, key: SigningKey, proto_requirements: dict, kind: CallKind
    ) -> None:
        """A method declared public runs without a token and without a principal."""
        _, principal = await run(build(key), kind, "status", proto_requirements, None)
        assert principal is None

    async def test_non_public_needs_token(
        self, key: SigningKey, proto_requirements: dict, kind: CallKind
    ) -> None:
        """A declared method without a token is UNAUTHENTICATED, not PERMISSION_DENIED."""
        with pytest.raises(Unauthenticated):
            await run(build(key), kind, "list", proto_requirements, None)

    async def test_config_rule_overrides_contract(
        self, key: SigningKey, proto_requirements: dict, kind: CallKind
    ) -> None:
        """security.methods tightens a method without touching the contract."""
        method = CASES[kind]["list"][0]
        security = build(key, methods={f"shop.v1.Books/{method}": {"roles": ["auditor"]}})
        with pytest.raises(PermissionDenied):
            await run(security, kind, "list", proto_requirements, token(key, scope="books.read"))


class TestDefaults:
    async def test_undeclared_allows_authenticated(self, key: SigningKey) -> None:
        """Without a declared requirement any authenticated caller passes (deny_by_default off)."""
        _, principal = await call(build(key), token=token(key))
        assert principal is not None

    async def test_deny_by_default(self, key: SigningKey) -> None:
        """With deny_by_default, an undeclared method is denied even to an authenticated caller."""
        with pytest.raises(PermissionDenied) as caught:
            await call(build(key, deny_by_default=True), token=token(key))
        assert caught.value.reason == "NO_ACCESS_RULE"

    async def test_public_paths_and_methods(self, key: SigningKey) -> None:
        """Health paths and the gRPC health service bypass authentication by default."""
        security = build(key, deny_by_default=True)
        _, principal = await call(security, attributes={"http.route": "/health/ready"})
        assert principal is None
        _, principal = await call(security, kind="grpc", service="grpc.health.v1.Health", method="Check")
        assert principal is None


class TestOpenApiParsing:
    def test_document_default_applies(self) -> None:
        """An operation without security inherits the document's."""
        assert openapi_requirement("/books", "get") == SecurityRequirement(
            scopes=frozenset({"books.read"}), schemes=(OAUTH,)
        )

    def test_alternatives_and_roles(self) -> None:
        """oauth2 lists are scopes, bearer lists are roles; several objects are alternatives."""
        requirement = openapi_requirement("/books/{id}", "delete")
        assert requirement == SecurityRequirement(
            scopes=frozenset({"books.write"}),
            alternatives=(SecurityRequirement(roles=frozenset({"admin"}), schemes=(BEARER,)),),
            schemes=(OAUTH,),
        )

    def test_whole_document(self) -> None:
        """Every operation, by operationId."""
        requirements = from_openapi_document(OPENAPI)
        assert set(requirements) == {"listBooks", "deleteBook", "status"}
        assert requirements["status"] == SecurityRequirement(public=True)

    def test_empty_list_is_public(self) -> None:
        """security: [] makes an operation public."""
        assert openapi_requirement("/status", "get") == SecurityRequirement(public=True)

    def test_optional_auth_is_public(self) -> None:
        """An empty requirement object ({}) makes authentication optional: public."""
        assert from_openapi_operation({"security": [{}]}, {}) == SecurityRequirement(public=True)

    def test_no_security_anywhere(self) -> None:
        """Nothing declared: None, so the service defaults decide."""
        assert from_openapi_operation({}, {}) is None

    def test_undeclared_scheme(self) -> None:
        """A requirement naming an unknown scheme is a contract error naming the operation."""
        with pytest.raises(InvalidArgument, match="GET /x: security\\[0\\] names undeclared scheme 'nope'"):
            from_openapi_operation({"security": [{"nope": []}]}, {}, where="GET /x")


class TestProtoOptions:
    def test_descriptor_set(self, proto_requirements: dict[str, SecurityRequirement]) -> None:
        """Method rules replace the service default; others inherit it."""
        assert proto_requirements == {
            "shop.v1.Books/ListBooks": SecurityRequirement(scopes=frozenset({"books.read"})),
            "shop.v1.Books/DeleteBook": SecurityRequirement(
                scopes=frozenset({"books.write"}), roles=frozenset({"admin", "librarian"})
            ),
            "shop.v1.Books/Status": SecurityRequirement(public=True),
        }

    def test_method_options_mapping_and_service_default(self) -> None:
        """MethodDefinition.options as a mapping, falling back to the service's."""
        service = {"microlib.auth": {"scopes": ["a"]}}
        assert from_method_options({}, service) == SecurityRequirement(scopes=frozenset({"a"}))
        assert from_method_options({"microlib.auth": {"public": True}}, service) == SecurityRequirement(
            public=True
        )
        assert from_method_options({}) is None

    def test_method_options_message_object(self) -> None:
        """A message-like object with public/scopes/roles attributes is accepted too."""

        class Rule:
            public = False
            scopes = ("s",)
            roles = ("r",)

        assert from_method_options({"microlib.auth": Rule()}) == SecurityRequirement(
            scopes=frozenset({"s"}), roles=frozenset({"r"})
        )
