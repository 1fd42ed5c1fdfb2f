"""The Cache protocol, its in-memory implementation, and a factory by URL.

A cache stores bytes under string keys; every key is prefixed with the
cache's namespace and version (``bookshop:1:user:42``), so services sharing
a Redis server never collide and bumping the version abandons old entries.
Typed values go through :class:`~microlib.data.typed_cache.TypedCache`.

``memory://`` is a bounded LRU with TTLs in the process; ``redis://`` is
:class:`~microlib.data.redis_cache.RedisCache`, shared by every replica.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from microlib.data._cache_keys import make_prefix
from microlib.data._cache_metrics import CacheMetrics

if TYPE_CHECKING:
    from microlib.config.model import CacheSettings
    from microlib.observability.metrics import Metrics

__all__ = ["Cache", "MemoryCache", "open_cache"]


@runtime_checkable
class Cache(Protocol):
    """Bytes under namespaced keys, with TTLs; also a lifecycle component.

    ``ttl=None`` means the cache's default TTL (which may be "forever").
    Backend failures raise ``microlib.core.errors.Unavailable``.
    """

    name: str
    prefix: str

    async def get(self, key: str) -> bytes | None:
        """The value under ``key``, or None when absent or expired."""
        ...

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """The values under ``keys``, in order, None where absent."""
        ...

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        """Store ``value`` under ``key`` for ``ttl`` seconds."""
        ...

    async def set_many(self, items: Mapping[str, bytes], *, ttl: float | None = None) -> None:
        """Store several values with one TTL."""
        ...

    async def add(self, key: str, value: bytes, *, ttl: float | None = None) -> bool:
        """Store ``value`` only if ``key`` is absent; True if stored (a lock)."""
        ...

    async def delete(self, *keys: str) -> int:
        """Remove ``keys``; returns how many existed."""
        ...

    async def delete_if(self, key: str, value: bytes) -> bool:
        """Remove ``key`` only if it still holds ``value`` (releases a lock)."""
        ...

    async def incr(self, key: str, amount: int = 1, *, ttl: float | None = None) -> int:
        """Atomically add ``amount`` to an integer (0 if absent) and return it.

        ``ttl`` applies only when the key is created (a rate-limit window);
        without one the counter does not expire.
        """
        ...

    async def start(self) -> None:
        """Connect."""
        ...

    async def stop(self) -> None:
        """Release connections."""
        ...

    async def check(self) -> Mapping[str, Any] | None:
        """Raise ``Unavailable`` if the backend does not answer."""
        ...


class MemoryCache:
    """An in-process LRU of at most ``max_entries`` entries, with TTLs.

    Args:
        namespace: Key prefix, usually the service name.
        version: Second key prefix.
        max_entries: The least recently used entry is evicted beyond this.
        default_ttl: Seconds an entry lives when no TTL is given; None
            for no expiry.
        metrics: Where hit, miss and latency metrics go.
        name: The component's name.
    """

    def __init__(
        self,
        namespace: str = "app",
        version: str = "1",
        *,
        max_entries: int = 10_000,
        default_ttl: float | None = 300.0,
        metrics: Metrics | None = None,
        name: str = "cache",
    ) -> None:
        self.name = name
        self.prefix = make_prefix(namespace, version)
        self.max_entries = max_entries
        self.default_ttl = default_ttl
        self._entries: OrderedDict[str, tuple[bytes, float | None]] = OrderedDict()
        self._metrics = CacheMetrics(name, metrics)

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, key: str) -> bytes | None:
        """The value under ``key``, or None when absent or expired."""
        value = self._get(self.prefix + key)
        self._metrics.looked_up(1 if value is not None else 0, 1)
        return value

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """The values under ``keys``, in order, None where absent."""
        values = [self._get(self.prefix + k) for k in keys]
        self._metrics.looked_up(sum(v is not None for v in values), len(values))
        return values

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        """Store ``value`` under ``key`` for ``ttl`` seconds."""
        self._set(self.prefix + key, value, ttl)

    async def set_many(self, items: Mapping[str, bytes], *, ttl: float | None = None) -> None:
        """Store several values with one TTL."""
        for key, value in items.items():
            self._set(self.prefix + key, value, ttl)

    async def add(self, key: str, value: bytes, *, ttl: float | None = None) -> bool:
        """Store ``value`` only if ``key`` is absent; True if stored."""
        if self._get(self.prefix + key) is not None:
            return False
        self._set(self.prefix + key, value, ttl)
        return True

    async def delete(self, *keys: str) -> int:
        """Remove ``keys``; returns how many existed."""
        return sum(self._entries.pop(self.prefix + k, None) is not None for k in keys)

    async def delete_if(self, key: str, value: bytes) -> bool:
        """Remove ``key`` only if it still holds ``value``."""
        if self._get(self.prefix + key) != value:
            return False
        del self._entries[self.prefix + key]
        return True

    async def incr(self, key: str, amount: int = 1, *, ttl: float | None = None) -> int:
        """Atomically add ``amount`` to an integer (0 if absent) and return it."""
        full = self.prefix + key
        current = self._get(full)
        if current is None:
            # A counter without a TTL never expires, whatever the default TTL.
            self._entries[full] = (str(amount).encode(), time.monotonic() + ttl if ttl is not None else None)
            self._entries.move_to_end(full)
            return amount
        total = int(current) + amount
        self._entries[full] = (str(total).encode(), self._entries[full][1])
        return total

    async def start(self) -> None:
        """Nothing to connect."""

    async def stop(self) -> None:
        """Drop every entry."""
        self._entries.clear()

    async def check(self) -> Mapping[str, Any] | None:
        """Always healthy; reports the number of entries."""
        return {"entries": len(self._entries)}

    def _get(self, full: str) -> bytes | None:
        entry = self._entries.get(full)
        if entry is None:
            return None
        value, expires = entry
        if expires is not None and expires <= time.monotonic():
            del self._entries[full]
            return None
        self._entries.move_to_end(full)
        return value

    def _set(self, full: str, value: bytes, ttl: float | None) -> None:
        ttl = self.default_ttl if ttl is None else ttl
        self._entries[full] = (value, time.monotonic() + ttl if ttl is not None else None)
        self._entries.move_to_end(full)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


def open_cache(
    settings: CacheSettings, *, namespace: str, metrics: Metrics | None = None, name: str = "cache"
) -> Cache:
    """The cache ``settings.url`` names: ``memory://`` or ``redis://``.

    Args:
        settings: The ``cache`` section.
        namespace: The key prefix when ``settings.namespace`` is unset
            (the service's name).
        metrics: Where hit, miss and latency metrics go.
        name: The component's name.

    Raises:
        ValueError: for any other URL scheme.
    """
    namespace = settings.namespace or namespace
    scheme = settings.url.partition("://")[0]
    if scheme == "memory":
        return MemoryCache(
            namespace,
            settings.version,
            max_entries=settings.max_entries,
            default_ttl=settings.default_ttl,
            metrics=metrics,
            name=name,
        )
    if scheme in ("redis", "rediss", "unix"):
        from microlib.data.redis_cache import RedisCache

        return RedisCache(settings, namespace=namespace, metrics=metrics, name=name)
    raise ValueError(f"cache.url {settings.url!r}: the scheme must be memory://, redis:// or rediss://")
