"""CacheAside: read through a cache, loading each missing value only once.

On a miss, one loader runs per key: concurrent callers in the process wait
for the same load (single-flight), and replicas sharing a Redis cache wait
on a lock key (``SET NX`` with a TTL) until the winner has stored the value.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar, cast

import structlog

from microlib.core.errors import Unavailable
from microlib.data.cache import Cache
from microlib.data.typed_cache import TypedCache

__all__ = ["CacheAside", "Loader"]

T = TypeVar("T")

Loader = Callable[[], Awaitable[T]]
"""Produces the value of a missing key (from the database, another service...)."""

log = structlog.get_logger("microlib.data.cache")


class CacheAside(Generic[T]):
    """Cache-aside reads of one value type, with stampede protection.

    A loader's result is cached even when it is None (a negative entry),
    so a missing row does not hit the database on every request.

    Args:
        cache: The cache; a Redis one also coordinates across replicas.
        type_: The value type (a pydantic model, ``list[Book]``...).
        prefix: Prepended to every key (``"book:"``).
        ttl: Seconds a loaded value lives; None for the cache's default.
        lock_ttl: Seconds the cross-replica lock lives at most: a replica
            that died while loading delays the others by this much at most.
        poll_interval: Seconds between looks for the winner's value.
        fail_open: When the cache is unavailable, call the loader directly
            (still once per key in the process) instead of raising.

    Example::

        books = CacheAside(cache, Book | None, prefix="book:", ttl=60)
        book = await books.get(book_id, lambda: repo.find(book_id))
    """

    def __init__(
        self,
        cache: Cache,
        type_: type[T] | Any,
        *,
        prefix: str = "",
        ttl: float | None = None,
        lock_ttl: float = 10.0,
        poll_interval: float = 0.05,
        fail_open: bool = True,
    ) -> None:
        self.typed: TypedCache[T] = TypedCache(cache, type_, prefix=prefix, ttl=ttl)
        self._cache = cache
        self._ttl = ttl
        self._lock_ttl = lock_ttl
        self._poll = poll_interval
        self._fail_open = fail_open
        self._inflight: dict[str, asyncio.Future[T]] = {}

    async def get(self, key: str, loader: Loader[T]) -> T:
        """The cached value of ``key``, loading and caching it on a miss.

        Raises:
            Unavailable: the cache is down and ``fail_open`` is off.
            Exception: whatever the loader raised (nothing is cached then).
        """
        full = self.typed.prefix + key
        try:
            raw = await self._cache.get(full)
        except Unavailable:
            if not self._fail_open:
                raise
            raw = None
        if raw is not None:
            valid, value = self.typed.decode(key, raw)
            if valid:
                return cast(T, value)
        flight = self._inflight.get(key)
        if flight is None:
            flight = asyncio.ensure_future(self._load(key, full, loader))
            self._inflight[key] = flight
            flight.add_done_callback(lambda done: self._landed(key, done))
        # Shielded: a caller that gives up must not cancel the others' load.
        return await asyncio.shield(flight)

    def _landed(self, key: str, flight: asyncio.Future[T]) -> None:
        self._inflight.pop(key, None)
        if not flight.cancelled():
            # Marks the error as retrieved even if every caller gave up waiting.
            flight.exception()

    async def invalidate(self, *keys: str) -> int:
        """Remove ``keys`` so the next read loads them afresh."""
        return await self.typed.delete(*keys)

    async def _load(self, key: str, full: str, loader: Loader[T]) -> T:
        try:
            return await self._load_once_across_replicas(key, full, loader)
        except Unavailable:
            if not self._fail_open:
                raise
            log.warning("cache unavailable; loading without it", key=full)
            return await loader()

    async def _load_once_across_replicas(self, key: str, full: str, loader: Loader[T]) -> T:
        lock, token = f"{full}:lock", uuid.uuid4().bytes
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._lock_ttl
        while not await self._cache.add(lock, token, ttl=self._lock_ttl):
            if loop.time() > deadline:
                log.warning("cache-aside lock not released in time; loading anyway", key=full)
                return await self._store(full, await loader())
            await asyncio.sleep(self._poll)
            raw = await self._cache.get(full)
            if raw is not None:
                valid, value = self.typed.decode(key, raw)
                if valid:
                    return cast(T, value)
        try:
            # Another replica may have stored it between our miss and our lock.
            raw = await self._cache.get(full)
            if raw is not None:
                valid, value = self.typed.decode(key, raw)
                if valid:
                    return cast(T, value)
            return await self._store(full, await loader())
        finally:
            try:
                await self._cache.delete_if(lock, token)
            except Unavailable:
                log.warning("cache-aside lock not released; it expires on its own", key=full)

    async def _store(self, full: str, value: T) -> T:
        try:
            await self._cache.set(full, self.typed.encode(value), ttl=self._ttl)
        except Unavailable:
            if not self._fail_open:
                raise
            log.warning("cache unavailable; loaded value not cached", key=full)
        return value
