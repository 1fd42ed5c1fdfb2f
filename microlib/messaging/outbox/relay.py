"""The relay: sends committed outbox rows to the broker, in order per key.

A lifecycle component. It wakes when a local transaction that wrote rows
commits, when PostgreSQL notifies (``LISTEN microlib_outbox``: a commit in
an instance that runs no relay), and every ``poll_interval`` seconds
otherwise; while rounds send rows it does not wait at all. A row is
marked sent only after the broker confirmed it. When the broker (or the
database) fails, the relay backs off exponentially, keeps the backlog, and
drains it in order once it is back; after ``stalled_after`` seconds of
failing it says so in a metric and a log line, while readiness stays true:
the service still takes writes.

Metrics: ``messaging_outbox_backlog``, ``messaging_outbox_oldest_age_seconds``,
``messaging_outbox_relayed_total{operation}``,
``messaging_outbox_failures_total{operation}``,
``messaging_outbox_relay_stalled`` and ``messaging_outbox_deleted_total``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import orjson
import structlog

from microlib.messaging.broker import Broker, OutgoingMessage
from microlib.messaging.definition import Action, OperationDefinition
from microlib.messaging.outbox.store import Batch, OutboxRow, OutboxStore
from microlib.messaging.outbox.table import NOTIFY_CHANNEL

if TYPE_CHECKING:
    from microlib.config.model import OutboxSettings
    from microlib.data import Database
    from microlib.observability.metrics import Metrics

__all__ = ["Relay"]

log = structlog.get_logger("microlib.messaging.outbox")


class Relay:
    """Sends the outbox's committed rows to the broker.

    Args:
        database: The database holding the outbox (started before the relay).
        broker: Returns the started broker.
        settings: The ``messaging.outbox`` section.
        metrics: The service's metrics.
        publish_timeout: Seconds a publish waits for the broker's confirmation.
    """

    name = "outbox-relay"

    def __init__(
        self,
        database: Database,
        broker: Callable[[], Broker],
        settings: OutboxSettings,
        metrics: Metrics,
        *,
        publish_timeout: float = 10.0,
    ) -> None:
        self.database = database
        self.settings = settings
        self._broker = broker
        self._timeout = publish_timeout
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._store: OutboxStore | None = None
        self._listener: Any = None
        self._listen_retry_at = 0.0
        self._operations: dict[tuple[str, str, str], OperationDefinition] = {}
        self._failing_since: float | None = None
        self._failed_rounds = 0
        self.stalled = False
        """True while the relay has been failing for ``stalled_after`` seconds."""
        self.backlog = 0
        """Unsent rows at the last measurement."""
        self._backlog = metrics.gauge("messaging_outbox_backlog", "Outbox rows not sent yet.")
        self._oldest = metrics.gauge(
            "messaging_outbox_oldest_age_seconds", "Age of the oldest outbox row not sent yet."
        )
        self._relayed = metrics.counter(
            "messaging_outbox_relayed_total", "Outbox rows the broker confirmed.", ("operation",)
        )
        self._failures = metrics.counter(
            "messaging_outbox_failures_total", "Outbox rows the broker did not take.", ("operation",)
        )
        self._stalled = metrics.gauge(
            "messaging_outbox_relay_stalled",
            "1 while the relay has been failing for messaging.outbox.stalled_after.",
        )
        self._deleted = metrics.counter(
            "messaging_outbox_deleted_total", "Sent outbox rows deleted by the cleanup."
        )

    def wake(self) -> None:
        """Look for rows now (a transaction that wrote some committed)."""
        self._wake.set()

    async def start(self) -> None:
        """Start relaying in the background; rows already committed go first.

        Raises:
            ValueError: the database is an in-memory SQLite one, whose single
                connection the application's transactions already use.
        """
        store = OutboxStore(self.database.engine)
        if store.in_memory:
            raise ValueError(
                f"messaging.outbox: database.url {self.database.safe_url!r} is an in-memory SQLite "
                "database, whose one connection every task shares: the relay cannot run beside the "
                "application's transactions; use a file (sqlite+aiosqlite:///./var/app.db)"
            )
        self._stopping.clear()
        self._store = store
        if self._store.postgres:
            await self._listen()
        self._tasks = [
            asyncio.create_task(self._relay(), name="outbox-relay"),
            asyncio.create_task(self._housekeeping(), name="outbox-housekeeping"),
        ]

    async def stop(self) -> None:
        """Finish the batch in flight (within the publish timeout), then stop."""
        self._stopping.set()
        tasks, self._tasks = self._tasks, []
        _, pending = await asyncio.wait(tasks, timeout=self._timeout) if tasks else (set(), set())
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()
            self._listener = None
        if self._store is not None:
            self._store.release()

    async def check(self) -> Mapping[str, Any] | None:
        """Never raises: a stalled relay must not take the service out of rotation."""
        return {"backlog": self.backlog, "stalled": self.stalled}

    async def run_once(self) -> int:
        """Claim and send one batch; returns how many rows were sent.

        Raises:
            microlib.core.errors.Unavailable: the broker did not take some
                rows (they stay for a later round) or the database failed.
        """
        store = self._store
        assert store is not None, "start the relay first"
        broker = self._broker()
        async with store.claim(self.settings.batch_size) as batch:
            if batch.rows:
                await self._publish(broker, batch)
        counts: dict[tuple[bool, str], int] = {}
        for row in batch.rows:
            outcome = (row.id in batch.failed, row.operation)
            counts[outcome] = counts.get(outcome, 0) + 1
        for (failed, operation), count in counts.items():
            (self._failures if failed else self._relayed).labels(operation).inc(count)
        if batch.failed:
            first = next(iter(batch.failed.values()))
            raise _RoundFailed(f"{len(batch.failed)} of {len(batch.rows)} message(s) not taken: {first}")
        return len(batch.sent)

    async def _publish(self, broker: Broker, batch: Batch) -> None:
        """Publish the batch's rows at once (one per key) and sort them into sent and failed.

        One deadline for the whole batch: a row not confirmed when it passes failed.
        """
        loop = asyncio.get_running_loop()
        sending = {
            loop.create_task(broker.publish(self._operation(row), _message(row))): row.id
            for row in batch.rows
        }
        try:
            _, late = await asyncio.wait(sending, timeout=self._timeout)
        finally:
            for task in sending:
                task.cancel()  # the late ones; and all of them if this round is cancelled
        if late:
            await asyncio.wait(late)
        for task, row_id in sending.items():
            error = None if task.cancelled() else task.exception()
            if task in late or task.cancelled():
                batch.failed[row_id] = f"no confirmation within {self._timeout}s (messaging.publish_timeout)"
            elif error is not None:
                batch.failed[row_id] = f"{type(error).__name__}: {error}"
            else:
                batch.sent.append(row_id)

    def _operation(self, row: OutboxRow) -> OperationDefinition:
        # The adapters read only the bindings (exchange, topic) from the operation.
        cache_key = (row.operation, row.channel, row.bindings)
        found = self._operations.get(cache_key)
        if found is None:
            found = self._operations[cache_key] = OperationDefinition(
                name=row.operation,
                python_name=row.operation,
                action=Action.SEND,
                channel=row.channel,
                address=row.address,
                messages=(),
                bindings=orjson.loads(row.bindings),
            )
        return found

    async def _relay(self) -> None:
        store = self._store
        assert store is not None
        s = self.settings
        delay = s.backoff
        while not self._stopping.is_set():
            if not store.acquire():
                await self._sleep(s.poll_interval)  # another relay has this SQLite database
                continue
            self._wake.clear()
            try:
                sent = await self.run_once()
            except Exception as exc:
                self._failed(exc)
                await self._sleep(delay, interruptible=False)
                delay = min(delay * 2, s.backoff_max)
                continue
            delay = s.backoff
            self._recovered()
            # A round takes one row per key: a full batch is no sign of the backlog, since
            # a key's next row waits for the round after. Only an empty round is.
            if not sent:
                await self._sleep(s.poll_interval)

    async def _sleep(self, seconds: float, *, interruptible: bool = True) -> None:
        """Wait ``seconds``; cut short by stop and, if ``interruptible``, by a wake-up.

        A backoff is not interruptible: new rows must not hammer a broker that is down.
        """
        if self._stopping.is_set():
            return
        if interruptible:
            await self._relisten()
        waits = [asyncio.ensure_future(self._stopping.wait())]
        if interruptible:
            waits.append(asyncio.ensure_future(self._wake.wait()))
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()

    def _failed(self, exc: Exception) -> None:
        now = time.monotonic()
        if self._failing_since is None:
            self._failing_since = now
            self._failed_rounds = 0
        self._failed_rounds += 1
        failing = now - self._failing_since
        if self.stalled:
            return  # said once, as the stall began; the recovery says how many rounds failed
        if failing >= self.settings.stalled_after:
            self.stalled = True
            self._stalled.set(1)
            log.error(
                "outbox relay stalled: messages are kept and will be sent in order once it recovers",
                failing_for=round(failing, 1),
                backlog=self.backlog,
                error=str(exc),
            )
        else:
            log.warning("outbox relay round failed, backing off", error=str(exc))

    def _recovered(self) -> None:
        if self.stalled:
            log.info(
                "outbox relay recovered",
                stalled_for=round(time.monotonic() - (self._failing_since or 0), 1),
                failed_rounds=self._failed_rounds,
            )
            self.stalled = False
            self._stalled.set(0)
        self._failing_since = None

    async def _housekeeping(self) -> None:
        store = self._store
        assert store is not None
        s = self.settings
        next_cleanup = time.monotonic() + s.cleanup_interval
        while not self._stopping.is_set():
            try:
                count, oldest = await store.stats()
                self.backlog = count
                self._backlog.set(count)
                self._oldest.set(0 if oldest is None else max(0.0, time.time() - oldest))
                if time.monotonic() >= next_cleanup:
                    next_cleanup = time.monotonic() + s.cleanup_interval
                    deleted = await store.cleanup(s.retention)
                    self._deleted.inc(deleted)
            except Exception as exc:
                log.warning("outbox housekeeping failed", error=f"{type(exc).__name__}: {exc}")
            await self._sleep(max(s.poll_interval, 1.0), interruptible=False)

    async def _relisten(self) -> None:
        """Open LISTEN again after losing it, at most every 30 s (polling meanwhile)."""
        store = self._store
        if self._listener is not None or store is None or not store.postgres:
            return
        if time.monotonic() >= self._listen_retry_at:
            self._listen_retry_at = time.monotonic() + 30
            await self._listen()

    async def _listen(self) -> None:
        """LISTEN on a connection of its own; without it, polling still finds every row."""
        try:
            import asyncpg

            url = self.database.url.set(drivername="postgresql")
            connection = await asyncpg.connect(url.render_as_string(hide_password=False), timeout=5)
            await connection.add_listener(NOTIFY_CHANNEL, lambda *_: self._wake.set())
            connection.add_termination_listener(lambda *_: self._lost_listener())
        except Exception as exc:
            log.warning("outbox relay cannot LISTEN; polling only", error=f"{type(exc).__name__}: {exc}")
            return
        self._listener = connection

    def _lost_listener(self) -> None:
        self._listener = None


def _message(row: OutboxRow) -> OutgoingMessage:
    return OutgoingMessage(
        address=row.address,
        body=row.body,
        headers=orjson.loads(row.headers),
        key=row.key,
        message_id=row.message_id,
        correlation_id=row.correlation_id,
        content_type=row.content_type,
    )


class _RoundFailed(Exception):
    """Some rows of a batch were not taken by the broker."""
