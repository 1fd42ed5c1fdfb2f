"""Build an async SQLAlchemy engine from a URL and the ``database`` settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from microlib.config.model import DatabaseSettings

# The async driver used when a URL names none.
_DEFAULT_DRIVERS = {"postgresql": "asyncpg", "sqlite": "aiosqlite"}


def normalize_url(url: str) -> URL:
    """``url`` parsed, with the async driver filled in when none is named.

    Raises:
        ValueError: if the URL cannot be parsed.
    """
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise ValueError(f"database.url {url!r} is not a database URL: {exc}") from None
    if "+" not in parsed.drivername and parsed.drivername in _DEFAULT_DRIVERS:
        parsed = parsed.set(drivername=f"{parsed.drivername}+{_DEFAULT_DRIVERS[parsed.drivername]}")
    return parsed


def is_memory_sqlite(url: URL) -> bool:
    """Whether ``url`` is an in-memory SQLite database."""
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def create_engine(url: URL, settings: DatabaseSettings) -> AsyncEngine:
    """An engine for ``url`` with the pool and timeouts of ``settings``."""
    kwargs: dict[str, Any] = {"echo": settings.echo, "pool_pre_ping": settings.pool_pre_ping}
    backend = url.get_backend_name()
    if backend == "sqlite":
        if is_memory_sqlite(url):
            # One shared connection: each new one would be an empty database.
            kwargs["poolclass"] = StaticPool
        else:
            assert url.database is not None
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs.update(pool_size=settings.pool_size, max_overflow=settings.max_overflow)
            kwargs.update(pool_timeout=settings.pool_timeout, pool_recycle=settings.pool_recycle)
        # sqlite3's busy timeout: how long a writer waits for another one.
        kwargs["connect_args"] = {"timeout": settings.pool_timeout}
    else:
        kwargs.update(pool_size=settings.pool_size, max_overflow=settings.max_overflow)
        kwargs.update(pool_timeout=settings.pool_timeout, pool_recycle=settings.pool_recycle)
        if backend == "postgresql" and url.get_driver_name() == "asyncpg":
            server_settings = {}
            if settings.statement_timeout is not None:
                server_settings["statement_timeout"] = str(int(settings.statement_timeout * 1000))
            kwargs["connect_args"] = {"timeout": settings.connect_timeout, "server_settings": server_settings}
    engine = create_async_engine(url, **kwargs)
    if backend == "sqlite":
        _sqlite_transactions(engine, memory=is_memory_sqlite(url))
    return engine


def _sqlite_transactions(engine: AsyncEngine, *, memory: bool) -> None:
    """Make SQLite behave: real SAVEPOINTs, enforced foreign keys, one writer.

    sqlite3's own transaction handling defers BEGIN and breaks SAVEPOINT
    (SQLAlchemy's documented recipe takes it over). BEGIN IMMEDIATE takes
    the write lock up front, so two writers queue on the busy timeout
    instead of one failing with "database is locked" on lock upgrade.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
