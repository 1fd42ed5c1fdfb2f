"""Jobs taken by a worker are handed to another only when that worker is gone.

On Redis and PostgreSQL a claim not renewed for ``jobs.redelivery_timeout``
is taken over; a live worker renews the claims of the jobs it holds.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid

import pytest
from redis.asyncio import Redis
from taskiq import BrokerMessage

from microlib import Service
from microlib.jobs._held import HeldMessage
from microlib.jobs._taskiq_redis import StreamBroker
from microlib.testing import TestService
from tests.jobs._contract import Receipt, ShopJobsEnqueuer, Total
from tests.jobs.cases import UntimedHandlers
from tests.jobs.conftest import REDIS_URL, Backend

pytestmark = pytest.mark.connected


def _service() -> tuple[Service, UntimedHandlers]:
    service = Service("shop")
    handlers = UntimedHandlers()
    service.include(handlers)
    return service, handlers


@pytest.mark.parametrize("backend", ["redis", "postgresql"], indirect=True)
async def test_a_job_that_waited_past_the_redelivery_timeout_runs_once(backend: Backend) -> None:
    """A job queued for longer than ``jobs.redelivery_timeout`` before any worker runs, then
    running longer than it: the claim counts from when it was taken, and is renewed."""
    overrides = [*backend.overrides, "jobs.redelivery_timeout=1"]
    enqueuer = Service("shop")
    enqueuer.include(UntimedHandlers())
    async with TestService(enqueuer, overrides=[*overrides, "jobs.worker=false"]):
        handle = await ShopJobsEnqueuer(enqueuer.jobs).send_receipt(Receipt(order_id="late", sleep=2.5))
        await asyncio.sleep(2)
        service, handlers = _service()
        async with TestService(service, overrides=overrides):
            assert await handle.result(timeout=10) == Total(order_id="late", items=0)
            await asyncio.sleep(1.5)  # a late takeover would show by now
    assert [o for o, _, _ in handlers.runs] == ["late"]


@pytest.mark.parametrize("backend", ["redis", "amqp", "postgresql"], indirect=True)
async def test_the_job_of_a_killed_worker_is_run_by_another(backend: Backend) -> None:
    """A worker killed (SIGKILL) mid-job renews nothing: another worker runs the job, same
    attempt (Redis, PostgreSQL: after ``jobs.redelivery_timeout``; RabbitMQ: at once)."""
    overrides = [*backend.overrides, "jobs.redelivery_timeout=1"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    doomed = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.jobs._doomed", *overrides, stdout=asyncio.subprocess.PIPE, env=env
    )
    try:
        enqueuer = Service("shop")
        enqueuer.include(UntimedHandlers())
        async with TestService(enqueuer, overrides=[*overrides, "jobs.worker=false"]):
            await ShopJobsEnqueuer(enqueuer.jobs).send_receipt(Receipt(order_id="orphan", sleep=60))
        assert doomed.stdout is not None
        async with asyncio.timeout(30):
            assert await doomed.stdout.readline() == b"started orphan\n"
    finally:
        doomed.send_signal(signal.SIGKILL)
        await doomed.wait()
    service, handlers = _service()
    async with TestService(service, overrides=[*overrides, "shutdown.drain_timeout=0.1"]):
        async with asyncio.timeout(10):
            while not handlers.runs:  # noqa: ASYNC110  # polled: the handler records its run
                await asyncio.sleep(0.05)
    assert [(o, a) for o, a, _ in handlers.runs] == [("orphan", 1)]


async def test_a_redis_claim_is_renewed_by_its_consumer_only() -> None:
    """touch resets the entry's idle time while this consumer holds it; once another consumer
    took it over, or it was acknowledged, touch renews (and steals) nothing."""
    stream = f"t{uuid.uuid4().hex[:10]}:jobs:mail"
    brokers = [StreamBroker(REDIS_URL, queue_name=stream, consumer_group_name="g") for _ in range(2)]
    redis = Redis.from_url(REDIS_URL)
    try:
        for broker in brokers:
            broker.is_worker_process = True
            await broker.startup()
        await brokers[0].kick(BrokerMessage(task_id="t1", task_name="job", message=b"{}", labels={}))
        async with asyncio.timeout(10):
            message = await anext(brokers[0].listen())
        assert isinstance(message, HeldMessage)
        await asyncio.sleep(0.3)
        assert await message.touch()
        [pending] = await redis.xpending_range(stream, "g", "-", "+", 10)
        assert pending["time_since_delivered"] < 300
        await redis.xclaim(stream, "g", brokers[1].consumer_name, 0, [pending["message_id"]], justid=True)
        assert not await message.touch()
        [pending] = await redis.xpending_range(stream, "g", "-", "+", 10)
        assert pending["consumer"] == brokers[1].consumer_name.encode()
        await message.ack()  # type: ignore[misc]
        assert not await message.touch()
        assert await redis.xpending_range(stream, "g", "-", "+", 10) == []
    finally:
        await redis.delete(stream)
        await redis.aclose()
        for broker in brokers:
            await broker.shutdown()
