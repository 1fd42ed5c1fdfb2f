"""Cache-aside reads: loaded once per key, in a process and across replicas."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from pydantic import BaseModel

from microlib.core.errors import NotFound
from microlib.data import Cache, CacheAside, CacheSettings
from microlib.data.redis_cache import RedisCache


class Book(BaseModel):
    """A cached value."""

    id: int
    title: str


class CountingLoader:
    """Loads a book slowly and counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self) -> Book:
        self.calls += 1
        await asyncio.sleep(0.2)
        return Book(id=1, title="Dune")


async def test_hundred_concurrent_readers_load_once(cache: Cache) -> None:
    """100 concurrent misses of one key call the loader once and all get its value."""
    books = CacheAside(cache, Book, prefix="book:", ttl=60)
    loader = CountingLoader()
    results = await asyncio.gather(*(books.get("1", loader) for _ in range(100)))
    assert loader.calls == 1
    assert all(r == Book(id=1, title="Dune") for r in results)
    assert await books.get("1", loader) == Book(id=1, title="Dune")
    assert loader.calls == 1


@pytest.mark.connected
async def test_two_replicas_sharing_redis_load_once() -> None:
    """Two cache instances (separate pools, as two replicas) sharing Redis: one load in all."""
    settings = CacheSettings(url="redis://127.0.0.1:6379/0", namespace=f"t{uuid.uuid4().hex[:12]}")
    replicas = [RedisCache(settings), RedisCache(settings)]
    loader = CountingLoader()
    try:
        asides = [CacheAside(r, Book, prefix="book:", ttl=60, poll_interval=0.01) for r in replicas]
        results = await asyncio.gather(*(asides[i % 2].get("1", loader) for i in range(100)))
        assert loader.calls == 1
        assert all(r == Book(id=1, title="Dune") for r in results)
    finally:
        await replicas[0].delete("book:1")
        for r in replicas:
            await r.stop()


async def test_none_is_cached(cache: Cache) -> None:
    """A loader returning None is remembered, so a missing row is not looked up again."""
    calls = 0

    async def missing() -> Book | None:
        nonlocal calls
        calls += 1
        return None

    books: CacheAside[Book | None] = CacheAside(cache, Book | None, ttl=60)
    assert await books.get("404", missing) is None
    assert await books.get("404", missing) is None
    assert calls == 1


async def test_loader_errors_reach_every_waiter_and_nothing_is_cached(cache: Cache) -> None:
    """When the loader raises, every concurrent caller gets the error; the next read retries."""
    calls = 0

    async def failing() -> Book:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        raise NotFound("book 7 not found")

    books = CacheAside(cache, Book)
    results = await asyncio.gather(*(books.get("7", failing) for _ in range(10)), return_exceptions=True)
    assert calls == 1
    assert all(isinstance(r, NotFound) for r in results)
    with pytest.raises(NotFound):
        await books.get("7", failing)
    assert calls == 2


async def test_invalidate_forces_a_reload(cache: Cache) -> None:
    """After invalidate, the next read calls the loader again."""
    books = CacheAside(cache, Book, ttl=60)
    loader = CountingLoader()
    await books.get("1", loader)
    assert await books.invalidate("1") == 1
    await books.get("1", loader)
    assert loader.calls == 2


async def test_a_cancelled_reader_does_not_cancel_the_load(cache: Cache) -> None:
    """One caller giving up leaves the shared load running for the others."""
    books = CacheAside(cache, Book, ttl=60)
    loader = CountingLoader()
    quitter = asyncio.create_task(books.get("1", loader))
    stayer = asyncio.create_task(books.get("1", loader))
    await asyncio.sleep(0.05)
    quitter.cancel()
    assert await stayer == Book(id=1, title="Dune")
    assert loader.calls == 1
