"""RedisCache against its own redis-server: an outage is Unavailable, and it recovers."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from microlib.core.errors import Unavailable
from microlib.data import CacheAside, CacheSettings
from microlib.data.redis_cache import RedisCache
from tests.data._metrics import PromMetrics
from tests.data._redis import RedisServer


class Book(BaseModel):
    """A cached value."""

    id: int


@pytest.mark.connected
async def test_outage_gives_unavailable_then_recovers(
    redis_server: RedisServer, metrics: PromMetrics
) -> None:
    """Server stopped mid-run: clear Unavailable errors naming it; restarted: the same cache works again."""
    settings = CacheSettings(url=redis_server.url, namespace="outage", retries=1, socket_timeout=0.5)
    cache = RedisCache(settings, metrics=metrics)
    await cache.start()
    await cache.set("k", b"v")

    redis_server.stop()
    with pytest.raises(
        Unavailable, match=rf"cache get: redis at 127\.0\.0\.1:{redis_server.port} unavailable"
    ):
        await cache.get("k")
    with pytest.raises(Unavailable, match="health check"):
        await cache.check()
    assert metrics.value("microlib_cache_errors_total", cache="cache", operation="get") == 1

    loads = 0

    async def load() -> Book:
        nonlocal loads
        loads += 1
        return Book(id=1)

    assert await CacheAside(cache, Book).get("b", load) == Book(id=1)
    assert loads == 1
    with pytest.raises(Unavailable):
        await CacheAside(cache, Book, fail_open=False).get("b", load)

    redis_server.start()
    await cache.check()
    await cache.set("k", b"again")
    assert await cache.get("k") == b"again"
    await cache.stop()


async def test_unreachable_at_start_is_unavailable() -> None:
    """Starting against a port where nothing listens fails with Unavailable."""
    cache = RedisCache(CacheSettings(url="redis://127.0.0.1:1/0", retries=0, connect_timeout=0.5))
    with pytest.raises(Unavailable, match="health check"):
        await cache.start()
    await cache.stop()
