"""Fixtures: the same test bodies on SQLite and on a fresh PostgreSQL database."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
import sqlalchemy as sa

from microlib.data import Cache, CacheSettings, Database, DatabaseSettings, MemoryCache
from microlib.data.redis_cache import RedisCache
from tests.data._metrics import PromMetrics
from tests.data._redis import RedisServer

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"

metadata = sa.MetaData()
authors = sa.Table(
    "authors",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("email", sa.String(100), nullable=False),
    sa.UniqueConstraint("email", name="authors_email_key"),
)
books = sa.Table(
    "books",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("title", sa.String(100), nullable=False),
    sa.Column("pages", sa.Integer, sa.CheckConstraint("pages > 0", name="books_pages_positive")),
    sa.Column("author_id", sa.Integer, sa.ForeignKey("authors.id", name="books_author_fk")),
)


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A PostgreSQL database created for this test session, dropped after it."""
    name = f"microlib_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(f"CREATE DATABASE {name}"))
    yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    asyncio.run(_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.connected)]


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database of each backend."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/app.db"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def metrics() -> PromMetrics:
    """Metrics in a private registry."""
    return PromMetrics()


@pytest.fixture
async def db(db_url: str, metrics: PromMetrics) -> AsyncIterator[Database]:
    """A started Database with the ``authors`` and ``books`` tables."""
    database = Database(DatabaseSettings(url=db_url, pool_size=5, connect_retries=1), metrics=metrics)
    await database.start()
    async with database.engine.begin() as conn:
        await conn.run_sync(metadata.drop_all)
        await conn.run_sync(metadata.create_all)
    yield database
    async with database.engine.begin() as conn:
        await conn.run_sync(metadata.drop_all)
    await database.stop()


async def count(db: Database, table: sa.Table) -> int:
    """Rows in ``table``, read outside any transaction of the caller."""
    async with db.engine.connect() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar_one())


CACHES = ["memory", pytest.param("redis", marks=pytest.mark.connected)]


@pytest.fixture(params=CACHES)
async def cache(request: pytest.FixtureRequest, metrics: PromMetrics) -> AsyncIterator[Cache]:
    """An empty cache of each backend, in a random namespace."""
    namespace = f"t{uuid.uuid4().hex[:12]}"
    if request.param == "memory":
        memory = MemoryCache(namespace, max_entries=100, metrics=metrics)
        yield memory
        return
    redis_cache = RedisCache(
        CacheSettings(url="redis://127.0.0.1:6379/0", namespace=namespace), metrics=metrics
    )
    await redis_cache.start()
    yield redis_cache
    keys = [k async for k in redis_cache.client.scan_iter(match=f"{namespace}:*")]
    if keys:
        await redis_cache.client.delete(*keys)
    await redis_cache.stop()


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A redis-server of the test's own, on a free port."""
    server = RedisServer()
    server.start()
    yield server
    server.stop()
