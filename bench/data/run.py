"""Data layer overhead against the libraries it wraps, in the same run.

1. Cache-aside hit path (``CacheAside.get`` on ``RedisCache``: one GET,
   metrics, pydantic decode) against a direct redis-py ``GET`` of the same key.
   A dedicated redis-server is started pinned to core 0; this process runs
   on core 1.
2. One transaction with one INSERT through ``Database.transaction()``
   against raw SQLAlchemy async (an ``AsyncSession`` and, stricter, a Core
   ``engine.begin()``) on PostgreSQL, both engines with the same pool
   settings, in a fresh database dropped at the end.

Rounds are interleaved, in a shuffled order each round; each figure is the median over rounds of the mean
time per operation; ratio = peer time / microlib time (1.0 = as fast,
target >= 0.9).

    .venv/bin/python bench/data/run.py --rounds 15
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from pydantic import BaseModel
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from microlib.data import CacheAside, CacheSettings, Database, DatabaseSettings
from microlib.data.redis_cache import RedisCache

PG = "postgresql://postgres@127.0.0.1:5432"


class Book(BaseModel):
    id: int
    title: str
    authors: list[str]


class Registry:
    """The Metrics protocol over a private prometheus registry, as a service has."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.made: dict[str, object] = {}

    def _get(self, kind: type, name: str, doc: str, labels: object, **kw: object) -> object:
        if name not in self.made:
            self.made[name] = kind(name, doc, labels, registry=self.registry, **kw)
        return self.made[name]

    def counter(self, name: str, doc: str, labelnames: object = ()) -> object:
        return self._get(Counter, name, doc, labelnames)

    def gauge(self, name: str, doc: str, labelnames: object = ()) -> object:
        return self._get(Gauge, name, doc, labelnames)

    def histogram(self, name: str, doc: str, labelnames: object = (), buckets: object = None) -> object:
        return self._get(Histogram, name, doc, labelnames, **({"buckets": buckets} if buckets else {}))


async def timed(op: Callable[[], Awaitable[object]], n: int) -> tuple[float, float]:
    """(wall, this process's CPU) seconds per call of ``op``, over ``n`` calls."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        await op()
    return (time.perf_counter() - wall) / n, (time.process_time() - cpu) / n


async def interleave(
    ops: dict[str, Callable[[], Awaitable[object]]], rounds: int, n: int
) -> dict[str, list[tuple[float, float]]]:
    """Each round runs every op ``n`` times, in a fresh random order (seeded): no op always goes first."""
    order = random.Random(8)
    results: dict[str, list[tuple[float, float]]] = {label: [] for label in ops}
    for _ in range(rounds):
        labels = list(ops)
        order.shuffle(labels)
        for label in labels:
            results[label].append(await timed(ops[label], n))
    return results


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def bench_cache(rounds: int, n: int) -> dict[str, list[tuple[float, float]]]:
    port = free_port()
    server = subprocess.Popen(  # noqa: ASYNC220 - started once, before measuring
        ["taskset", "-c", "0", "redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", ""],
        stdout=subprocess.DEVNULL,
    )
    try:
        url = f"redis://127.0.0.1:{port}/0"
        for _ in range(100):
            try:
                direct = Redis.from_url(url)
                await direct.ping()
                break
            except Exception:
                await direct.aclose()
                await asyncio.sleep(0.05)
        cache = RedisCache(CacheSettings(url=url, namespace="bench", socket_timeout=5.0), metrics=Registry())  # type: ignore[arg-type]
        await cache.start()
        books = CacheAside(cache, Book, prefix="book:", ttl=3600)
        value = Book(id=1, title="Dune", authors=["Frank Herbert"])

        async def load() -> Book:
            return value

        await books.get("1", load)
        key = cache.prefix + "book:1"
        assert await direct.get(key) is not None
        # The same settings as the cache's: socket timeouts (5 s: this machine is shared), retries.
        tuned = Redis.from_url(
            url,
            socket_timeout=5.0,
            socket_connect_timeout=1.0,
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.02), 2),
            health_check_interval=30,
        )
        await tuned.get(key)
        ops: dict[str, Callable[[], Awaitable[object]]] = {
            "microlib": lambda: books.get("1", load),
            "redis-py, defaults": lambda: direct.get(key),
            "redis-py, same timeouts": lambda: tuned.get(key),
        }
        results = await interleave(ops, rounds, n)
        await cache.stop()
        await direct.aclose()
        await tuned.aclose()
        return results
    finally:
        server.terminate()
        server.wait(timeout=10)


async def bench_transaction(rounds: int, n: int) -> dict[str, list[tuple[float, float]]]:
    name = f"microlib_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(f"{PG}/test")
    await admin.execute(f"CREATE DATABASE {name}")
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    metadata = sa.MetaData()
    items = sa.Table(
        "items", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("name", sa.String(50))
    )
    db = Database(DatabaseSettings(url=url, pool_size=5), metrics=Registry())  # type: ignore[arg-type]
    raw = create_async_engine(url, pool_size=5, max_overflow=10, pool_pre_ping=True, pool_recycle=1800)
    try:
        await db.start()
        async with db.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        insert = sa.insert(items).values(name="x")

        async def microlib() -> None:
            async with db.transaction() as session:
                await session.exec(insert)

        async def session_peer() -> None:
            async with AsyncSession(raw, expire_on_commit=False) as session, session.begin():
                await session.execute(insert)

        async def core_peer() -> None:
            async with raw.begin() as conn:
                await conn.execute(insert)

        for op in (microlib, session_peer, core_peer):
            await timed(op, 20)
        results: dict[str, list[tuple[float, float]]] = {
            "microlib": [],
            "SQLAlchemy AsyncSession": [],
            "SQLAlchemy Core": [],
        }
        for _ in range(rounds):
            results["SQLAlchemy AsyncSession"].append(await timed(session_peer, n))
            results["microlib"].append(await timed(microlib, n))
            results["SQLAlchemy Core"].append(await timed(core_peer, n))
        return results
    finally:
        await db.stop()
        await raw.dispose()
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()


def report(title: str, results: dict[str, list[tuple[float, float]]]) -> None:
    """Median wall and CPU time per op, and peer/microlib ratios (higher is better for us)."""
    print(f"\n{title}")
    wall = {label: statistics.median(t[0] for t in times) for label, times in results.items()}
    cpu = {label: statistics.median(t[1] for t in times) for label, times in results.items()}
    for label in results:
        line = f"  {label:<26} wall {wall[label] * 1e6:8.1f} µs/op   client CPU {cpu[label] * 1e6:7.1f} µs/op"
        if label != "microlib":
            ratios = wall[label] / wall["microlib"], cpu[label] / cpu["microlib"]
            line += f"   ratio wall {ratios[0]:.3f}x  CPU {ratios[1]:.3f}x"
        print(line)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--cache-ops", type=int, default=2000)
    parser.add_argument("--transactions", type=int, default=200)
    parser.add_argument("--skip-cache", action="store_true")
    parser.add_argument("--skip-db", action="store_true")
    args = parser.parse_args()
    os.sched_setaffinity(0, {1})
    if not args.skip_cache:
        report("cache-aside hit vs redis-py GET", await bench_cache(args.rounds, args.cache_ops))
    if args.skip_db:
        return
    report(
        "transaction with one INSERT (PostgreSQL)", await bench_transaction(args.rounds, args.transactions)
    )


if __name__ == "__main__":
    asyncio.run(main())
