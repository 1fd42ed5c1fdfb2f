"""Shared helpers for the security tests: building the stack and running calls."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import importlib
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from microlib.config.model import SecuritySettings
from microlib.core.chain import compose
from microlib.core.context import CallContext, CallKind, Principal
from microlib.security.opa import RegoPolicy
from microlib.security.setup import Security
from tests.codegen.conftest import codegen

from .conftest import serve, shutdown

KINDS: tuple[CallKind, ...] = ("http", "grpc")

PROTOS = Path(__file__).resolve().parent / "protos"


def generate_proto(proto: str, out: Path, package: str) -> ModuleType:
    """Run ``microlib codegen`` on ``protos/<proto>`` into ``out/<package>`` and import the result.

    Args:
        proto: The file under ``tests/security/protos`` (``securetest/v1/vault.proto``).
        out: A scratch directory, put on ``sys.path``.
        package: The generated top-level package's name.

    Returns:
        The generated module of the proto's package (``<package>.securetest.v1``).
    """
    result = codegen(PROTOS / proto, "--out", out / package, "-I", PROTOS)
    assert result.returncode == 0, result.stderr
    sys.path.insert(0, str(out))
    return importlib.import_module(f"{package}.{Path(proto).parent.as_posix().replace('/', '.')}")


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
    metadata: dict[str, str] | None = None,
    peer: str = "",
    request: Any = None,
) -> tuple[CallContext, Principal | None]:
    """Run one call through authn and authz; return its context and the handler's principal."""

    async def handler(ctx: CallContext) -> Principal | None:
        return ctx.principal

    metadata = dict(metadata or {})
    if token is not None:
        metadata["authorization"] = f"Bearer {token}"
    if authorization is not None:
        metadata["authorization"] = authorization
    ctx = CallContext(
        kind=kind,
        service=service,
        method=method,
        metadata=metadata,
        peer=peer,
        request=request,
        attributes=attributes or {},
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


def doors_servicers(gen: ModuleType) -> tuple[object, object]:
    """Implementations of both services of ``doors.proto``: each answers what it saw of the caller."""

    def answer(request: Any, ctx: CallContext) -> Any:
        principal = ctx.principal
        return gen.Record(
            id=request.id,
            owner=request.owner,
            subject=principal.subject if principal else "",
            authenticated=principal is not None,
        )

    class Records(gen.RecordService):  # type: ignore[misc, name-defined]
        async def get_record(self, request: Any, ctx: CallContext) -> Any:
            return answer(request, ctx)

        async def update_record(self, request: Any, ctx: CallContext) -> Any:
            return answer(request, ctx)

        async def audit_record(self, request: Any, ctx: CallContext) -> Any:
            return answer(request, ctx)

        async def ping(self, request: Any, ctx: CallContext) -> Any:
            return answer(request, ctx)

        async def watch_record(self, request: Any, ctx: CallContext) -> AsyncIterator[Any]:
            for _ in range(2):
                yield answer(request, ctx)

    class Ledger(gen.LedgerService):  # type: ignore[misc, name-defined]
        async def get_entry(self, request: Any, ctx: CallContext) -> Any:
            return answer(request, ctx)

        async def add_entry(self, request: Any, ctx: CallContext) -> Any:
            return answer(request, ctx)

    return Records(), Ledger()


@contextlib.asynccontextmanager
async def opa_stand_in(policy: str, rule: str) -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """A small OPA server: ``POST /v1/data/<rule path>`` evaluates ``policy`` with rego-cpp.

    Args:
        policy: The Rego module.
        rule: The rule it answers for (``microlib.authz.decision``); others are undefined.

    Yields:
        The server's URL and the list of every input document it received.
    """
    engine = RegoPolicy({"policy.rego": policy}, query=f"data.{rule}")
    inputs: list[dict[str, Any]] = []

    async def data(request: Request) -> JSONResponse:
        body = await request.json()
        inputs.append(body["input"])
        if request.path_params["path"].replace("/", ".") != rule:
            return JSONResponse({})  # OPA answers an undefined document without "result"
        return JSONResponse({"result": await engine.evaluate(body["input"])})

    server, task, url = await serve(Starlette(routes=[Route("/v1/data/{path:path}", data, methods=["POST"])]))
    try:
        yield url, inputs
    finally:
        await shutdown(server, task)
