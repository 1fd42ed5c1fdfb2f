"""RedisCache: the Cache protocol on a Redis server shared by every replica.

Commands go through one bounded connection pool with socket timeouts; a
connection error or timeout is retried with exponential backoff, then
raised as ``Unavailable`` naming the operation and the server. The pool
reconnects on its own once the server is back.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

from microlib.config.model import CacheSettings
from microlib.core.errors import Error, Internal, Unavailable
from microlib.data._cache_keys import make_prefix
from microlib.data._cache_metrics import CacheMetrics
from microlib.data.errors import DOMAIN

try:
    from redis import exceptions as redis_errors
    from redis.asyncio import ConnectionPool, Redis
    from redis.asyncio.retry import Retry
    from redis.backoff import ExponentialBackoff
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError("RedisCache needs the redis client: pip install 'microlib[redis]'") from exc

if TYPE_CHECKING:
    from microlib.observability.metrics import Metrics

__all__ = ["RedisCache"]

R = TypeVar("R")

# Compare-and-delete: release a lock only if we still hold it.
_DELETE_IF = (
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end"
)
# Increment, and start the TTL only when the counter is new (no TTL yet).
_INCR = """
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if tonumber(ARGV[2]) > 0 and redis.call('PTTL', KEYS[1]) == -1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return value
"""


class RedisCache:
    """A cache on Redis, pooled, with timeouts and retries.

    At most ``max_connections`` commands are in flight; a command finding
    every connection busy waits up to ``socket_timeout`` for one.

    Args:
        settings: The ``cache`` section, or just a ``redis://`` URL.
        namespace: Key prefix when ``settings.namespace`` is unset.
        metrics: Where hit, miss, error and latency metrics go.
        name: The component's name.
    """

    def __init__(
        self,
        settings: CacheSettings | str,
        *,
        namespace: str = "app",
        metrics: Metrics | None = None,
        name: str = "cache",
    ) -> None:
        if isinstance(settings, str):
            settings = CacheSettings(url=settings)
        self.name = name
        self.settings = settings
        self.prefix = make_prefix(settings.namespace or namespace, settings.version)
        self.default_ttl = settings.default_ttl
        self._metrics = CacheMetrics(name, metrics)
        self._pool = ConnectionPool.from_url(
            settings.url,
            max_connections=settings.max_connections,
            # The command timeout is ours (one timer per command): with its own
            # socket_timeout, redis-py wraps every write in a task (asyncio.wait_for).
            socket_timeout=None,
            socket_connect_timeout=settings.connect_timeout,
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.02), settings.retries),
            health_check_interval=30,
        )
        # redis-py's own pool fails at once when exhausted and its blocking pool
        # costs a lock per command; an uncontended semaphore costs next to nothing.
        self._slots = asyncio.Semaphore(settings.max_connections)
        self.client = Redis(connection_pool=self._pool)
        self._delete_if = self.client.register_script(_DELETE_IF)
        self._incr = self.client.register_script(_INCR)
        kwargs = self._pool.connection_kwargs
        self._where = f"redis at {kwargs.get('host', kwargs.get('path', '?'))}:{kwargs.get('port', '')}"

    async def get(self, key: str) -> bytes | None:
        """The value under ``key``, or None when absent or expired."""
        value = cast("bytes | None", await self._call("get", self.client.get, self.prefix + key))
        self._metrics.looked_up(1 if value is not None else 0, 1)
        return value

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """The values under ``keys``, in order, None where absent."""
        if not keys:
            return []
        full = [self.prefix + k for k in keys]
        values = cast("list[bytes | None]", await self._call("get_many", self.client.mget, full))
        self._metrics.looked_up(sum(v is not None for v in values), len(values))
        return values

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        """Store ``value`` under ``key`` for ``ttl`` seconds."""
        await self._call("set", self.client.set, self.prefix + key, value, px=self._px(ttl))

    async def set_many(self, items: Mapping[str, bytes], *, ttl: float | None = None) -> None:
        """Store several values with one TTL, in one round trip."""
        px = self._px(ttl)

        async def pipelined() -> None:
            async with self.client.pipeline(transaction=False) as pipe:
                for key, value in items.items():
                    pipe.set(self.prefix + key, value, px=px)
                await pipe.execute()

        await self._call("set_many", pipelined)

    async def add(self, key: str, value: bytes, *, ttl: float | None = None) -> bool:
        """Store ``value`` only if ``key`` is absent (SET NX); True if stored."""
        return bool(
            await self._call("add", self.client.set, self.prefix + key, value, px=self._px(ttl), nx=True)
        )

    async def delete(self, *keys: str) -> int:
        """Remove ``keys``; returns how many existed."""
        if not keys:
            return 0
        return int(await self._call("delete", self.client.delete, *(self.prefix + k for k in keys)))

    async def delete_if(self, key: str, value: bytes) -> bool:
        """Remove ``key`` only if it still holds ``value`` (atomically, in Lua)."""
        return bool(await self._call("delete_if", self._delete_if, keys=[self.prefix + key], args=[value]))

    async def incr(self, key: str, amount: int = 1, *, ttl: float | None = None) -> int:
        """Atomically add ``amount`` (INCRBY); ``ttl`` starts when the key is created."""
        px = int(ttl * 1000) if ttl is not None else 0
        return int(await self._call("incr", self._incr, keys=[self.prefix + key], args=[amount, px]))

    async def start(self) -> None:
        """Check that the server answers.

        Raises:
            Unavailable: it does not, after the configured retries.
        """
        await self.check()

    async def stop(self) -> None:
        """Close every pooled connection."""
        await self.client.aclose()
        await self._pool.disconnect()

    async def check(self) -> Mapping[str, Any] | None:
        """PING the server.

        Raises:
            Unavailable: it does not answer.
        """
        await self._call("health check", self.client.ping)
        return None

    async def _call(
        self, operation: str, command: Callable[..., Awaitable[R]], *args: Any, **kwargs: Any
    ) -> R:
        """Run one command in a connection slot, timed, with errors mapped."""
        slots = self._slots
        if slots.locked():
            try:
                async with asyncio.timeout(self.settings.socket_timeout):
                    await slots.acquire()
            except TimeoutError:
                busy = f"all {self.settings.max_connections} connections to {self._where} busy"
                raise Unavailable(
                    f"cache {operation}: {busy}",
                    reason="CACHE_POOL_EXHAUSTED",
                    domain=DOMAIN,
                ) from None
        else:
            await slots.acquire()
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.settings.socket_timeout):
                return await command(*args, **kwargs)
        except redis_errors.RedisError as exc:
            raise self._error(operation, exc) from exc
        except TimeoutError:
            if self._metrics.enabled:
                self._metrics.failed(operation)
            raise Unavailable(
                f"cache {operation}: {self._where} did not answer within {self.settings.socket_timeout}s",
                reason="CACHE_TIMEOUT",
                domain=DOMAIN,
            ) from None
        finally:
            slots.release()
            if self._metrics.enabled:
                self._metrics.timed(operation, time.perf_counter() - started)

    def _px(self, ttl: float | None) -> int | None:
        ttl = self.default_ttl if ttl is None else ttl
        return int(ttl * 1000) if ttl is not None else None

    def _error(self, operation: str, exc: redis_errors.RedisError) -> Error:
        if self._metrics.enabled:
            self._metrics.failed(operation)
        if isinstance(
            exc, (redis_errors.ConnectionError, redis_errors.TimeoutError, redis_errors.BusyLoadingError)
        ):
            return Unavailable(
                f"cache {operation}: {self._where} unavailable ({type(exc).__name__}: {exc})",
                reason="CACHE_UNAVAILABLE",
                domain=DOMAIN,
            )
        return Internal(
            f"cache {operation} failed: {type(exc).__name__}: {exc}", reason="CACHE_ERROR", domain=DOMAIN
        )
