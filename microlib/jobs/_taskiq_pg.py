"""What taskiq-postgres's broker leaves undone, against its table (the one private part).

``AsyncpgBroker`` inserts a row per message and NOTIFYs its id; a worker
claims the row when it hears the NOTIFY. Three cases are never delivered:

- a message sent while no worker listens (a NOTIFY nobody hears is gone);
- a message claimed by a worker that died (its row stays ``processing``);
- a message claimed by a listener cancelled before it handed the message
  over (a worker shutting down): the broker's ``listen`` claims, releases
  its connection and only then yields, and a cancellation in between
  leaves the row ``processing`` with nobody to run it.

:func:`prepare` adds microlib's own column to the table, ``claimed_at``:
when the worker holding the row last renewed its claim. :func:`listen`
replaces the broker's loop: its claim sets ``claimed_at`` and runs
shielded, a claim it can no longer hand over goes back to ``pending`` (and
is NOTIFYed) before the cancellation goes on (the third case), and each
message it yields renews its claim (:class:`~microlib.jobs._held.HeldMessage`)
while its job runs. :func:`renotify` repairs the first two: rows still
``pending`` are NOTIFYed again, and rows whose claim was not renewed for
the redelivery timeout go back to ``pending`` first (a pending row has no
``claimed_at``; a row claimed by a worker that does not set it, an older
microlib, counts from its ``created_at``). Claims stay exclusive
(``UPDATE ... WHERE status = 'pending'``, as the broker's own). This
depends on the table's layout (``id``, ``status``, ``labels``,
``created_at``, ``message``) and on the broker's NOTIFY queue and write
pool (``_queue``, ``_write_pool``), which are taskiq-postgres's, not a
public API: the version is pinned (``taskiq-postgres<0.10``) and
``tests/jobs/test_taskiq_drift.py`` checks the layout, the attributes, the
claim and its renewal.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from functools import partial

import asyncpg
import structlog
from taskiq_pg.asyncpg import AsyncpgBroker

from microlib.jobs._held import HeldMessage

__all__ = ["listen", "prepare", "renotify"]

log = structlog.get_logger("microlib.jobs")

_RESET = """
UPDATE {table} SET status = 'pending', claimed_at = NULL
WHERE status = 'processing' AND coalesce(claimed_at, created_at) < now() - make_interval(secs => $1)
  AND labels->>'queue_name' = ANY($2::text[])
"""

_NOTIFY = """
SELECT count(pg_notify(labels->>'queue_name', id::text)) FROM {table}
WHERE status = 'pending' AND labels->>'queue_name' = ANY($1::text[])
"""

_HAS_CLAIMED_AT = (
    "SELECT EXISTS (SELECT FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'claimed_at')"
)
_ADD_CLAIMED_AT = "ALTER TABLE {table} ADD COLUMN IF NOT EXISTS claimed_at timestamptz"
_CLAIM = (
    "UPDATE {table} SET status = 'processing', claimed_at = now() WHERE id = $1 AND status = 'pending' "
    "RETURNING message, claimed_at"
)
# Renews only the claim this worker made: a row taken over since is another worker's.
_RENEW = """
UPDATE {table} SET claimed_at = now() WHERE id = $1 AND status = 'processing' AND claimed_at = $2
RETURNING claimed_at
"""
_GIVE_BACK = (
    "UPDATE {table} SET status = 'pending', claimed_at = NULL WHERE id = $1 AND status = 'processing'"
)
_DELETE = "DELETE FROM {table} WHERE id = $1"


async def prepare(broker: AsyncpgBroker) -> None:
    """Add ``claimed_at`` to the started broker's table (checked first: ``ALTER TABLE`` locks it)."""
    pool = broker._write_pool
    if pool is None:
        raise RuntimeError("the job broker is not started")
    async with pool.acquire() as conn:
        if not await conn.fetchval(_HAS_CLAIMED_AT, broker.table_name):
            await conn.execute(_ADD_CLAIMED_AT.format(table=broker.table_name))


async def listen(broker: AsyncpgBroker) -> AsyncGenerator[HeldMessage, None]:
    """The broker's messages as its own ``listen`` yields them, with a claim no cancellation loses.

    Args:
        broker: A started ``AsyncpgBroker``.
    """
    notified, pool = broker._queue, broker._write_pool
    if notified is None or pool is None:
        raise RuntimeError("the job broker is not started")
    table = broker.table_name
    while True:
        payload = await notified.get()
        try:
            message_id = int(payload)
        except ValueError:
            log.warning("job notification without a message id ignored", payload=payload[:100])
            continue
        claim = asyncio.ensure_future(_fetch(pool, _CLAIM.format(table=table), message_id))
        try:
            claimed = await asyncio.shield(claim)
        except asyncio.CancelledError:
            # The claim may commit after all: finish it, and give back what it took.
            if await _settled(claim) is not None:
                await _give_back(pool, table, broker.channel_name, message_id)
            raise
        if claimed is None:  # another worker claimed it first
            continue
        yield HeldMessage(
            data=str(claimed["message"]).encode(),
            ack=partial(_delete, pool, table, message_id),
            touch=_renewer(pool, table, message_id, claimed["claimed_at"]),
        )


async def _fetch(pool: asyncpg.Pool, query: str, message_id: int) -> asyncpg.Record | None:
    async with pool.acquire() as conn:
        return await conn.fetchrow(query, message_id)


def _renewer(
    pool: asyncpg.Pool, table: str, message_id: int, claimed_at: object
) -> Callable[[], Awaitable[bool]]:
    async def renew() -> bool:
        nonlocal claimed_at
        async with pool.acquire() as conn:
            renewed = await conn.fetchval(_RENEW.format(table=table), message_id, claimed_at)
        if renewed is None:
            return False
        claimed_at = renewed
        return True

    return renew


async def _settled(claim: asyncio.Future[asyncpg.Record | None]) -> asyncpg.Record | None:
    try:
        return await asyncio.shield(claim)
    except asyncio.CancelledError:
        # Cancelled again while waiting: wait once more, the claim is short.
        return await claim
    except Exception:
        return None  # the claim failed: nothing was taken


async def _give_back(pool: asyncpg.Pool, table: str, channel: str, message_id: int) -> None:
    try:
        async with pool.acquire() as conn:
            await conn.execute(_GIVE_BACK.format(table=table), message_id)
            await conn.execute("SELECT pg_notify($1, $2)", channel, str(message_id))
    except Exception as exc:  # the sweeper hands it on after the redelivery timeout
        log.warning("a claimed job was not given back", message_id=message_id, error=str(exc))


async def _delete(pool: asyncpg.Pool, table: str, message_id: int) -> None:
    async with pool.acquire() as conn:
        await conn.execute(_DELETE.format(table=table), message_id)


async def renotify(url: str, table: str, channels: Sequence[str], *, stale_after: float) -> int:
    """NOTIFY again the pending messages of ``channels``; reset those stuck in processing.

    Returns:
        How many messages were announced again.
    """
    conn = await asyncpg.connect(url, timeout=5.0)
    try:
        exists = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", table)
        if not exists:
            return 0
        await conn.execute(_RESET.format(table=table), stale_after, list(channels))
        return int(await conn.fetchval(_NOTIFY.format(table=table), list(channels)))
    finally:
        await conn.close()
