"""taskiq-redis's stream broker with a listener that can be stopped cleanly.

``RedisStreamBroker.listen`` (taskiq-redis 1.2.4) follows every read with
an ``XAUTOCLAIM`` under a Redis lock taken through a pipeline: a worker
stopped in that step leaks the pipeline's connection and, with no lock
timeout, leaves the lock held, so no consumer of the stream ever reclaims
again. This broker keeps ``kick`` (``XADD`` of field ``data`` to the stream
named by the ``queue_name`` label) and replaces ``listen``: ``XREADGROUP``
one message at a time, and a lock-free ``XAUTOCLAIM`` (atomic on the
server) every half ``idle_timeout``. Each message it yields can renew its
claim (:class:`~microlib.jobs._held.HeldMessage`): ``XCLAIM`` to the same
consumer with ``JUSTID`` resets the entry's idle time, so no ``XAUTOCLAIM``
takes over a job whose worker is alive. It relies on taskiq-redis's stream
layout and consumer-group attributes, which the pin (``<1.3``) and
``tests/jobs/test_taskiq_drift.py`` hold.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Awaitable
from typing import Any

from redis.asyncio import Redis
from taskiq_redis import RedisStreamBroker

from microlib.jobs._held import HeldMessage

__all__ = ["StreamBroker"]

# Renew only a claim still this consumer's: a job another worker took over stays theirs.
_RENEW = """
if #redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1, ARGV[2]) == 0 then return 0 end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'JUSTID')
return 1
"""


class StreamBroker(RedisStreamBroker):
    """A ``RedisStreamBroker`` whose listener holds nothing between awaits."""

    def _held(self, stream: Any, entry: Any, data: bytes) -> HeldMessage:
        group, consumer = self.consumer_group_name, self.consumer_name

        async def ack() -> None:
            async with Redis(connection_pool=self.connection_pool) as conn:
                await conn.xack(stream, group, entry)

        async def touch() -> bool:
            async with Redis(connection_pool=self.connection_pool) as conn:
                renew: Awaitable[Any] = conn.eval(_RENEW, 1, stream, group, consumer, entry)
                return bool(await renew)

        return HeldMessage(data=data, ack=ack, touch=touch)

    async def listen(self) -> AsyncGenerator[HeldMessage, None]:
        """Read new entries; now and then take over entries idle past ``idle_timeout``."""
        reclaim_every = self.idle_timeout / 2000
        next_reclaim = time.monotonic() + reclaim_every
        async with Redis(connection_pool=self.connection_pool) as conn:
            while True:
                fetched: Any = await conn.xreadgroup(
                    self.consumer_group_name,
                    self.consumer_name,
                    {self.queue_name: ">"},
                    block=self.block,
                    count=1,
                )
                for stream, entries in fetched or ():
                    for entry, fields in entries:
                        yield self._held(stream, entry, fields[b"data"])
                if time.monotonic() < next_reclaim:
                    continue
                next_reclaim = time.monotonic() + reclaim_every
                reclaimed: Any = await conn.xautoclaim(
                    self.queue_name,
                    self.consumer_group_name,
                    self.consumer_name,
                    min_idle_time=self.idle_timeout,
                    count=self.unacknowledged_batch_size,
                )
                for entry, fields in reclaimed[1]:
                    if fields and b"data" in fields:
                        yield self._held(self.queue_name, entry, fields[b"data"])
