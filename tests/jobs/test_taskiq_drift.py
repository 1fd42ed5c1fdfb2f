"""What microlib.jobs relies on in taskiq and taskiq-postgres, checked against the installed versions."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
from taskiq import BrokerMessage
from taskiq.message import TaskiqMessage
from taskiq_pg.asyncpg import AsyncpgBroker, queries

from microlib.jobs import JobEnvelope
from microlib.jobs._held import HeldMessage
from microlib.jobs._taskiq_pg import listen, prepare, renotify
from microlib.jobs._tasks import cancel_and_wait


def test_the_envelope_is_a_taskiq_message() -> None:
    """taskiq's own model reads microlib's wire form: task id and name, labels, the payload kwarg."""
    envelope = JobEnvelope(
        "send_receipt",
        {"order_id": "o1"},
        queue="mail",
        attempt=2,
        fence=7,
        tick=60.0,
        headers={"traceparent": "00-ab-cd-01"},
    )
    message = TaskiqMessage.model_validate_json(envelope.encode())
    assert (message.task_id, message.task_name) == (envelope.id, "send_receipt")
    assert message.kwargs == {"payload": {"order_id": "o1"}}
    assert message.labels["queue_name"] == "mail"
    assert message.labels["traceparent"] == "00-ab-cd-01"
    assert JobEnvelope.decode(message.model_dump_json().encode()) == envelope


def test_an_undecodable_message_names_the_problem() -> None:
    """A message that is not a job says so, without a traceback."""
    with pytest.raises(ValueError, match="not a job message"):
        JobEnvelope.decode(b'{"task_id": "x"}')
    with pytest.raises(ValueError, match=r"kwargs\.payload is not an object"):
        JobEnvelope.decode(b'{"task_id": "x", "task_name": "j", "labels": {}, "kwargs": {"payload": [1]}}')


def test_taskiq_postgres_keeps_the_table_layout_renotify_reads() -> None:
    """microlib.jobs._taskiq_pg reads id, status, labels and created_at, adds claimed_at
    (which the broker's table must not have of its own), and relies on the claim moving a
    row from pending to processing only once."""
    table = queries.CREATE_MESSAGE_TABLE_QUERY
    for column in (
        "id SERIAL PRIMARY KEY",
        "labels JSONB",
        "status TEXT NOT NULL DEFAULT 'pending'",
        "created_at",
    ):
        assert column in table
    assert "claimed_at" not in table
    assert "SET status = 'processing' WHERE id = $1 AND status = 'pending'" in queries.CLAIM_MESSAGE_QUERY


@pytest.mark.connected
async def test_a_listener_cancelled_mid_claim_gives_the_message_back(jobs_pg_url: str) -> None:
    """The claim of a listener cancelled while it runs (a worker shutting down)
    still commits; the message goes back to pending and is announced again
    instead of staying `processing` until the redelivery timeout. Also checks
    the broker attributes microlib.jobs._taskiq_pg reads."""
    broker = AsyncpgBroker(jobs_pg_url, channel_name="drift_claim", table_name="drift_claim_messages")
    broker.is_worker_process = True
    await broker.startup()
    await prepare(broker)
    assert isinstance(broker._queue, asyncio.Queue)
    assert isinstance(broker._write_pool, asyncpg.Pool)
    blocker = await asyncpg.connect(jobs_pg_url)
    watcher = await asyncpg.connect(jobs_pg_url)
    try:
        await broker.kick(BrokerMessage(task_id="t1", task_name="job", message=b"{}", labels={}))
        # Hold the row so that the claim waits on it, and cancel the listener then.
        lock = blocker.transaction()
        await lock.start()
        message_id = await blocker.fetchval("SELECT id FROM drift_claim_messages FOR UPDATE")
        messages = listen(broker)
        taking = asyncio.ensure_future(anext(messages))
        waiting = (
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND datname = current_database() AND query LIKE 'UPDATE drift_claim_messages %'"
        )
        async with asyncio.timeout(10):
            # Polled: the lock table has no event to wait on. From outside the blocker's
            # transaction, which would see pg_stat_activity as at its first look.
            while not await watcher.fetchval(waiting):  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        taking.cancel()
        await lock.commit()
        with pytest.raises(asyncio.CancelledError):
            await taking
        status = "SELECT status FROM drift_claim_messages WHERE id = $1"
        assert await blocker.fetchval(status, message_id) == "pending"
        async with asyncio.timeout(10):
            assert await broker._queue.get() == str(message_id)
        # A listener that is not cancelled takes it and deletes it on ack.
        broker._queue.put_nowait(str(message_id))
        async with asyncio.timeout(10):
            message = await anext(listen(broker))
        assert await blocker.fetchval(status, message_id) == "processing"
        await message.ack()  # type: ignore[misc]
        assert await blocker.fetchval(status, message_id) is None
    finally:
        await watcher.close()
        await blocker.close()
        await broker.shutdown()


@pytest.mark.connected
async def test_a_claim_is_renewed_by_its_worker_only_and_reset_when_it_is_not(jobs_pg_url: str) -> None:
    """The claim records claimed_at; touch renews it while the row is this claim's; a claim not
    renewed for the timeout goes back to pending even if the row is new, and the worker that
    lost it renews nothing after another worker claimed it."""
    broker = AsyncpgBroker(jobs_pg_url, channel_name="drift_renew", table_name="drift_renew_messages")
    broker.is_worker_process = True
    await broker.startup()
    await prepare(broker)
    await prepare(broker)  # a second replica starting: nothing to add
    conn = await asyncpg.connect(jobs_pg_url)
    try:
        labels = {"queue_name": "drift_renew"}
        await broker.kick(BrokerMessage(task_id="t1", task_name="job", message=b"{}", labels=labels))
        # Waited an hour in the queue before a worker took it.
        await conn.execute("UPDATE drift_renew_messages SET created_at = now() - interval '1 hour'")
        async with asyncio.timeout(10):
            first = await anext(listen(broker))
        assert isinstance(first, HeldMessage)
        claimed = "SELECT status, claimed_at FROM drift_renew_messages"
        status, claimed_at = await conn.fetchrow(claimed)
        assert status == "processing"
        await renotify(jobs_pg_url, "drift_renew_messages", ["drift_renew"], stale_after=60)
        assert (await conn.fetchrow(claimed))["status"] == "processing"
        assert await first.touch()
        assert (await conn.fetchrow(claimed))["claimed_at"] > claimed_at
        # Its worker stopped renewing: an hour later the sweeper hands it on.
        await conn.execute("UPDATE drift_renew_messages SET claimed_at = now() - interval '1 hour'")
        await renotify(jobs_pg_url, "drift_renew_messages", ["drift_renew"], stale_after=60)
        assert tuple(await conn.fetchrow(claimed)) == ("pending", None)
        async with asyncio.timeout(10):
            second = await anext(listen(broker))
        assert isinstance(second, HeldMessage)
        assert not await first.touch()
        assert await second.touch()
        await second.ack()  # type: ignore[misc]
        assert not await second.touch()
    finally:
        await conn.close()
        await broker.shutdown()


async def test_a_task_that_swallows_a_cancellation_is_cancelled_again() -> None:
    """The stand-in for Python 3.11's wait_for losing a cancel: the first one is
    swallowed, the next one ends the task."""
    swallowed = []

    async def listener() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            swallowed.append(True)
        await asyncio.sleep(30)

    task = asyncio.create_task(listener())
    await asyncio.sleep(0)
    assert await cancel_and_wait(task, pause=0.01)
    assert swallowed == [True]
    assert task.cancelled()


async def test_a_task_that_ignores_every_cancellation_is_reported() -> None:
    """After its attempts, cancel_and_wait says the task did not end."""
    gate = asyncio.Event()

    async def stubborn() -> None:
        while not gate.is_set():
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                continue

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    assert not await cancel_and_wait(task, pause=0.001, attempts=3)
    gate.set()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


@pytest.mark.connected
async def test_replicas_starting_together_on_postgresql_all_start(jobs_pg_url: str) -> None:
    """taskiq-postgres creates its table with CREATE TABLE IF NOT EXISTS, which sessions racing
    each other fail (a unique violation, or the id sequence already there): four replicas
    sending their first job at once, on a namespace never used, all send it."""
    from microlib.jobs import JobsSettings, open_queue

    for _ in range(3):
        namespace = f"race{uuid.uuid4().hex[:8]}"
        settings = JobsSettings(url=jobs_pg_url, namespace=namespace)
        queues = [open_queue(settings, namespace) for _ in range(4)]
        for queue in queues:
            await queue.start()
        try:
            sent = await asyncio.gather(
                *(queue.enqueue(JobEnvelope("send_receipt", {"order_id": "r"})) for queue in queues)
            )
            assert len(set(sent)) == 4
        finally:
            for queue in queues:
                await queue.stop()
