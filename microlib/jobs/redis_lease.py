"""The scheduler lease in Redis: a key with a TTL, and a fencing counter.

``{ns}:jobs:lease`` holds ``<holder> <token>`` with a PX expiry;
``{ns}:jobs:fence`` is INCR'd on every acquisition, so tokens only grow;
``{ns}:jobs:ticks`` maps each job to its last claimed tick. Every step is
one Lua script, so a claim checks the token and records the tick
atomically.
"""

from __future__ import annotations

import os
import socket
import uuid
from typing import Any

from redis.asyncio import Redis

from microlib.jobs.lease import Claim

__all__ = ["RedisLease"]

_ACQUIRE = """
local cur = redis.call('GET', KEYS[1])
if cur then
  local holder, token = string.match(cur, '^(.*) (%d+)$')
  if holder == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return tonumber(token)
  end
  return false
end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. token, 'PX', ARGV[2])
return token
"""

_RENEW = """
local cur = redis.call('GET', KEYS[1])
if cur and string.match(cur, '^(.*) %d+$') == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""

_RELEASE = """
local cur = redis.call('GET', KEYS[1])
if cur and string.match(cur, '^(.*) %d+$') == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

_CLAIM = """
local cur = redis.call('GET', KEYS[1])
if not cur or string.match(cur, '^.* (%d+)$') ~= ARGV[1] then
  return -1
end
local last = redis.call('HGET', KEYS[2], ARGV[2])
if last and tonumber(last) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return 1
"""

_CLAIMS = {1: Claim.FIRED, 0: Claim.DUPLICATE, -1: Claim.STALE}


class RedisLease:
    """The lease in Redis.

    Args:
        url: ``redis://host:6379/0``.
        namespace: Key prefix (the service's name).
        ttl: Seconds the lease lasts unless renewed.
        holder: This replica's name in the lease; host, pid and a nonce by
            default.
    """

    def __init__(self, url: str, namespace: str, *, ttl: float, holder: str | None = None) -> None:
        self._url = url
        self._keys = (f"{namespace}:jobs:lease", f"{namespace}:jobs:fence", f"{namespace}:jobs:ticks")
        self._ttl_ms = max(1, int(ttl * 1000))
        self.holder = holder or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._redis: Redis | None = None

    @property
    def _client(self) -> Redis:
        if self._redis is None:
            raise RuntimeError("the Redis lease is not started")
        return self._redis

    async def _call(self, script: str, keys: list[str], *args: Any) -> Any:
        return await self._client.eval(script, len(keys), *keys, *args)

    async def start(self) -> None:
        """Connect (lazily: the first command opens the connection)."""
        self._redis = Redis.from_url(self._url, socket_timeout=2.0, socket_connect_timeout=2.0)

    async def stop(self) -> None:
        """Disconnect."""
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    async def acquire(self) -> int | None:
        """Take the free lease with a new token, or extend ours."""
        token = await self._call(_ACQUIRE, list(self._keys[:2]), self.holder, self._ttl_ms)
        return None if token is None else int(token)

    async def renew(self) -> bool:
        """Extend ours; False when another holds it or it expired."""
        return bool(await self._call(_RENEW, [self._keys[0]], self.holder, self._ttl_ms))

    async def release(self) -> None:
        """Delete the lease if it is ours."""
        await self._call(_RELEASE, [self._keys[0]], self.holder)

    async def claim(self, job: str, tick: float, token: int) -> Claim:
        """Record ``tick`` as ``job``'s last, if ``token`` is current and the tick is new."""
        result = await self._call(_CLAIM, [self._keys[0], self._keys[2]], token, job, repr(tick))
        return _CLAIMS[int(result)]

    async def last_tick(self, job: str) -> float | None:
        """The job's last claimed tick."""
        value = await self._client.hget(self._keys[2], job)
        return None if value is None else float(value)
