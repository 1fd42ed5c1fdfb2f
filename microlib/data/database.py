"""Database: a lifecycle component owning an async engine, chosen by URL.

``sqlite+aiosqlite:///./var/app.db`` runs on a laptop with no server;
``postgresql+asyncpg://...`` runs in production. The component connects at
start (retrying with backoff), reports health with a bounded ``SELECT 1``,
opens transactions, and disposes of its pool on stop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from microlib.config.model import DatabaseSettings
from microlib.core.errors import Error, Unavailable
from microlib.data._engine import create_engine, normalize_url
from microlib.data._instrument import Instruments
from microlib.data.errors import DOMAIN, map_db_errors
from microlib.data.transaction import Transaction, current_transaction, open_transaction

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider
    from sqlalchemy import MetaData

    from microlib.observability.metrics import Metrics

__all__ = ["Database"]

log = structlog.get_logger("microlib.data")


class Database:
    """A SQL database as a service component.

    Args:
        settings: The ``database`` settings, or just a URL.
        name: The component's name in health reports and metrics.
        metrics: Where pool, statement and transaction metrics go.
        tracer_provider: Where a span per SQL statement goes; without one,
            no statement spans are recorded.
        metadata: The tables migrations compare against (for
            ``migrate_on_start``); defaults to ``SQLModel.metadata``.
        migration_branches: Revision directories of microlib features
            (the outbox), migrated with the application's.

    Raises:
        ValueError: if the URL is missing or malformed.

    Example::

        db = Database("sqlite+aiosqlite:///./var/app.db")
        service.add(db)

        async with db.transaction() as session:
            session.add(Book(title="Dune"))
    """

    def __init__(
        self,
        settings: DatabaseSettings | str,
        *,
        name: str = "database",
        metrics: Metrics | None = None,
        tracer_provider: TracerProvider | None = None,
        metadata: MetaData | None = None,
        migration_branches: Sequence[Path] = (),
    ) -> None:
        if isinstance(settings, str):
            settings = DatabaseSettings(url=settings)
        if settings.url is None:
            raise ValueError("database.url is not set: give a URL or leave the Database out")
        self.name = name
        self.settings = settings
        self.url = normalize_url(settings.url)
        self.metadata = metadata
        self.migration_branches = tuple(migration_branches)
        self._instruments = Instruments(name, metrics, tracer_provider)
        self._engine: AsyncEngine | None = None
        self._sessions: async_sessionmaker[AsyncSession] | None = None

    @property
    def engine(self) -> AsyncEngine:
        """The SQLAlchemy engine (for raw SQL and Alembic).

        Raises:
            RuntimeError: before :meth:`start`.
        """
        if self._engine is None:
            raise RuntimeError(f"database {self.name!r} is not started")
        return self._engine

    @property
    def safe_url(self) -> str:
        """The URL with its password masked, for messages and logs."""
        return self.url.render_as_string(hide_password=True)

    async def start(self) -> None:
        """Create the pool, wait for the database, and migrate if configured.

        Raises:
            Unavailable: the database did not answer within
                ``connect_retries`` attempts.
            microlib.data.migrations.MigrationError: a migration failed.
        """
        if self._engine is None:
            self._engine = create_engine(self.url, self.settings)
            self._instruments.attach(self._engine.sync_engine)
            self._sessions = async_sessionmaker(self._engine, class_=AsyncSession, expire_on_commit=False)
        await self._wait_until_reachable()
        if self.settings.migrate_on_start:
            from microlib.data.migrations import Migrations

            migrations = Migrations(
                self.settings.migrations, metadata=self.metadata, branches=self.migration_branches
            )
            await migrations.upgrade(self.engine, lock_timeout=self.settings.migrate_lock_timeout)

    async def stop(self) -> None:
        """Close every pooled connection; safe after a failed start."""
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None
            self._sessions = None

    async def check(self) -> Mapping[str, Any] | None:
        """Run ``SELECT 1`` within ``check_timeout`` seconds.

        Returns:
            The pool's state.

        Raises:
            Unavailable: the database did not answer.
        """
        await self._ping("health check", self.settings.check_timeout)
        pool: Any = self.engine.pool
        if hasattr(pool, "checkedout"):
            # QueuePool counts overflow from -pool_size up: only what exists beyond the pool is overflow.
            overflow = max(0, pool.overflow())
            return {"pool_size": pool.size(), "checked_out": pool.checkedout(), "overflow": overflow}
        return None

    def transaction(self) -> AbstractAsyncContextManager[AsyncSession]:
        """A unit of work: ``async with db.transaction() as session:``.

        Commits when the block succeeds; rolls back when anything escapes
        it, cancellation included. Inside another transaction of this
        database in the same task, it is a SAVEPOINT of that one.

        Raises:
            microlib.core.errors.AlreadyExists: a unique constraint failed.
            microlib.core.errors.FailedPrecondition: another constraint failed.
            Unavailable: the database could not be reached.
        """
        if self._sessions is None:
            raise RuntimeError(f"database {self.name!r} is not started")
        return open_transaction(self, self._sessions, self._instruments.transaction_done)

    def current_transaction(self) -> Transaction:
        """The transaction this task has open, for hooks around its commit.

        Raises:
            RuntimeError: if this task has no transaction of this database
                open (one opened by a parent task does not count).
        """
        tx = current_transaction(self)
        if tx is None:
            raise RuntimeError(
                f"no transaction of database {self.name!r} is open in this task; "
                "use 'async with db.transaction()'"
            )
        return tx

    def current_session(self) -> AsyncSession:
        """The session of :meth:`current_transaction`.

        Raises:
            RuntimeError: if this task has no transaction open.
        """
        session: AsyncSession = self.current_transaction().session
        return session

    async def _ping(self, operation: str, timeout: float) -> None:
        try:
            async with asyncio.timeout(timeout):
                with map_db_errors(operation):
                    async with self.engine.connect() as conn:
                        await conn.execute(text("SELECT 1"))
        except TimeoutError:
            raise Unavailable(
                f"{operation}: database at {self.safe_url} did not answer within {timeout}s",
                reason="DATABASE_TIMEOUT",
                domain=DOMAIN,
            ) from None

    async def _wait_until_reachable(self) -> None:
        s = self.settings
        delay = s.connect_backoff
        for attempt in range(1, s.connect_retries + 1):
            try:
                await self._ping("connect", s.connect_timeout)
            except Error as exc:
                if attempt == s.connect_retries:
                    raise Unavailable(
                        f"database at {self.safe_url} unreachable after {attempt} attempt(s): {exc.message}",
                        reason="DATABASE_UNAVAILABLE",
                        domain=DOMAIN,
                    ) from exc
                log.warning(
                    "database unreachable, retrying",
                    database=self.name,
                    url=self.safe_url,
                    attempt=attempt,
                    retry_in=delay,
                    error=exc.message,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, s.connect_backoff_max)
            else:
                log.info("database connected", database=self.name, url=self.safe_url)
                return
