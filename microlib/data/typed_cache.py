"""TypedCache: pydantic-typed values over a bytes Cache."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar, cast

import structlog
from pydantic import TypeAdapter, ValidationError

from microlib.data.cache import Cache

__all__ = ["TypedCache"]

T = TypeVar("T")

log = structlog.get_logger("microlib.data.cache")


class TypedCache(Generic[T]):
    """Values of one type, stored as JSON through a pydantic ``TypeAdapter``.

    An entry that no longer validates (the type changed since it was
    written) reads as a miss, so a deploy never fails on old entries; bump
    the cache ``version`` to drop them all at once.

    Args:
        cache: The cache underneath.
        type_: The value type: a model, ``list[Book]``, ``int``...
        prefix: Prepended to every key (``"book:"``), after the cache's own
            namespace and version.
        ttl: Seconds entries live; None for the cache's default.

    Example::

        books = TypedCache(cache, Book, prefix="book:")
        await books.set("42", book)
        book = await books.get("42")
    """

    def __init__(
        self, cache: Cache, type_: type[T] | Any, *, prefix: str = "", ttl: float | None = None
    ) -> None:
        self.cache = cache
        self.prefix = prefix
        self.ttl = ttl
        self._adapter: TypeAdapter[T] = TypeAdapter(type_)

    def key(self, key: str) -> str:
        """The cache key of ``key`` (without the cache's namespace)."""
        return self.prefix + key

    def encode(self, value: T) -> bytes:
        """``value`` as stored."""
        return self._adapter.dump_json(value)

    def decode(self, key: str, raw: bytes) -> tuple[bool, T | None]:
        """(valid, value) of a stored entry; invalid entries are logged."""
        try:
            return True, self._adapter.validate_json(raw)
        except ValidationError as exc:
            log.warning(
                "cache entry does not match its type; treated as a miss", key=key, errors=exc.error_count()
            )
            return False, None

    async def get(self, key: str) -> T | None:
        """The value under ``key``, or None when absent, expired or stale."""
        raw = await self.cache.get(self.prefix + key)
        return None if raw is None else self.decode(key, raw)[1]

    async def get_many(self, keys: Sequence[str]) -> dict[str, T]:
        """The values found under ``keys`` (absent keys are left out)."""
        raws = await self.cache.get_many([self.prefix + k for k in keys])
        found: dict[str, T] = {}
        for key, raw in zip(keys, raws, strict=True):
            if raw is not None:
                valid, value = self.decode(key, raw)
                if valid:
                    found[key] = cast(T, value)
        return found

    async def set(self, key: str, value: T, *, ttl: float | None = None) -> None:
        """Store ``value`` under ``key``."""
        await self.cache.set(self.prefix + key, self.encode(value), ttl=self.ttl if ttl is None else ttl)

    async def set_many(self, items: Mapping[str, T], *, ttl: float | None = None) -> None:
        """Store several values in one round trip."""
        encoded = {self.prefix + k: self.encode(v) for k, v in items.items()}
        await self.cache.set_many(encoded, ttl=self.ttl if ttl is None else ttl)

    async def delete(self, *keys: str) -> int:
        """Remove ``keys``; returns how many existed."""
        return await self.cache.delete(*(self.prefix + k for k in keys))
