"""End to end over gRPC: access rules declared in a proto reach the authn/authz interceptors.

The contract (``protos/securetest/v1/vault.proto``) sets ``microlib.v1.default_auth``
on the service and ``microlib.v1.auth`` on methods; ``microlib codegen`` turns
them into ``MethodDefinition.options``, and the real Service serves the
servicer with security installed, behind the local OIDC issuer.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from types import ModuleType
from typing import Any

import grpc
import pytest

from microlib.core.context import CallContext
from microlib.core.errors import Code, Error
from microlib.security.feature import install
from microlib.security.requirements import SECURITY_ATTRIBUTE, SecurityRequirement
from microlib.service import Service
from microlib.testing import TestService

from .conftest import OidcIssuer
from .helpers import generate_proto


@pytest.fixture(scope="module")
def gen(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """``microlib codegen`` output for the vault contract, imported."""
    return generate_proto("securetest/v1/vault.proto", tmp_path_factory.mktemp("codegen"), "vaultgen")


def vault_service(gen: ModuleType) -> Service:
    """A service serving the vault with security installed, as users write it."""

    class Vault(gen.VaultService):  # type: ignore[misc, name-defined]
        def answer(self, request: Any, ctx: CallContext) -> Any:
            principal = ctx.principal
            return gen.ReadResponse(
                key=request.key,
                subject=principal.subject if principal else "",
                scopes=sorted(principal.scopes) if principal else [],
                authenticated=principal is not None,
            )

        async def read(self, request: Any, ctx: CallContext) -> Any:
            return self.answer(request, ctx)

        async def write(self, request: Any, ctx: CallContext) -> Any:
            return self.answer(request, ctx)

        async def ping(self, request: Any, ctx: CallContext) -> Any:
            return self.answer(request, ctx)

        async def watch(self, request: Any, ctx: CallContext) -> AsyncIterator[Any]:
            for _ in range(2):
                yield self.answer(request, ctx)

    service = Service("vault")
    install(service)
    service.include(Vault())
    return service


def config(oidc: OidcIssuer) -> list[str]:
    """The service's settings as --set overrides: the fixture issuer."""
    issuer = {"issuer": oidc.issuer, "discovery_url": oidc.discovery_url, "audiences": [oidc.audience]}
    return [f"security.issuers={json.dumps([issuer])}", "security.realm=vault"]


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    """gRPC metadata carrying ``token``."""
    return (("authorization", f"Bearer {token}"),)


def test_codegen_emits_the_auth_options(gen: ModuleType) -> None:
    """Each method's options carry its effective rule: its own, else the service default."""
    methods = gen.VaultService.__microlib_service__.methods
    assert methods["Read"].options == {
        "microlib.auth": {"public": False, "scopes": ["vault.read"], "roles": []}
    }
    assert methods["Write"].options == {
        "microlib.auth": {"public": False, "scopes": ["vault.write"], "roles": ["admin", "owner"]}
    }
    assert methods["Ping"].options == {"microlib.auth": {"public": True, "scopes": [], "roles": []}}


async def test_requirement_in_context(oidc: OidcIssuer, gen: ModuleType) -> None:
    """The handler's ctx.attributes hold the method's SecurityRequirement, built from the option."""
    seen: list[Any] = []
    service = vault_service(gen)

    class Spy:
        async def intercept(self, ctx: CallContext, call_next: Any) -> Any:
            seen.append(ctx.attributes.get(SECURITY_ATTRIBUTE))
            return await call_next(ctx)

    service.chain.install("user", Spy())
    async with TestService(service, overrides=config(oidc)) as t:
        client = gen.VaultServiceClient(t.grpc)
        await client.write(
            gen.ReadRequest(key="k"), metadata=bearer(oidc.mint(scope="vault.write", roles=["owner"]))
        )
    assert seen == [
        SecurityRequirement(scopes=frozenset({"vault.write"}), roles=frozenset({"admin", "owner"}))
    ]


async def test_no_token_is_unauthenticated(oidc: OidcIssuer, gen: ModuleType) -> None:
    """Without a token a protected method answers UNAUTHENTICATED with a reason; streams too."""
    async with TestService(vault_service(gen), overrides=config(oidc)) as t:
        client = gen.VaultServiceClient(t.grpc)
        with pytest.raises(Error) as unary:
            await client.read(gen.ReadRequest(key="k"))
        with pytest.raises(Error) as stream:
            async for _ in client.watch(gen.ReadRequest(key="k")):
                pass
        raw = t.grpc.unary_unary("/securetest.v1.VaultService/Read")
        with pytest.raises(grpc.aio.AioRpcError) as wire:
            await raw(b"")
    assert unary.value.code is Code.UNAUTHENTICATED
    assert unary.value.reason == "MISSING_CREDENTIALS"
    assert stream.value.code is Code.UNAUTHENTICATED
    assert wire.value.code() is grpc.StatusCode.UNAUTHENTICATED


async def test_wrong_scope_is_permission_denied(oidc: OidcIssuer, gen: ModuleType) -> None:
    """A valid token lacking the declared scope, or the role, is PERMISSION_DENIED naming what is missing."""
    async with TestService(vault_service(gen), overrides=config(oidc)) as t:
        client = gen.VaultServiceClient(t.grpc)
        with pytest.raises(Error) as scope:
            await client.read(gen.ReadRequest(key="k"), metadata=bearer(oidc.mint(scope="other")))
        with pytest.raises(Error) as role:
            await client.write(gen.ReadRequest(key="k"), metadata=bearer(oidc.mint(scope="vault.write")))
    assert scope.value.code is Code.PERMISSION_DENIED
    assert scope.value.reason == "INSUFFICIENT_SCOPE"
    assert "vault.read" in scope.value.message
    assert role.value.code is Code.PERMISSION_DENIED
    assert "admin owner" in role.value.message


async def test_right_scope_reaches_handler(oidc: OidcIssuer, gen: ModuleType) -> None:
    """With the declared scope (and role) the call succeeds and the handler sees the principal."""
    async with TestService(vault_service(gen), overrides=config(oidc)) as t:
        client = gen.VaultServiceClient(t.grpc)
        read = await client.read(gen.ReadRequest(key="k"), metadata=bearer(oidc.mint(scope="vault.read")))
        write = await client.write(
            gen.ReadRequest(key="k"),
            metadata=bearer(oidc.mint(sub="u2", scope="vault.write", roles=["admin"])),
        )
        watched = [
            r
            async for r in client.watch(
                gen.ReadRequest(key="w"), metadata=bearer(oidc.mint(scope="vault.read"))
            )
        ]
    assert (read.subject, read.scopes, read.authenticated) == ("user-1", ["vault.read"], True)
    assert (write.subject, write.scopes) == ("u2", ["vault.write"])
    assert [r.key for r in watched] == ["w", "w"]


async def test_public_method_needs_no_token(oidc: OidcIssuer, gen: ModuleType) -> None:
    """A method declared public answers without a token, and its handler sees no principal."""
    async with TestService(vault_service(gen), overrides=config(oidc)) as t:
        client = gen.VaultServiceClient(t.grpc)
        anonymous = await client.ping(gen.ReadRequest(key="p"))
        with_token = await client.ping(gen.ReadRequest(key="p"), metadata=bearer(oidc.mint()))
    assert (anonymous.key, anonymous.authenticated) == ("p", False)
    assert with_token.authenticated is False
