"""Behind a proxy: the client address and scheme a trusted proxy forwards (uvicorn's
proxy headers, trusted from ``FORWARDED_ALLOW_IPS``, by default 127.0.0.1 only)."""

from __future__ import annotations

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse

from microlib import Service
from microlib.testing import TestService


def whoami() -> Service:
    service = Service("shop")

    @service.http.route("/whoami")
    async def who(request: Request) -> JSONResponse:
        assert request.client is not None
        return JSONResponse({"client": request.client.host, "scheme": request.url.scheme})

    return service


FORWARDED = {"x-forwarded-for": "203.0.113.9", "x-forwarded-proto": "https"}


async def test_a_proxy_on_the_same_host_is_trusted_by_default() -> None:
    async with TestService(whoami(), listen=True) as t:
        port = t.service.component("http").port  # type: ignore[attr-defined]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            assert (await client.get("/whoami", headers=FORWARDED)).json() == {
                "client": "203.0.113.9",
                "scheme": "https",
            }
            assert (await client.get("/whoami")).json() == {"client": "127.0.0.1", "scheme": "http"}


async def test_other_proxies_are_trusted_only_when_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "10.0.0.0/8")
    async with TestService(whoami(), listen=True) as t:
        port = t.service.component("http").port  # type: ignore[attr-defined]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            assert (await client.get("/whoami", headers=FORWARDED)).json() == {
                "client": "127.0.0.1",
                "scheme": "http",
            }
