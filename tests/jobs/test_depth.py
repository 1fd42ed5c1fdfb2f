"""The job_dead_letters gauge's reader: a loop that survives its store being away."""

from __future__ import annotations

import asyncio

from prometheus_client import generate_latest
from structlog.testing import capture_logs

from microlib.jobs import JobsSettings
from microlib.jobs.depth import DeadLetterDepth
from microlib.jobs.feature import open_queue
from microlib.jobs.memory import MemoryQueue
from microlib.observability.prometheus import PrometheusMetrics


async def test_the_reader_sets_the_gauge_and_stops() -> None:
    """Started, it reads at once and then every interval; stopped, it reads no more."""
    metrics = PrometheusMetrics(process_metrics=False)
    gauge = metrics.gauge("job_dead_letters", "waiting", ("service",)).labels("shop")
    depth = DeadLetterDepth(MemoryQueue(), gauge, interval=0.01)
    assert await depth.check() == {"dead_letters": None}
    await depth.start()
    async with asyncio.timeout(10):
        while depth.count is None:  # noqa: ASYNC110 - the loop's first read, no event to wait on
            await asyncio.sleep(0.01)
    await depth.stop()
    await depth.stop()  # twice is harmless
    assert depth.count == 0


async def test_a_store_that_cannot_be_read_is_logged_and_the_last_value_kept() -> None:
    """With a store that cannot be read (a Redis queue never connected), each read fails, is
    logged, and the loop goes on; the gauge keeps the last value read."""
    metrics = PrometheusMetrics(process_metrics=False)
    gauge = metrics.gauge("job_dead_letters", "waiting", ("service",)).labels("shop")
    gauge.set(4)
    queue = open_queue(JobsSettings(url="redis://127.0.0.1:1/0"), "unreachable")
    depth = DeadLetterDepth(queue, gauge, interval=0.01)
    with capture_logs() as logs:
        await depth.start()
        async with asyncio.timeout(10):
            while len([e for e in logs if "count failed" in e["event"]]) < 2:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        await depth.stop()
    assert depth.count is None
    assert 'job_dead_letters{service="shop"} 4.0' in generate_latest(metrics.registry).decode()
