"""Build an async SQLAlchemy engine from a URL and the ``database`` settings."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from microlib.config.model import DatabaseSettings

# The async driver used when a URL names none.
_DEFAULT_DRIVERS = {"postgresql": "asyncpg", "sqlite": "aiosqlite"}

PING_AFTER_IDLE = 1.0
"""Seconds a connection must have sat in the pool before ``pool_pre_ping`` tests it.

SQLAlchemy's own pre-ping costs three round trips on asyncpg (BEGIN, an
empty query, ROLLBACK) on every checkout: it doubled the round trips of a
one-row transaction and held such transactions to ~600/s where asyncpg alone
did ~2,500/s. A connection given back less than a second ago has just worked;
a server restart takes longer than that, and a statement that does meet a
dead connection invalidates the whole pool anyway (SQLAlchemy's disconnect
handling), so the next transaction gets a fresh one either way."""

_RETURNED = "microlib_returned_at"

# Where SQLAlchemy writes statements (echo, or this logger's level at INFO).
_STATEMENTS = logging.getLogger("sqlalchemy.engine.Engine")


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


def sqlite_file(url: URL) -> Path | None:
    """The file ``url`` names when it is a SQLite database on disk, else None."""
    if url.get_backend_name() != "sqlite" or is_memory_sqlite(url):
        return None
    assert url.database is not None
    return Path(url.database)


def create_engine(url: URL, settings: DatabaseSettings) -> AsyncEngine:
    """An engine for ``url`` with the pool, timeouts and statement logging of ``settings``.

    Bound parameters are request data (a card number, an address): SQLAlchemy
    hides them from logged statements and from error messages unless
    ``log_parameters`` asks for them.
    """
    kwargs: dict[str, Any] = {
        "echo": settings.echo,
        "hide_parameters": not settings.log_parameters,
    }
    backend = url.get_backend_name()
    if backend == "sqlite":
        file = sqlite_file(url)
        if file is None:
            # One shared connection: each new one would be an empty database.
            kwargs["poolclass"] = StaticPool
        else:
            file.parent.mkdir(parents=True, exist_ok=True)
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
    own_handlers = list(_STATEMENTS.handlers)
    engine = create_async_engine(url, **kwargs)
    if logging.getLogger().handlers:
        # echo gives SQLAlchemy's logger a stdout handler of its own when it
        # has none. With logging configured (microlib's pipeline is on the
        # root logger) the records already reach it formatted and redacted:
        # that raw second copy goes.
        for handler in [h for h in _STATEMENTS.handlers if h not in own_handlers]:
            _STATEMENTS.removeHandler(handler)
    if backend == "sqlite":
        _sqlite_transactions(engine, memory=is_memory_sqlite(url))
    if settings.pool_pre_ping:
        _ping_idle_connections(engine)
    return engine


def _ping_idle_connections(engine: AsyncEngine) -> None:
    """``pool_pre_ping`` for connections idle over :data:`PING_AFTER_IDLE` seconds.

    As SQLAlchemy's pre-ping does, a ping that finds the server gone
    invalidates every pooled connection and the checkout reconnects.
    """
    pool, dialect = engine.sync_engine.pool, engine.dialect

    @event.listens_for(pool, "checkin")
    def _checkin(dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info[_RETURNED] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        returned = record.info.pop(_RETURNED, None)
        if returned is None or time.monotonic() - returned < PING_AFTER_IDLE:
            return  # a new connection, or one that has just worked
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi_connection, None):
                raise sa_exc.InvalidatePoolError(f"pre-ping: {error}") from error
            raise


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
