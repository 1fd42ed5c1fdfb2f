"""Fixtures: a local OIDC issuer over real HTTP on loopback, and token minting."""

from __future__ import annotations

import asyncio
import functools
import threading
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


@dataclass
class SigningKey:
    """A private key with its kid and algorithm."""

    kid: str
    alg: str
    private: Any

    def jwk(self) -> dict[str, Any]:
        """The public JWK."""
        algorithm = jwt.algorithms.get_default_algorithms()[self.alg]
        data: dict[str, Any] = algorithm.to_jwk(self.private.public_key(), as_dict=True)
        data.update(kid=self.kid, alg=self.alg, use="sig")
        return data


def rsa_key(kid: str | None = None, *, slot: str | None = None) -> SigningKey:
    """An RS256 key; the same ``slot`` (default: the kid) reuses one RSA-2048 key per session."""
    kid = kid or uuid.uuid4().hex[:8]
    return SigningKey(kid, "RS256", _rsa_private(slot or kid))


@functools.cache
def _rsa_private(slot: str) -> rsa.RSAPrivateKey:
    # RSA generation costs 0.1-0.5 s; distinct slots still give distinct keys.
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def ec_key(kid: str | None = None) -> SigningKey:
    """A fresh P-256 ES256 key."""
    return SigningKey(kid or uuid.uuid4().hex[:8], "ES256", ec.generate_private_key(ec.SECP256R1()))


@dataclass
class OidcIssuer:
    """A running OIDC issuer: discovery and JWKS served over HTTP."""

    url: str
    keys: list[SigningKey]
    audience: str = "api://test"
    jwks_hits: int = 0
    discovery_hits: int = 0
    failing: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def issuer(self) -> str:
        """The issuer identifier (its base URL)."""
        return self.url

    @property
    def discovery_url(self) -> str:
        """The discovery document URL."""
        return f"{self.url}/.well-known/openid-configuration"

    @property
    def jwks_url(self) -> str:
        """The JWKS URL."""
        return f"{self.url}/jwks"

    def mint(
        self, key: SigningKey | None = None, *, headers: dict[str, Any] | None = None, **claims: Any
    ) -> str:
        """A signed token with sensible default claims, overridable."""
        key = key or self.keys[0]
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": "user-1",
            "iat": now,
            "exp": now + 300,
        }
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(body, key.private, algorithm=key.alg, headers={"kid": key.kid, **(headers or {})})


async def serve(app: Starlette) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    """Run ``app`` with uvicorn on 127.0.0.1:0 in this loop."""
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=0, log_level="warning", lifespan="off", ws="none", http="h11"
        )
    )
    task = asyncio.get_running_loop().create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, task, f"http://127.0.0.1:{port}"


async def shutdown(server: uvicorn.Server, task: asyncio.Task[None]) -> None:
    """Stop a server started by :func:`serve`."""
    server.should_exit = True
    await asyncio.wait_for(task, 10)


@pytest.fixture
async def oidc() -> AsyncIterator[OidcIssuer]:
    """An OIDC issuer with one RSA and one EC key, over real HTTP."""
    state = OidcIssuer(url="", keys=[rsa_key("rsa-1"), ec_key("ec-1")])

    async def discovery(_: Request) -> JSONResponse:
        state.discovery_hits += 1
        return JSONResponse({"issuer": state.issuer, "jwks_uri": state.jwks_url, **state.extra})

    async def jwks(_: Request) -> JSONResponse:
        state.jwks_hits += 1
        if state.failing:
            return JSONResponse({"error": "down"}, status_code=503)
        return JSONResponse({"keys": [k.jwk() for k in state.keys]})

    app = Starlette(routes=[Route("/.well-known/openid-configuration", discovery), Route("/jwks", jwks)])
    server, task, url = await serve(app)
    state.url = url
    yield state
    await shutdown(server, task)


@pytest.fixture(scope="session")
def other_key() -> SigningKey:
    """A key no issuer publishes."""
    return rsa_key("rsa-1", slot="other-issuer")


class ThreadedServer:
    """An ASGI app served by uvicorn in its own thread and loop.

    For servers that synchronous clients (hvac, boto3) call from the test's
    own thread, where an in-loop server would deadlock.
    """

    def __init__(self, app: Starlette) -> None:
        self._server = uvicorn.Server(
            uvicorn.Config(
                app, host="127.0.0.1", port=0, log_level="warning", lifespan="off", ws="none", http="h11"
            )
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> str:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.01)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(10)


@pytest.fixture(scope="session")
def doors_gen(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """``microlib codegen`` output for ``protos/doorstest/v1/doors.proto``, imported once."""
    from .helpers import generate_proto

    return generate_proto("doorstest/v1/doors.proto", tmp_path_factory.mktemp("codegen"), "doorsgen")
