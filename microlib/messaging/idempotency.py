"""Consumers that handle a message id once: an idempotency store and the interceptor using it.

The relay, like every broker, delivers at least once. A consumer listed in
``messaging.idempotency.operations`` runs behind :class:`Deduplicate`: a
delivery whose message id the store remembers is acknowledged without
running the handler; a handled one is remembered after its handler
returned. With :class:`DatabaseIdempotency` the check, the handler and the id
share one transaction of the service's database (the ``UnitOfWork``'s, when
one is open): the handler's writes and the id commit together, so even a
crash between them cannot apply a message twice.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import TYPE_CHECKING, Any, Protocol

import structlog
from sqlalchemy import and_, delete, exists, select
from sqlalchemy.exc import IntegrityError

from microlib.data.transaction import current_transaction
from microlib.messaging.consumer import DELIVERY_ATTRIBUTE
from microlib.messaging.outbox.table import processed

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from microlib.core.chain import CallNext
    from microlib.core.context import CallContext
    from microlib.data import Cache, Database
    from microlib.observability.metrics import Metrics

__all__ = ["CacheIdempotency", "DatabaseIdempotency", "Deduplicate", "IdempotencyStore"]

log = structlog.get_logger("microlib.messaging")


class IdempotencyStore(Protocol):
    """Remembers which message ids a consumer handled."""

    async def seen(self, scope: str, message_id: str) -> bool:
        """Whether ``message_id`` was handled in ``scope`` (a consumer)."""
        ...

    async def remember(self, scope: str, message_id: str) -> None:
        """Record that ``message_id`` was handled in ``scope``."""
        ...

    def unit(self) -> AbstractAsyncContextManager[object]:
        """What the check, the handler and the remembering run in together."""
        ...


class CacheIdempotency:
    """Handled ids in a :class:`~microlib.data.Cache`: in memory, or Redis shared by replicas.

    Args:
        cache: The cache (``MemoryCache`` for one process, ``RedisCache`` for all).
        ttl: Seconds an id is remembered.
    """

    def __init__(self, cache: Cache, *, ttl: float) -> None:
        self.cache = cache
        self.ttl = ttl

    async def seen(self, scope: str, message_id: str) -> bool:
        """Whether the cache holds the id."""
        return await self.cache.get(f"processed:{scope}:{message_id}") is not None

    async def remember(self, scope: str, message_id: str) -> None:
        """Store the id for ``ttl`` seconds."""
        await self.cache.add(f"processed:{scope}:{message_id}", b"1", ttl=self.ttl)

    def unit(self) -> AbstractAsyncContextManager[object]:
        """Nothing: a cache has no transaction to share with the handler."""
        return nullcontext()


class DatabaseIdempotency:
    """Handled ids in the ``microlib_processed`` table (the outbox's migration branch).

    Inside a transaction of ``database``, the id is written in it: it commits
    with the handler's writes, or not at all. :class:`Deduplicate` opens one
    around the handler (its :meth:`unit`) unless a ``UnitOfWork`` did.

    Args:
        database: The service's database.
        ttl: Seconds an id is remembered (older ones are deleted as new ones come).
    """

    def __init__(self, database: Database, *, ttl: float) -> None:
        self.database = database
        self.ttl = ttl
        self._next_cleanup = 0.0

    async def seen(self, scope: str, message_id: str) -> bool:
        """Whether the table holds the id."""
        query = select(exists().where(and_(processed.c.scope == scope, processed.c.message_id == message_id)))
        tx = current_transaction(self.database)
        if tx is not None:
            return bool((await (await tx.session.connection()).execute(query)).scalar())
        async with self.database.engine.connect() as conn:
            found = bool((await conn.execute(query)).scalar())
            await conn.commit()
        return found

    async def remember(self, scope: str, message_id: str) -> None:
        """Insert the id; in the open transaction when there is one.

        A concurrent duplicate that got there first makes the insert fail in
        the handler's transaction, which rolls back: the message is retried,
        found seen, and skipped.
        """
        row = processed.insert().values(scope=scope, message_id=message_id, processed_at=time.time())
        tx = current_transaction(self.database)
        if tx is not None:
            connection = await tx.session.connection()
            await connection.execute(row)
            await self._expire(connection)
            return
        try:
            async with self.database.engine.begin() as conn:
                await conn.execute(row)
                await self._expire(conn)
        except IntegrityError:
            pass  # Remembered by a concurrent duplicate already.

    def unit(self) -> AbstractAsyncContextManager[object]:
        """A transaction of the database, unless this task has one open already."""
        if current_transaction(self.database) is not None:
            return nullcontext()
        return self.database.transaction()

    async def _expire(self, conn: AsyncConnection) -> None:
        # At most once a minute, on the connection at hand (a second one would wait for
        # SQLite's write lock, which this transaction holds).
        if time.monotonic() >= self._next_cleanup:
            self._next_cleanup = time.monotonic() + 60
            await conn.execute(delete(processed).where(processed.c.processed_at < time.time() - self.ttl))


class Deduplicate:
    """Interceptor: skip a delivery whose message id the store remembers.

    Installed by the composition root for ``messaging.idempotency.operations``,
    in the chain's ``user`` slot after the application's interceptors (so
    inside a ``UnitOfWork``). The check, the handler and the remembering run
    in the store's :meth:`~IdempotencyStore.unit`. A skipped delivery is
    acknowledged; a skipped request gets no reply.

    Args:
        store: Where handled ids are kept.
        operations: The receive operations that deduplicate.
        group: The consumer group: ids are remembered per group and operation.
        metrics: Counts ``messaging_consumer_duplicates_total{method}``.
    """

    def __init__(
        self,
        store: IdempotencyStore,
        operations: Collection[str],
        *,
        group: str,
        metrics: Metrics | None = None,
    ) -> None:
        self.store = store
        self.operations = frozenset(operations)
        self.group = group
        self._duplicates = (
            None
            if metrics is None
            else metrics.counter(
                "messaging_consumer_duplicates_total", "Deliveries skipped as already handled.", ("method",)
            )
        )

    async def intercept(self, ctx: CallContext, call_next: CallNext) -> Any:
        """Run ``call_next`` unless the message id was handled; remember it after."""
        delivery = ctx.attributes.get(DELIVERY_ATTRIBUTE)
        if ctx.kind != "message" or ctx.method not in self.operations or delivery is None:
            return await call_next(ctx)
        message_id = delivery[0].message_id
        if not message_id:
            return await call_next(ctx)
        scope = f"{self.group}.{ctx.method}"
        async with self.store.unit():
            if await self.store.seen(scope, message_id):
                log.info("duplicate message skipped", method=ctx.method, message_id=message_id)
                if self._duplicates is not None:
                    self._duplicates.labels(ctx.method).inc()
                return None
            result = await call_next(ctx)
            await self.store.remember(scope, message_id)
        return result
