"""The taskiq queue's store in Redis: hashes, sorted sets and keys under ``{ns}:jobs:``."""

from __future__ import annotations

import time
from typing import Any

from redis.asyncio import Redis

__all__ = ["RedisStore"]

# Claim due entries by pushing their score past the hold: another replica
# sees them again only if this one dies before settling them.
_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, id in ipairs(due) do
  redis.call('ZADD', KEYS[1], ARGV[3], id)
  table.insert(out, id)
  table.insert(out, redis.call('HGET', KEYS[2], id))
end
return out
"""

# Two keys written together; scripts rather than pipelines, which leak a
# client when a cancellation interrupts them.
_PUT = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
"""

_DROP = """
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[1], ARGV[1])
"""

_FORGET = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
"""

_EXHUME = """
local letter = redis.call('HGET', KEYS[1], ARGV[1])
if letter then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
end
return letter
"""


class RedisStore:
    """The store in Redis.

    Args:
        url: ``redis://host:6379/0``.
        namespace: Key prefix.
    """

    def __init__(self, url: str, namespace: str) -> None:
        self._url = url
        p = f"{namespace}:jobs"
        self._delayed, self._messages = f"{p}:delayed", f"{p}:delayed:messages"
        self._dead, self._dead_order = f"{p}:dead", f"{p}:dead:order"
        self._outcome, self._key = f"{p}:outcome:", f"{p}:key:"
        self._redis: Redis | None = None

    @property
    def _client(self) -> Redis:
        if self._redis is None:
            raise RuntimeError("the jobs store is not started")
        return self._redis

    async def start(self) -> None:
        """Connect."""
        self._redis = Redis.from_url(self._url, socket_timeout=5.0, socket_connect_timeout=5.0)
        await self.ping()

    async def stop(self) -> None:
        """Disconnect."""
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    async def ping(self) -> None:
        """PING."""
        await self._client.ping()

    async def remember_key(self, key: str, job_id: str, ttl: float) -> str | None:
        """SET NX with an expiry; GET when it was set already."""
        name = self._key + key
        if await self._client.set(name, job_id, nx=True, px=int(ttl * 1000)):
            return None
        held = await self._client.get(name)
        return None if held is None else _text(held)

    async def forget_key(self, key: str, job_id: str) -> None:
        """GET and DEL in a script: a key another job took since stays."""
        await self._client.eval(_FORGET, 1, self._key + key, job_id)

    async def key_holder(self, key: str) -> tuple[str, float] | None:
        """GET and PTTL in one round trip."""
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.get(self._key + key)
            pipe.pttl(self._key + key)
            held, left = await pipe.execute()
        return None if held is None or left < 0 else (_text(held), time.time() + left / 1000)

    async def delay(self, entry: str, message: bytes, due: float) -> None:
        """The message in a hash, its due time in a sorted set."""
        await self._client.eval(_PUT, 2, self._messages, self._delayed, entry, message, repr(due))

    async def due(self, now: float, limit: int, hold: float) -> list[tuple[str, bytes]]:
        """Claimed atomically by a script."""
        found: list[Any] = await self._client.eval(
            _DUE, 2, self._delayed, self._messages, repr(now), limit, repr(now + hold)
        )
        return [
            (_text(found[i]), bytes(found[i + 1]))
            for i in range(0, len(found), 2)
            if found[i + 1] is not None
        ]

    async def settle(self, entry: str) -> None:
        """Drop the delayed entry."""
        await self._client.eval(_DROP, 2, self._messages, self._delayed, entry)

    async def bury(self, job_id: str, letter: str, failed_at: float) -> None:
        """A hash of letters, a sorted set for their order."""
        await self._client.eval(_PUT, 2, self._dead, self._dead_order, job_id, letter, repr(failed_at))

    async def dead_letters(self, limit: int) -> list[str]:
        """Oldest first."""
        ids: list[Any] = list(await self._client.zrange(self._dead_order, 0, limit - 1))
        if not ids:
            return []
        letters = await self._client.hmget(self._dead, ids)
        return [_text(letter) for letter in letters if letter is not None]

    async def dead_letter(self, job_id: str) -> str | None:
        """HGET."""
        letter = await self._client.hget(self._dead, job_id)
        return None if letter is None else _text(letter)

    async def exhume(self, job_id: str) -> str | None:
        """Removed atomically by a script, so two replays cannot both get it."""
        letter = await self._client.eval(_EXHUME, 2, self._dead, self._dead_order, job_id)
        return None if letter is None else _text(letter)

    async def purge(self) -> int:
        """Delete both keys."""
        count = int(await self._client.hlen(self._dead))
        await self._client.delete(self._dead, self._dead_order)
        return count

    async def dead_count(self) -> int:
        """HLEN."""
        return int(await self._client.hlen(self._dead))

    async def set_outcome(self, job_id: str, outcome: str, ttl: float) -> None:
        """SET with an expiry."""
        await self._client.set(self._outcome + job_id, outcome, px=int(ttl * 1000))

    async def outcome(self, job_id: str) -> str | None:
        """GET."""
        value = await self._client.get(self._outcome + job_id)
        return None if value is None else _text(value)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
