"""The configurable HTTP middleware list around an OpenAPI app."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from microlib.http.middleware import HttpMiddlewareSettings, build_middleware, wrap
from tests.http.apps.store import Pets
from tests.http.conftest import store_app
from tests.http.gen.store31 import models

ORDER = {"items": [{"sku": "ABC-0001", "quantity": 1}]}


def client(settings: HttpMiddlewareSettings, **handlers: object) -> httpx.AsyncClient:
    """An httpx client over the Pet Store app wrapped in ``settings``' middleware."""
    app = wrap(store_app(**handlers), settings)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_default_list_adds_security_headers() -> None:
    """By default every response carries nosniff, DENY and no-referrer; CORS is off."""
    async with client(HttpMiddlewareSettings()) as c:
        r = await c.get("/store/inventory", headers={"Origin": "https://a.example"})
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert "access-control-allow-origin" not in r.headers


async def test_hsts_and_csp_are_sent_only_when_configured() -> None:
    """docs/http.md: `hsts_max_age` > 0 sends `max-age=N; includeSubDomains`, a non-empty
    `content_security_policy` is sent as written; by default neither is."""
    async with client(HttpMiddlewareSettings()) as c:
        plain = await c.get("/store/inventory")
    settings = HttpMiddlewareSettings.model_validate(
        {"security_headers": {"hsts_max_age": 31536000, "content_security_policy": "default-src 'none'"}}
    )
    async with client(settings) as c:
        strict = await c.get("/store/inventory")
    assert "strict-transport-security" not in plain.headers
    assert "content-security-policy" not in plain.headers
    assert strict.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    assert strict.headers["content-security-policy"] == "default-src 'none'"


async def test_cors_from_config() -> None:
    """Configured origins get CORS headers, preflights included; others do not."""
    settings = HttpMiddlewareSettings.model_validate({"cors": {"allow_origins": ["https://a.example"]}})
    async with client(settings) as c:
        ok = await c.get("/store/inventory", headers={"Origin": "https://a.example"})
        other = await c.get("/store/inventory", headers={"Origin": "https://b.example"})
        preflight = await c.options(
            "/store/orders",
            headers={"Origin": "https://a.example", "Access-Control-Request-Method": "POST"},
        )
    assert ok.headers["access-control-allow-origin"] == "https://a.example"
    assert "access-control-allow-origin" not in other.headers
    assert preflight.status_code == 200


async def test_body_limit_is_413_problem() -> None:
    """A body over max_body_bytes is refused with 413 before the handler runs."""
    settings = HttpMiddlewareSettings(max_body_bytes=20)
    async with client(settings) as c:
        r = await c.post("/store/orders", json=ORDER)
    assert r.status_code == 413
    assert r.json()["reason"] == "BODY_TOO_LARGE"


async def test_chunked_body_over_the_limit_is_413() -> None:
    """A chunked body, which declares no length, is counted as it is read and refused past the limit."""

    async def chunks() -> Any:
        for _ in range(4):
            yield b'{"items": [    '

    settings = HttpMiddlewareSettings(max_body_bytes=20)
    async with client(settings) as c:
        r = await c.post("/store/orders", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.json()["reason"] == "BODY_TOO_LARGE"


async def test_request_timeout_is_504() -> None:
    """A handler slower than request_timeout ends with 504 DEADLINE_EXCEEDED."""

    class SlowPets(Pets):
        async def get_pet(self, *, pet_id: int) -> Any:
            await asyncio.sleep(10)
            return None

    async with client(HttpMiddlewareSettings(request_timeout=0.05), pets=SlowPets()) as c:
        r = await c.get("/pets/1")
    assert r.status_code == 504
    assert r.json()["code"] == "DEADLINE_EXCEEDED"


async def test_gzip_large_responses() -> None:
    """Responses above gzip_minimum_size are compressed for clients that accept gzip."""
    pets = Pets()
    dog = models.NewPet.model_validate({"kind": "dog", "name": "rex"})
    for i in range(1, 60):
        pets.pets[i] = models.Pet.model_validate(
            {"id": i, "pet": dog.model_dump(), "createdAt": "2026-01-01T00:00:00Z"}
        )
    async with client(HttpMiddlewareSettings(gzip_minimum_size=100), pets=pets) as c:
        r = await c.get("/pets?limit=60", headers={"Accept-Encoding": "gzip"})
    assert r.headers["content-encoding"] == "gzip"
    assert len(r.json()["items"]) == 59


def test_order_is_configurable() -> None:
    """``order`` decides which middleware runs and in which order, first outermost."""
    settings = HttpMiddlewareSettings(order=["gzip", "body_limit"])
    names = [m.cls.__name__ for m in build_middleware(settings)]
    assert names == ["GZipMiddleware", "BodyLimitMiddleware"]


def test_unknown_middleware_name_is_rejected() -> None:
    """A name outside the known list is a config error naming the entry."""
    with pytest.raises(ValidationError, match=r"order\.0"):
        HttpMiddlewareSettings.model_validate({"order": ["request_id"]})
