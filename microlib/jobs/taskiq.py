"""The production ``JobQueue``: taskiq's brokers carry the jobs.

``jobs.url`` picks the broker: ``redis://`` taskiq-redis's
``RedisStreamBroker`` (a stream per queue, a consumer group per service,
acknowledged deliveries; its listener replaced, see
:mod:`microlib.jobs._taskiq_redis`), ``amqp://`` taskiq-aio-pika's ``AioPikaBroker``
(a classic queue per job queue, priorities 0-9), ``postgresql://``
taskiq-postgres's ``AsyncpgBroker`` (a table and LISTEN/NOTIFY, a channel
per queue). Only the brokers' public API is used: ``startup``, ``kick``,
``listen`` and ``shutdown``, with taskiq's own message shape
(:mod:`microlib.jobs.envelope`). Delays and retry backoffs, dead letters,
outcomes and idempotency keys live in the store (``jobs.store``: Redis or
PostgreSQL, :mod:`microlib.jobs._store`), which every broker shares.

A job is acknowledged only once it is settled (done, queued for its retry,
or dead-lettered), so a worker that dies mid-job leaves it to be delivered
again (Redis and PostgreSQL: once its claim has not been renewed for
``jobs.redelivery_timeout``; RabbitMQ: when the connection drops). Until
then the worker renews the claim every third of that timeout
(:mod:`microlib.jobs._held`), however long the job waited or runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine, Mapping, Sequence
from dataclasses import asdict, replace
from typing import TYPE_CHECKING, Any

import orjson
import structlog
from taskiq import AckableMessage, AsyncBroker, BrokerMessage

from microlib.config._secrets import mask_url_passwords
from microlib.config.model import JobsSettings
from microlib.core.errors import Unavailable
from microlib.jobs._asyncpg import POOL_SIZE, asyncpg_dsn
from microlib.jobs._broker_probe import BrokerProbe
from microlib.jobs._held import HeldMessage
from microlib.jobs._store import Store, open_store
from microlib.jobs._tasks import cancel_and_wait
from microlib.jobs.envelope import JobEnvelope
from microlib.jobs.queue import DeadLetter, Delivery, JobOutcome
from microlib.observability._outage import OutageLog, library_loggers

if TYPE_CHECKING:
    from microlib.jobs._quiet_connection import QuietConnection

__all__ = ["TaskiqQueue"]

log = structlog.get_logger("microlib.jobs")

_ASK_BACKOFF, _ASK_BACKOFF_MAX = 0.5, 10.0
"""Seconds between two asks whether RabbitMQ answers again, during an outage."""


def _amqp_loggers() -> list[logging.Logger]:
    import aio_pika
    import aiormq
    import taskiq_aio_pika

    return library_loggers(aiormq, aio_pika, taskiq_aio_pika)


_HOLD = 30.0  # seconds a claimed delayed job is hidden from other replicas
_BATCH = 100


class _TaskiqDelivery:
    __slots__ = ("_held", "_message", "_owner", "_renewal", "_settled", "envelope")

    def __init__(self, owner: TaskiqQueue, envelope: JobEnvelope, message: AckableMessage | bytes) -> None:
        self._owner = owner
        self.envelope = envelope
        self._message = message
        self._settled = False
        self._held = isinstance(message, HeldMessage)
        self._renewal: asyncio.Task[None] | None = None
        if isinstance(message, HeldMessage):
            self._renewal = owner._renewing(self._renew(message))

    async def _renew(self, message: HeldMessage) -> None:
        """Keep the claim alive until the job is settled or abandoned."""
        every = self._owner._settings.redelivery_timeout / 3
        while True:
            await asyncio.sleep(every)
            if not self._held:  # its cancellation was lost (see _tasks.cancel_and_wait)
                return
            try:
                renewed = await message.touch()
            except Exception as exc:  # tried again in a third of the timeout
                log.warning("job claim not renewed", job_id=self.envelope.id, error=str(exc))
                continue
            if not renewed:
                log.warning("job claim lost: another worker may run it too", job_id=self.envelope.id)
                return

    def abandon(self) -> None:
        """Stop renewing the claim."""
        self._held = False
        if self._renewal is not None:
            self._renewal.cancel()

    async def ack(self) -> None:
        """Acknowledge the delivery to the broker."""
        if self._settled:
            return
        self._settled = True
        self.abandon()
        if isinstance(self._message, AckableMessage):
            result = self._message.ack()
            if result is not None:
                await result

    async def requeue(self) -> None:
        """Send the job again, then acknowledge this delivery."""
        if self._settled:
            return
        await self._owner._kick(self.envelope)
        await self.ack()


class TaskiqQueue:
    """Jobs on a taskiq broker, with a store for what brokers do not keep.

    Args:
        settings: The ``jobs`` section.
        namespace: Prefix of queue names, keys and rows.
    """

    name = "jobs-queue"

    def __init__(self, settings: JobsSettings, namespace: str) -> None:
        self._settings = settings
        self._ns = namespace
        store_url = settings.store_url
        assert store_url is not None  # JobsSettings requires one for amqp://
        self._store: Store = open_store(store_url, namespace)
        # The store's own ping reaches the broker too when they share a URL.
        self._probe = None if store_url == settings.url else BrokerProbe(settings.backend, settings.url)
        # aiormq and aio-pika log each failed attempt, the probe's at every health check:
        # an outage of RabbitMQ is two lines instead.
        self._outage = (
            OutageLog(
                "RabbitMQ",
                mask_url_passwords(settings.url),
                "jobs.url",
                _amqp_loggers,
                self._broker_answers,
                _ASK_BACKOFF,
                _ASK_BACKOFF_MAX,
            )
            if settings.backend == "amqp"
            else None
        )
        self._writers: dict[str, AsyncBroker] = {}
        self._readers: list[AsyncBroker] = []
        self._reading: dict[str, AsyncBroker] = {}  # PostgreSQL: the latest reader of each queue
        # PostgreSQL: the connection every enqueue-only broker is handed to LISTEN on, which never does.
        self._quiet: QuietConnection | None = None
        self._promoter: asyncio.Task[None] | None = None
        self._startup = asyncio.Lock()
        self._table = _identifier(f"microlib_job_messages_{namespace}")
        self._renewals: set[asyncio.Task[None]] = set()
        self._started = False

    # -- lifecycle -------------------------------------------------------

    async def start(self) -> None:
        """Connect the store; start moving due delayed jobs to their queues.

        Raises:
            Unavailable: The store does not answer, naming the setting that gives its URL.
        """
        try:
            await self._store.start()
        except Exception as exc:  # the driver's own: redis's ConnectionError, asyncpg's, OSError
            url = self._settings.store_url or ""
            setting = "jobs.store" if self._settings.store is not None else "jobs.url"
            where = f"{mask_url_passwords(url)} ({setting})"
            raise Unavailable(f"the jobs store at {where}: {type(exc).__name__}: {exc}") from exc
        self._started = True
        if self._outage is not None:
            self._outage.install()
        self._promoter = asyncio.create_task(self._promote(), name="microlib-jobs-promoter")

    async def stop(self) -> None:
        """Stop promoting; close the brokers and the store."""
        if self._promoter is not None:
            await cancel_and_wait(self._promoter)
            self._promoter = None
        for renewal in list(self._renewals):  # jobs never settled: no claim outlives the brokers
            await cancel_and_wait(renewal)
        brokers = [*self._readers, *self._writers.values()]
        self._readers, self._writers, self._reading = [], {}, {}
        for broker in brokers:
            with contextlib.suppress(Exception):
                await broker.shutdown()
        if self._quiet is not None:
            with contextlib.suppress(Exception):
                await self._quiet.close()
            self._quiet = None
        await self._store.stop()
        if self._probe is not None:
            await self._probe.close()
        if self._outage is not None:
            await self._outage.uninstall()
        self._started = False

    async def check(self) -> Mapping[str, Any] | None:
        """The store and the broker answer.

        Raises:
            Unavailable: The broker does not answer, naming ``jobs.url``.
        """
        await self._store.ping()
        if self._probe is not None:
            try:
                with self._outage_scope():
                    await self._probe.ping()
            except Exception as exc:  # the driver's own: aiormq's, redis's, asyncpg's
                raise self._broker_unavailable(exc) from exc
        return {"broker": self._settings.backend}

    def _outage_scope(self) -> contextlib.AbstractContextManager[None]:
        """What the broker's driver logs meanwhile is this queue's outage's."""
        return contextlib.nullcontext() if self._outage is None else self._outage.scope()

    async def _broker_answers(self) -> None:
        probe = BrokerProbe(self._settings.backend, self._settings.url)
        try:
            await probe.ping()
        finally:
            await probe.close()

    def _broker_unavailable(self, exc: Exception) -> Unavailable:
        where = f"{mask_url_passwords(self._settings.url)} (jobs.url)"
        return Unavailable(f"the jobs broker at {where}: {type(exc).__name__}: {exc}")

    def _renewing(self, renewal: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(renewal, name="microlib-jobs-claim")
        self._renewals.add(task)
        task.add_done_callback(self._renewals.discard)
        return task

    # -- brokers ---------------------------------------------------------

    def _physical(self, queue: str) -> str:
        if self._settings.backend == "postgresql":
            # A NOTIFY channel is an identifier.
            return _identifier(f"{self._ns}_jobs_{queue}")
        separator = ":" if self._settings.backend == "redis" else "."
        return f"{self._ns}{separator}jobs{separator}{queue}"

    def _broker(self, queue: str, *, reader: bool) -> AsyncBroker:
        backend, url = self._settings.backend, self._settings.url
        name = self._physical(queue)
        broker: AsyncBroker
        if backend == "redis":
            from microlib.jobs._taskiq_redis import StreamBroker

            broker = StreamBroker(
                url,
                queue_name=name,
                consumer_group_name=f"{self._ns}-jobs",
                idle_timeout=int(self._settings.redelivery_timeout * 1000),
            )
        elif backend == "amqp":
            from taskiq_aio_pika import AioPikaBroker, Exchange, Queue
            from taskiq_aio_pika.queue import QueueType

            broker = AioPikaBroker(
                url,
                qos=self._settings.concurrency,
                exchange=Exchange(name=f"{self._ns}.jobs"),
                task_queues=[Queue(name=name, type=QueueType.CLASSIC, max_priority=9)],
                dead_letter_queue=Queue(name=f"{self._ns}.jobs.dead", type=QueueType.CLASSIC),
            )
        else:
            from taskiq_pg.asyncpg import AsyncpgBroker

            broker = AsyncpgBroker(
                asyncpg_dsn(url),
                channel_name=name,
                table_name=self._table,
                # A broker for each queue read and each enqueued to, each with a pool: at asyncpg's
                # default size three replicas of two queues passed PostgreSQL's max_connections.
                write_kwargs=POOL_SIZE,
                # An enqueue-only broker LISTENs on a connection that never does (see
                # _quiet_connection): it would keep every NOTIFY of its queue, unread.
                read_connection=None if reader else self._quiet,
            )
        broker.is_worker_process = reader
        return broker

    async def _writer(self, queue: str) -> AsyncBroker:
        broker = self._writers.get(queue)
        if broker is None and self._settings.backend == "postgresql":
            # A queue this replica reads is enqueued to through its reader: one pool, not two.
            broker = self._reading.get(queue)
        if broker is None:
            async with self._startup:
                broker = self._writers.get(queue)
                if broker is None:
                    broker = await self._open_broker(queue, reader=False)
                    self._writers[queue] = broker
        return broker

    async def _open_broker(self, queue: str, *, reader: bool) -> AsyncBroker:
        """A started broker for ``queue``; a new one if a replica starting at the same
        moment raced it.

        taskiq-postgres creates its table with ``CREATE TABLE IF NOT EXISTS``,
        which PostgreSQL lets two sessions race into a unique violation or a
        duplicate type or sequence. The failed broker is not started again: its
        shutdown closes its pool without forgetting it.
        """
        if not reader and self._settings.backend == "postgresql" and self._quiet is None:
            from microlib.jobs._quiet_connection import connect_quiet

            with self._outage_scope():
                self._quiet = await connect_quiet(asyncpg_dsn(self._settings.url))
        for attempt in range(3):
            broker = self._broker(queue, reader=reader)
            try:
                with self._outage_scope():  # its reconnections' lines too
                    await broker.startup()
                return broker
            except Exception as exc:
                with contextlib.suppress(Exception):
                    await broker.shutdown()
                if attempt == 2 or not self._raced(exc):
                    raise
                log.info("job broker startup raced, retrying", error=str(exc))
                await asyncio.sleep(0.1 * (attempt + 1))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _raced(self, exc: Exception) -> bool:
        """Whether ``exc`` is what PostgreSQL answers a table created twice at once (a unique
        violation in its catalog, its row type or id sequence already there); anything
        else, a refused connection first, is not worth a second try."""
        if self._settings.backend != "postgresql":
            return False
        import asyncpg

        return isinstance(
            exc, asyncpg.UniqueViolationError | asyncpg.DuplicateTableError | asyncpg.DuplicateObjectError
        )

    async def _kick(self, envelope: JobEnvelope) -> None:
        message = BrokerMessage(
            task_id=envelope.id,
            task_name=envelope.job,
            message=envelope.encode(),
            labels={"queue_name": self._physical(envelope.queue), "priority": envelope.priority},
        )
        try:
            broker = await self._writer(envelope.queue)
            await broker.kick(message)
        except Exception as exc:  # the driver's own: aiormq's, redis's, asyncpg's
            raise self._broker_unavailable(exc) from exc

    # -- JobQueue ----------------------------------------------------------

    async def enqueue(self, envelope: JobEnvelope, *, not_before: float | None = None) -> str:
        """Kick now, or keep in the store until ``not_before``.

        Raises:
            Unavailable: The broker did not take the job, naming ``jobs.url``.
        """
        key = envelope.idempotency_key if envelope.attempt == 1 else None
        if key is not None:
            held = await self._store.remember_key(key, envelope.id, self._settings.idempotency_ttl)
            if held is not None:
                return held
        try:
            if not_before is not None and not_before > time.time():
                # One entry per delay, not per job: a retry delayed while the promoter
                # settles the previous entry of the same job must not be settled with it.
                entry = f"{envelope.id}:{envelope.attempt}:{uuid.uuid4().hex[:8]}"
                await self._store.delay(entry, envelope.encode(), not_before)
            else:
                await self._kick(envelope)
        except BaseException:
            # Held for a job never queued, the key would refuse every later enqueue under it;
            # a store down as well lets it expire with its TTL (the broker's error is the one raised).
            if key is not None:
                with contextlib.suppress(Exception):
                    await self._store.forget_key(key, envelope.id)
            raise
        return envelope.id

    async def forget_key(self, key: str, job_id: str) -> None:
        """In the store."""
        await self._store.forget_key(key, job_id)

    async def key_holder(self, key: str) -> tuple[str, float] | None:
        """From the store; taken ``jobs.idempotency_ttl`` before it expires."""
        held = await self._store.key_holder(key)
        return None if held is None else (held[0], held[1] - self._settings.idempotency_ttl)

    async def _promote(self) -> None:
        while True:
            try:
                moved = await self._promote_due()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("delayed jobs not promoted", error=str(exc))
                moved = 0
            if moved < _BATCH:
                await asyncio.sleep(self._settings.poll_interval)

    async def _promote_due(self) -> int:
        due = await self._store.due(time.time(), _BATCH, _HOLD)
        for entry, message in due:
            await self._kick(JobEnvelope.decode(message))
            await self._store.settle(entry)
        return len(due)

    async def deliveries(
        self, queues: Sequence[str], *, listening: Callable[[], None] | None = None
    ) -> AsyncIterator[Delivery]:
        """Listen on each queue's broker; merge them when there are several.

        The brokers stay open until :meth:`stop`: jobs handed out are
        acknowledged through them after the listening ends (drain).
        """
        brokers: list[AsyncBroker] = []
        sweeper: asyncio.Task[None] | None = None
        try:
            for queue in queues:
                async with self._startup:
                    broker = await self._open_broker(queue, reader=True)
                self._readers.append(broker)
                if self._settings.backend == "postgresql":
                    self._reading[queue] = broker
                brokers.append(broker)
            if self._settings.backend == "postgresql":
                await _prepare(brokers[0])  # one table for every queue
                sweeper = asyncio.create_task(self._sweep([self._physical(q) for q in queues]))
            if listening is not None:  # every broker connected: no job needs to come first
                listening()
            streams = [self._listen(broker) for broker in brokers]
            merged = streams[0] if len(streams) == 1 else _merge(streams)
            # Closed explicitly: a listener left to the garbage collector keeps
            # reading (and holding) messages after the worker stopped.
            async with contextlib.aclosing(merged):
                async for delivery in merged:
                    yield delivery
        finally:
            if sweeper is not None:
                await asyncio.shield(cancel_and_wait(sweeper))

    async def _sweep(self, channels: list[str]) -> None:
        """PostgreSQL: announce again what no listener heard (see :mod:`._taskiq_pg`)."""
        from microlib.jobs._taskiq_pg import renotify

        url = asyncpg_dsn(self._settings.url)
        timeout = self._settings.redelivery_timeout
        while True:
            try:
                await renotify(url, self._table, channels, stale_after=timeout)
            except Exception as exc:
                log.warning("pending jobs not announced again", error=str(exc))
            await asyncio.sleep(min(timeout / 2, 30.0))

    async def _listen(self, broker: AsyncBroker) -> AsyncGenerator[Delivery, None]:
        if self._settings.backend == "postgresql":
            from taskiq_pg.asyncpg import AsyncpgBroker

            from microlib.jobs._taskiq_pg import listen

            assert isinstance(broker, AsyncpgBroker)
            source: AsyncGenerator[AckableMessage | bytes, None] = listen(broker)
        else:
            source = broker.listen()
        async with contextlib.aclosing(source) as messages:
            async for message in messages:
                data = message.data if isinstance(message, AckableMessage) else message
                try:
                    envelope = JobEnvelope.decode(data)
                except ValueError as exc:
                    log.error("undecodable job message dropped", error=str(exc), size=len(data))
                    await _TaskiqDelivery(self, JobEnvelope("", {}), message).ack()
                    continue
                yield _TaskiqDelivery(self, envelope, message)

    async def bury(self, letter: DeadLetter) -> None:
        """Into the store."""
        await self._store.bury(letter.envelope.id, orjson.dumps(letter.to_json()).decode(), letter.failed_at)

    async def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """From the store, oldest first."""
        return [DeadLetter.from_json(orjson.loads(text)) for text in await self._store.dead_letters(limit)]

    async def dead_letter(self, job_id: str) -> DeadLetter | None:
        """From the store."""
        text = await self._store.dead_letter(job_id)
        return None if text is None else DeadLetter.from_json(orjson.loads(text))

    async def replay(self, job_id: str) -> bool:
        """Take the letter out of the store and kick it as attempt 1."""
        text = await self._store.exhume(job_id)
        if text is None:
            return False
        letter = DeadLetter.from_json(orjson.loads(text))
        try:
            await self._kick(replace(letter.envelope, attempt=1))
        except BaseException:
            await self._store.bury(job_id, text, letter.failed_at)
            raise
        return True

    async def purge(self) -> int:
        """Empty the dead-letter queue."""
        return await self._store.purge()

    async def dead_letter_count(self) -> int:
        """From the store."""
        return await self._store.dead_count()

    async def set_outcome(self, job_id: str, outcome: JobOutcome, ttl: float) -> None:
        """Into the store, with an expiry."""
        await self._store.set_outcome(job_id, orjson.dumps(asdict(outcome)).decode(), ttl)

    async def outcome(self, job_id: str, timeout: float) -> JobOutcome:
        """Polled from the store, from 10 ms up to 250 ms apart."""
        pause = 0.01
        async with asyncio.timeout(timeout):
            while True:
                text = await self._store.outcome(job_id)
                if text is not None:
                    return JobOutcome(**orjson.loads(text))
                await asyncio.sleep(pause)
                pause = min(pause * 2, 0.25)


async def _prepare(broker: AsyncBroker) -> None:
    """PostgreSQL: the column the claims are kept in, before any claim or sweep (see :mod:`._taskiq_pg`)."""
    from taskiq_pg.asyncpg import AsyncpgBroker

    from microlib.jobs._taskiq_pg import prepare

    assert isinstance(broker, AsyncpgBroker)
    await prepare(broker)


def _identifier(text: str) -> str:
    """A PostgreSQL identifier (NOTIFY channels and tables are not quoted by the broker)."""
    return re.sub(r"\W", "_", text).lower()


async def _merge(streams: Sequence[AsyncIterator[Delivery]]) -> AsyncGenerator[Delivery, None]:
    """One stream of several; a delivery taken but not handed over is requeued."""
    handoff: asyncio.Queue[Delivery | BaseException] = asyncio.Queue(maxsize=1)

    async def pump(stream: AsyncIterator[Delivery]) -> None:
        try:
            async for delivery in stream:
                try:
                    await handoff.put(delivery)
                except asyncio.CancelledError:
                    await asyncio.shield(delivery.requeue())
                    raise
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            await handoff.put(exc)

    pumps = [asyncio.create_task(pump(stream)) for stream in streams]
    try:
        while True:
            item = await handoff.get()
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        # Finished even when the worker cancels again (see _tasks.cancel_and_wait):
        # abandoned, the hand-back would race the queue closing its brokers, and a
        # delivery it lost would wait for the redelivery timeout.
        closing = asyncio.ensure_future(_close(pumps, handoff))
        cancelled = False
        while not closing.done():
            try:
                await asyncio.shield(closing)
            except asyncio.CancelledError:
                cancelled = True
        if cancelled:
            raise asyncio.CancelledError


async def _close(pumps: list[asyncio.Task[None]], handoff: asyncio.Queue[Delivery | BaseException]) -> None:
    for task in pumps:
        await cancel_and_wait(task)
    # Taken from a broker but never handed to the worker: back it goes.
    while not handoff.empty():
        left = handoff.get_nowait()
        if not isinstance(left, BaseException):
            await left.requeue()
