"""Whether the jobs broker answers, for the ``jobs-queue`` health check.

taskiq's brokers connect at the first enqueue and the first delivery, and one
that was refused is not kept, so they cannot say whether the broker is up.
The probe keeps a connection of its own (one, opened at the first check and
again after a failure) and makes one round trip on it per check, through the
drivers' public API: aio-pika opens and closes a channel, redis PINGs,
asyncpg runs ``SELECT 1``.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from microlib.jobs._asyncpg import asyncpg_dsn

__all__ = ["BrokerProbe"]


class BrokerProbe:
    """A connection to ``jobs.url`` kept between health checks.

    Args:
        backend: ``redis``, ``amqp`` or ``postgresql``.
        url: The broker's URL.
    """

    def __init__(self, backend: str, url: str) -> None:
        self._backend = backend
        self._url = url
        self._connection: Any = None

    async def ping(self) -> None:
        """One round trip to the broker; connect first if needed.

        Raises:
            Exception: the driver's own, when the broker does not answer.
        """
        try:
            await self._round_trip()
        except BaseException:
            await self.close()
            raise

    async def _round_trip(self) -> None:
        if self._backend == "amqp":
            import aio_pika

            if self._connection is None:
                self._connection = await aio_pika.connect(self._url)
            channel = await self._connection.channel()
            await channel.close()
        elif self._backend == "redis":
            from redis.asyncio import Redis

            if self._connection is None:
                self._connection = Redis.from_url(self._url, socket_timeout=5.0, socket_connect_timeout=5.0)
            await self._connection.ping()
        else:
            import asyncpg

            if self._connection is None:
                self._connection = await asyncpg.connect(asyncpg_dsn(self._url), timeout=5.0)
            await self._connection.fetchval("SELECT 1")

    async def close(self) -> None:
        """Drop the connection, if any."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        # A connection that failed may fail to close too, or wait on a peer that is gone.
        with contextlib.suppress(Exception):
            async with asyncio.timeout(1.0):
                await (connection.aclose() if self._backend == "redis" else connection.close())
