"""Shared helpers for the security tests: building the stack and running calls."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from microlib.config.model import SecuritySettings
from microlib.core.chain import compose
from microlib.core.context import CallContext, CallKind, Principal
from microlib.security.setup import Security

KINDS: tuple[CallKind, ...] = ("http", "grpc")


def settings_for(*issuers: dict[str, Any], **extra: Any) -> SecuritySettings:
    """Security settings trusting ``issuers`` (dicts of IssuerSettings fields)."""
    return SecuritySettings.model_validate({"issuers": list(issuers), **extra})


async def call(
    security: Security,
    *,
    kind: CallKind = "http",
    token: str | None = None,
    authorization: str | None = None,
    method: str = "GetBook",
    service: str = "shop.v1.Books",
    attributes: dict[str, Any] | None = None,
) -> tuple[CallContext, Principal | None]:
    """Run one call through authn and authz; return its context and the handler's principal."""

    async def handler(ctx: CallContext) -> Principal | None:
        return ctx.principal

    metadata = {}
    if token is not None:
        metadata["authorization"] = f"Bearer {token}"
    if authorization is not None:
        metadata["authorization"] = authorization
    ctx = CallContext(
        kind=kind, service=service, method=method, metadata=metadata, attributes=attributes or {}
    )
    result = await compose([security.authn, security.authz], handler)(ctx)
    return ctx, result


def b64(data: bytes) -> str:
    """base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge_hs256(claims: dict[str, Any], secret: bytes, kid: str) -> str:
    """An HS256 token signed with ``secret`` (PyJWT refuses to build this one)."""
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    payload = b64(json.dumps(claims).encode())
    signature = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(signature)}"
