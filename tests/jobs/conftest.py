"""Backends for the shared job cases: memory, and real Redis, RabbitMQ and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor

import aio_pika
import asyncpg
import pytest
from redis.asyncio import Redis

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _run_admin(sql: str) -> None:
    # In a thread of its own: the fixture may be first asked for inside a running loop.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _admin(sql)).result()


@pytest.fixture(scope="session")
def jobs_pg_url() -> Iterator[str]:
    """A PostgreSQL database of the session's own, dropped after it."""
    name = f"microlib_jobs_{uuid.uuid4().hex[:10]}"
    _run_admin(f"CREATE DATABASE {name}")
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    _run_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


BACKENDS = [
    "memory",
    pytest.param("redis", marks=pytest.mark.connected),
    pytest.param("amqp", marks=pytest.mark.connected),
    pytest.param("postgresql", marks=pytest.mark.connected),
]


class Backend:
    """The overrides that point a service's jobs at one backend, in a fresh namespace."""

    def __init__(self, kind: str, pg_url: str | None) -> None:
        self.kind = kind
        self.namespace = f"t{uuid.uuid4().hex[:10]}"
        url = {"memory": "memory://", "redis": REDIS_URL, "amqp": AMQP_URL, "postgresql": pg_url}[kind]
        self.overrides = [
            f"jobs.url={url}",
            f"jobs.namespace={self.namespace}",
            "jobs.poll_interval=0.05",
            "jobs.scheduler.enabled=false",
        ]
        if kind == "amqp":
            self.overrides.append(f"jobs.store={REDIS_URL}")

    @property
    def shared(self) -> bool:
        """Whether two services (replicas) see the same queues."""
        return self.kind != "memory"

    async def clean(self) -> None:
        """Remove what the test left on the server."""
        if self.kind in ("redis", "amqp"):
            redis = Redis.from_url(REDIS_URL)
            keys = [k async for k in redis.scan_iter(match=f"{self.namespace}:*")]
            if keys:
                await redis.delete(*keys)
            await redis.aclose()
        if self.kind == "amqp":
            connection = await aio_pika.connect(AMQP_URL)
            async with connection:
                channel = await connection.channel()
                for queue in ("default", "mail", "dead"):
                    await channel.queue_delete(f"{self.namespace}.jobs.{queue}")
                await channel.exchange_delete(f"{self.namespace}.jobs")


@pytest.fixture(params=BACKENDS)
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    """Each backend in turn, cleaned up after the test."""
    pg_url = request.getfixturevalue("jobs_pg_url") if request.param == "postgresql" else None
    chosen = Backend(request.param, pg_url)
    yield chosen
    await chosen.clean()
