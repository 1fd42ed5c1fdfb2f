"""The Database component: URLs, startup retries, health, outage and recovery."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
import sqlalchemy as sa
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from microlib.core.errors import DeadlineExceeded, Unavailable
from microlib.data import Database, DatabaseSettings, _engine
from tests.data._metrics import PromMetrics
from tests.data._proxy import Proxy
from tests.data.conftest import authors


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_driver_is_chosen_by_url_alone() -> None:
    """A URL without a driver gets the async one; a missing URL is refused clearly."""
    assert Database("postgresql://u@h/db").url.drivername == "postgresql+asyncpg"
    assert Database("sqlite:///x.db").url.drivername == "sqlite+aiosqlite"
    with pytest.raises(ValueError, match=r"database\.url is not set"):
        Database(DatabaseSettings(url=None))
    with pytest.raises(ValueError, match="not a database URL"):
        Database("::nope")


def test_transaction_before_start_is_refused() -> None:
    """Opening a transaction on a database that is not started says so."""
    with pytest.raises(RuntimeError, match="not started"):
        Database("sqlite+aiosqlite://").transaction()


async def test_start_retries_then_reports_unavailable() -> None:
    """An unreachable server fails start with Unavailable naming the attempts, no traceback soup."""
    url = f"postgresql+asyncpg://postgres:secret@127.0.0.1:{_closed_port()}/x"
    db = Database(DatabaseSettings(url=url, connect_retries=3, connect_backoff=0.01))
    with pytest.raises(Unavailable, match="unreachable after 3 attempt") as caught:
        await db.start()
    assert "secret" not in caught.value.message
    await db.stop()


async def test_in_memory_sqlite_keeps_its_data_across_transactions() -> None:
    """``sqlite+aiosqlite://`` is one shared in-memory database, not one per connection."""
    db = Database("sqlite+aiosqlite://")
    await db.start()
    async with db.engine.begin() as conn:
        await conn.run_sync(authors.metadata.create_all)
    async with db.transaction() as session:
        await session.exec(sa.insert(authors).values(id=1, email="a@x"))
    async with db.transaction() as session:
        assert (await session.exec(sa.select(sa.func.count()).select_from(authors))).scalar_one() == 1
    assert await db.check() is None
    await db.stop()


@pytest.mark.connected
async def test_outage_is_unavailable_and_recovers_without_restart(pg_url: str) -> None:
    """With the server cut off, check and transactions raise Unavailable; once back, both work again."""
    proxy = Proxy("127.0.0.1", 5432)
    await proxy.start()
    url = sa.make_url(pg_url).set(port=proxy.port).render_as_string(hide_password=False)
    db = Database(DatabaseSettings(url=url, connect_retries=1, check_timeout=2.0, connect_timeout=2.0))
    await db.start()
    try:
        assert (await db.check() or {})["checked_out"] == 0
        await proxy.stop()
        with pytest.raises(Unavailable, match=r"database unavailable|did not answer"):
            await db.check()
        with pytest.raises(Unavailable):
            async with db.transaction() as session:
                await session.exec(sa.text("SELECT 1"))
        await proxy.start()
        await db.check()
        async with db.transaction() as session:
            assert (await session.exec(sa.text("SELECT 1"))).scalar_one() == 1
    finally:
        await db.stop()
        await proxy.stop()


@pytest.mark.connected
async def test_pre_ping_replaces_a_connection_that_sat_idle_across_a_restart(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pool_pre_ping tests a connection that sat in the pool longer than
    PING_AFTER_IDLE: one idle while the server went away and came back is
    replaced unseen. One given back moments before is not tested (that would
    double a short transaction's round trips): the transaction meeting it
    fails, and the pool is renewed for the next one."""
    proxy = Proxy("127.0.0.1", 5432)
    await proxy.start()
    url = sa.make_url(pg_url).set(port=proxy.port).render_as_string(hide_password=False)
    db = Database(DatabaseSettings(url=url, connect_retries=1, connect_timeout=2.0, pool_size=1))

    async def one() -> int:
        async with db.transaction() as session:
            return int((await session.exec(sa.text("SELECT 1"))).scalar_one())

    async def restart() -> None:
        await proxy.stop()
        await proxy.start()

    await db.start()
    try:
        monkeypatch.setattr(_engine, "PING_AFTER_IDLE", 0.2)
        assert await one() == 1
        await restart()
        await asyncio.sleep(0.3)
        assert await one() == 1  # tested, found dead, replaced

        monkeypatch.setattr(_engine, "PING_AFTER_IDLE", 60.0)
        assert await one() == 1
        await restart()
        with pytest.raises(Unavailable):
            await one()  # given back moments ago: not tested
        assert await one() == 1
    finally:
        await db.stop()
        await proxy.stop()


@pytest.mark.connected
async def test_pool_gauge_counts_what_is_checked_out_through_an_outage(pg_url: str) -> None:
    """Failed checkouts during an outage do not move the in-use gauge (it used
    to drop by one for each and stay negative); health reports no negative overflow."""
    proxy = Proxy("127.0.0.1", 5432)
    await proxy.start()
    url = sa.make_url(pg_url).set(port=proxy.port).render_as_string(hide_password=False)
    metrics = PromMetrics()
    db = Database(DatabaseSettings(url=url, connect_retries=1, connect_timeout=2.0), metrics=metrics)
    await db.start()

    def in_use() -> float | None:
        return metrics.registry.get_sample_value(
            "microlib_db_pool_connections_in_use", {"database": "database"}
        )

    try:
        async with db.transaction() as session:
            await session.exec(sa.text("SELECT 1"))
            assert in_use() == 1
        await proxy.stop()
        for _ in range(3):
            with pytest.raises(Unavailable):
                async with db.transaction() as session:
                    await session.exec(sa.text("SELECT 1"))
        assert in_use() == 0
        await proxy.start()
        async with db.transaction() as session:
            await session.exec(sa.text("SELECT 1"))
        assert in_use() == 0
        details = await db.check() or {}
        assert details["overflow"] == 0
        assert details["checked_out"] == 0
    finally:
        await db.stop()
        await proxy.stop()


@pytest.mark.connected
async def test_statement_timeout_is_deadline_exceeded(pg_url: str) -> None:
    """A statement running past ``statement_timeout`` is cancelled by the server: DeadlineExceeded."""
    db = Database(DatabaseSettings(url=pg_url, statement_timeout=0.05))
    await db.start()
    try:
        with pytest.raises(DeadlineExceeded, match="statement timeout"):
            async with db.transaction() as session:
                await session.exec(sa.text("SELECT pg_sleep(5)"))
    finally:
        await db.stop()


async def test_statements_are_traced_when_given_a_tracer_provider(tmp_path: Path) -> None:
    """Each statement becomes a client span naming the operation and the database system."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/t.db", tracer_provider=provider)
    await db.start()
    try:
        async with db.transaction() as session:
            await session.exec(sa.text("SELECT 1"))
    finally:
        await db.stop()
    spans = [s for s in exporter.get_finished_spans() if s.attributes and s.attributes.get("db.system")]
    assert spans
    assert spans[-1].name == "SELECT database"
    assert spans[-1].attributes["db.system"] == "sqlite"  # type: ignore[index]


async def test_exhausted_pool_is_unavailable(tmp_path: Path) -> None:
    """With every connection held, another transaction waits pool_timeout, then gets Unavailable."""
    settings = DatabaseSettings(
        url=f"sqlite+aiosqlite:///{tmp_path}/p.db", pool_size=1, max_overflow=0, pool_timeout=0.1
    )
    db = Database(settings)
    await db.start()
    try:
        async with db.transaction() as held:
            await held.exec(sa.text("SELECT 1"))

            async def second() -> None:
                async with db.transaction() as session:
                    await session.exec(sa.text("SELECT 1"))

            with pytest.raises(Unavailable, match="no database connection free") as caught:
                await asyncio.create_task(second())
            assert caught.value.reason == "POOL_EXHAUSTED"
    finally:
        await db.stop()
