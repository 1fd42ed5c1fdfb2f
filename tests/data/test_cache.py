"""The Cache protocol on memory and Redis: values, TTLs, counters, namespaces, types."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import BaseModel

from microlib.data import Cache, CacheSettings, MemoryCache, TypedCache, open_cache
from microlib.data.redis_cache import RedisCache
from tests.data._metrics import PromMetrics


class Book(BaseModel):
    """A cached value."""

    id: int
    title: str


async def test_set_get_delete(cache: Cache) -> None:
    """Values round-trip; absent keys read as None; delete counts what existed."""
    assert await cache.get("k") is None
    await cache.set("k", b"v")
    assert await cache.get("k") == b"v"
    assert await cache.delete("k", "absent") == 1
    assert await cache.get("k") is None


async def test_many(cache: Cache) -> None:
    """get_many keeps the order of the keys and None for the missing ones."""
    await cache.set_many({"a": b"1", "b": b"2"})
    assert await cache.get_many(["b", "x", "a"]) == [b"2", None, b"1"]


async def test_entries_expire(cache: Cache) -> None:
    """An entry is gone once its TTL has passed."""
    await cache.set("short", b"v", ttl=0.05)
    await cache.set("long", b"v", ttl=60)
    await asyncio.sleep(0.2)
    assert await cache.get_many(["short", "long"]) == [None, b"v"]


async def test_incr_is_atomic(cache: Cache) -> None:
    """A hundred concurrent increments all count; the TTL starts when the counter is created."""
    await asyncio.gather(*(cache.incr("hits", ttl=60) for _ in range(100)))
    assert await cache.incr("hits", 0) == 100
    assert await cache.incr("window", 5, ttl=0.05) == 5
    await asyncio.sleep(0.2)
    assert await cache.get("window") is None


async def test_add_and_delete_if_make_a_lock(cache: Cache) -> None:
    """add stores only when absent; delete_if removes only the holder's value."""
    assert await cache.add("lock", b"me", ttl=10)
    assert not await cache.add("lock", b"you", ttl=10)
    assert not await cache.delete_if("lock", b"you")
    assert await cache.delete_if("lock", b"me")
    assert await cache.add("lock", b"you", ttl=10)


async def test_keys_are_namespaced(cache: Cache, metrics: PromMetrics) -> None:
    """Another namespace or version never sees this cache's entries."""
    await cache.set("shared", b"mine")
    namespace = cache.prefix.split(":")[0]
    if isinstance(cache, RedisCache):
        other: Cache = RedisCache(CacheSettings(url=cache.settings.url, namespace=namespace, version="2"))
    else:
        other = MemoryCache(namespace, "2")
    await other.set("shared", b"theirs")
    assert await cache.get("shared") == b"mine"
    await other.stop()


async def test_typed_values(cache: Cache) -> None:
    """Models round-trip through JSON; an entry of an older shape reads as a miss."""
    books = TypedCache(cache, Book, prefix="book:")
    await books.set("1", Book(id=1, title="Dune"))
    await books.set_many({"2": Book(id=2, title="Emma")})
    assert await books.get("1") == Book(id=1, title="Dune")
    assert await books.get_many(["1", "2", "3"]) == {
        "1": Book(id=1, title="Dune"),
        "2": Book(id=2, title="Emma"),
    }
    await cache.set("book:old", b'{"id": 3}')
    assert await books.get("old") is None


async def test_hits_and_misses_are_counted(cache: Cache, metrics: PromMetrics) -> None:
    """Each lookup counts as a hit or a miss."""
    await cache.set("k", b"v")
    await cache.get("k")
    await cache.get_many(["k", "x", "y"])
    assert metrics.value("microlib_cache_hits_total", cache="cache") == 2
    assert metrics.value("microlib_cache_misses_total", cache="cache") == 2


async def test_check_reports_healthy(cache: Cache) -> None:
    """A reachable cache passes its health check."""
    await cache.check()


def test_memory_lru_evicts_the_least_recently_used() -> None:
    """Beyond max_entries the entry read or written longest ago goes first."""

    async def scenario() -> list[bytes | None]:
        lru = MemoryCache(max_entries=2)
        await lru.set("a", b"1")
        await lru.set("b", b"2")
        await lru.get("a")
        await lru.set("c", b"3")
        return await lru.get_many(["a", "b", "c"])

    assert asyncio.run(scenario()) == [b"1", None, b"3"]


def test_open_cache_by_url() -> None:
    """memory:// and redis:// pick the implementation; other schemes are refused, naming the key."""
    assert isinstance(open_cache(CacheSettings(), namespace="svc"), MemoryCache)
    redis_cache = open_cache(CacheSettings(url="redis://127.0.0.1:1/0"), namespace="svc")
    assert isinstance(redis_cache, RedisCache)
    assert redis_cache.prefix == "svc:1:"
    with pytest.raises(ValueError, match=r"cache\.url"):
        open_cache(CacheSettings(url="ftp://x"), namespace="svc")


def test_memory_default_ttl_applies_to_entries_but_not_counters() -> None:
    """Entries without a TTL get ``default_ttl``; a counter without one never expires."""

    async def scenario() -> list[bytes | None]:
        lru = MemoryCache(default_ttl=0.05)
        await lru.set("entry", b"v")
        await lru.incr("counter")
        await asyncio.sleep(0.2)
        return await lru.get_many(["entry", "counter"])

    assert asyncio.run(scenario()) == [None, b"1"]
