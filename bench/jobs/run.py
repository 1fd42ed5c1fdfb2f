"""Throughput of microlib jobs against plain taskiq on the same broker: enqueue → handled.

Each measurement enqueues ``--jobs`` no-op jobs one after another from one
producer while a worker in the same process (``--concurrency`` jobs at once)
handles them, and times the first enqueue to the last handler's return
(throughput). Then it sends ``--latency-jobs`` more one at a time, each
after the previous one was handled, and times each from its enqueue to its
handler's start (latency, p50 and p99 over every round).

* ``memory``: microlib's ``memory://`` queue and worker against taskiq's
  ``InMemoryBroker`` (which runs each task as it is kicked);
* ``redis``: microlib's ``redis://`` queue (taskiq-redis's stream broker,
  microlib's listener, a Redis store) against taskiq-redis's
  ``RedisStreamBroker`` with taskiq's own ``Receiver``, on the same server;
* ``amqp``: microlib's ``amqp://`` queue (taskiq-aio-pika's ``AioPikaBroker``,
  a Redis store) against ``AioPikaBroker`` with taskiq's ``Receiver``, on the
  same RabbitMQ, both on a classic queue with priorities 0-9.

microlib's side is a started ``Service`` with its defaults (every job through
the chain: recovery, tracing, metrics; payload validated into its model;
acknowledged once settled), except the access log, off unless
``--access-log`` (one JSON line per job, to stdout). taskiq's side is a task
taking the payload as a dict. Rounds interleave the two (alternating which
goes first), on fresh streams each time; the ratio printed is the median of
the rounds' microlib/taskiq ratios, against a target of 0.9x.

    .venv/bin/python bench/jobs/run.py --rounds 5 --jobs 2000
    .venv/bin/python bench/jobs/run.py --backends redis amqp --redis redis://127.0.0.1:6379/0
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, NamedTuple, Protocol

import aio_pika
from pydantic import BaseModel
from redis.asyncio import Redis

from microlib.jobs import JobContext, JobDefinition, JobsDefinition
from microlib.service import Service

TARGET = 0.9


class Ping(BaseModel):
    """The payload: small, as most jobs' are."""

    order_id: str
    n: int


class BenchJobs(Protocol):
    """The generated handler Protocol of the bench contract."""

    async def ping(self, payload: Ping, ctx: JobContext) -> None:
        """Handle one job."""
        ...


CONTRACT = JobsDefinition(
    name="bench.jobs",
    version="1.0.0",
    handler_protocol=BenchJobs,
    source="bench/jobs/run.py",
    jobs={
        "ping": JobDefinition(
            name="ping",
            python_name="ping",
            payload_type=Ping,
            queue="bench",
            source="bench/jobs/run.py",
            contract="bench.jobs",
        )
    },
)
BenchJobs.__microlib_jobs__ = CONTRACT  # type: ignore[attr-defined]


class Counter:
    """Counts handled jobs; ``done`` is set at the last one, ``handled_one`` at each."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.handled = 0
        self.done = asyncio.Event()
        self.handled_one = asyncio.Event()

    def tick(self) -> None:
        self.handled += 1
        self.handled_one.set()
        if self.handled == self.expected:
            self.done.set()


class Measured(NamedTuple):
    rate: float  # jobs per second
    latencies: list[float]  # seconds, enqueue to handler


async def _one_at_a_time(
    counter: Counter, send: Callable[[int], Awaitable[object]], jobs: int
) -> list[float]:
    latencies = []
    for n in range(jobs):
        counter.handled_one.clear()
        started = time.perf_counter()
        await send(n)
        await counter.handled_one.wait()
        latencies.append(time.perf_counter() - started)
    return latencies


class Servers(NamedTuple):
    redis: str
    amqp: str


async def microlib_run(
    backend: str, servers: Servers, jobs: int, concurrency: int, access_log: bool, latency_jobs: int
) -> Measured:
    """Jobs per second and latencies through a started microlib service."""
    counter = Counter(jobs)

    class Handlers(BenchJobs):
        async def ping(self, payload: Ping, ctx: JobContext) -> None:
            counter.tick()

    namespace = f"bench{uuid.uuid4().hex[:8]}"
    service = Service("benchjobs")
    service.include(Handlers())
    url = {"memory": "memory://", "redis": servers.redis, "amqp": servers.amqp}[backend]
    overrides = [
        "http.enabled=false",
        f"jobs.url={url}",
        f"jobs.namespace={namespace}",
        f"jobs.concurrency={concurrency}",
        "jobs.scheduler.enabled=false",
        f"logging.access_log={str(access_log).lower()}",
        # The service's own lifecycle lines would drown the figures (the access log is above).
        f"logging.level={'INFO' if access_log else 'WARNING'}",
    ]
    if backend == "amqp":
        overrides.append(f"jobs.store={servers.redis}")
    service.configure(overrides=overrides, environ={})
    await service.start()
    try:
        job = CONTRACT.jobs["ping"]
        payloads = [Ping(order_id=f"o-{i}", n=i) for i in range(jobs)]
        started = time.perf_counter()
        for payload in payloads:
            await service.jobs.enqueue(job, payload)
        await counter.done.wait()
        elapsed = time.perf_counter() - started
        latencies = await _one_at_a_time(
            counter, lambda n: service.jobs.enqueue(job, Ping(order_id=f"l-{n}", n=n)), latency_jobs
        )
    finally:
        await service.stop()
        if backend != "memory":
            await _clean(servers.redis, namespace)
        if backend == "amqp":
            await _clean_amqp(
                servers.amqp, f"{namespace}.jobs", [f"{namespace}.jobs.bench", f"{namespace}.jobs.dead"]
            )
    return Measured(jobs / elapsed, latencies)


async def taskiq_run(
    backend: str, servers: Servers, jobs: int, concurrency: int, access_log: bool, latency_jobs: int
) -> Measured:
    """Jobs per second and latencies through plain taskiq."""
    from taskiq import InMemoryBroker
    from taskiq.receiver import Receiver
    from taskiq_aio_pika import AioPikaBroker, Exchange, Queue
    from taskiq_aio_pika.queue import QueueType
    from taskiq_redis import RedisStreamBroker

    counter = Counter(jobs)
    # taskiq's receiver logs a line per task at INFO: a like-for-like run logs
    # on both sides (--access-log) or on neither.
    logging.getLogger("taskiq").setLevel(logging.INFO if access_log else logging.WARNING)
    stream = f"bench{uuid.uuid4().hex[:8]}"
    broker: Any
    if backend == "memory":
        broker = InMemoryBroker(max_async_tasks=concurrency)
    elif backend == "redis":
        broker = RedisStreamBroker(servers.redis, queue_name=stream, consumer_group_name=f"{stream}-jobs")
    else:
        broker = AioPikaBroker(
            servers.amqp,
            qos=concurrency,
            exchange=Exchange(name=f"{stream}.x"),
            task_queues=[Queue(name=stream, type=QueueType.CLASSIC, max_priority=9)],
            dead_letter_queue=Queue(name=f"{stream}.dead", type=QueueType.CLASSIC),
            delay_queue=Queue(name=f"{stream}.delay", type=QueueType.CLASSIC),
        )

    @broker.task(task_name="ping")  # type: ignore[untyped-decorator]
    async def ping(payload: dict[str, Any]) -> None:
        counter.tick()

    finish = asyncio.Event()
    listening: asyncio.Task[None] | None = None
    if backend != "memory":
        broker.is_worker_process = True
        await broker.startup()
        receiver = Receiver(broker, max_async_tasks=concurrency, run_startup=False)
        listening = asyncio.create_task(receiver.listen(finish))
    else:
        await broker.startup()
    try:
        payloads = [Ping(order_id=f"o-{i}", n=i).model_dump(mode="json") for i in range(jobs)]
        started = time.perf_counter()
        for payload in payloads:
            await ping.kiq(payload=payload)
        await counter.done.wait()
        elapsed = time.perf_counter() - started
        latencies = await _one_at_a_time(
            counter,
            lambda n: ping.kiq(payload=Ping(order_id=f"l-{n}", n=n).model_dump(mode="json")),
            latency_jobs,
        )
    finally:
        finish.set()
        if listening is not None:
            listening.cancel()
            await asyncio.gather(listening, return_exceptions=True)
        await broker.shutdown()
        if backend == "redis":
            await _clean(servers.redis, stream)
        if backend == "amqp":
            await _clean_amqp(servers.amqp, f"{stream}.x", [stream, f"{stream}.dead", f"{stream}.delay"])
    return Measured(jobs / elapsed, latencies)


async def _clean(redis_url: str, prefix: str) -> None:
    redis = Redis.from_url(redis_url)
    try:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}*")]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


async def _clean_amqp(url: str, exchange: str, queues: list[str]) -> None:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        for queue in queues:
            await channel.queue_delete(queue)
        await channel.exchange_delete(exchange)


Run = Callable[[str, Servers, int, int, bool, int], Coroutine[Any, Any, Measured]]


def _percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--backends", nargs="+", default=["memory", "redis", "amqp"], choices=["memory", "redis", "amqp"]
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=2000, help="jobs per measurement")
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--amqp", default="amqp://guest:guest@127.0.0.1:5672/")
    parser.add_argument("--warmup", type=int, default=200, help="jobs run once per side before the rounds")
    parser.add_argument(
        "--latency-jobs", type=int, default=200, help="jobs sent one at a time per measurement"
    )
    parser.add_argument("--access-log", action="store_true", help="microlib logs each job (access log)")
    args = parser.parse_args()
    servers = Servers(args.redis, args.amqp)
    sides: dict[str, Run] = {"microlib": microlib_run, "taskiq": taskiq_run}
    for backend in args.backends:
        for run in sides.values():
            asyncio.run(run(backend, servers, args.warmup, args.concurrency, args.access_log, 10))
        rates: dict[str, list[float]] = {name: [] for name in sides}
        latencies: dict[str, list[float]] = {name: [] for name in sides}
        ratios: list[float] = []
        for round_ in range(args.rounds):
            order = list(sides) if round_ % 2 == 0 else list(reversed(sides))
            measured = {
                name: asyncio.run(
                    sides[name](
                        backend, servers, args.jobs, args.concurrency, args.access_log, args.latency_jobs
                    )
                )
                for name in order
            }
            for name, result in measured.items():
                rates[name].append(result.rate)
                latencies[name].extend(result.latencies)
            ratios.append(measured["microlib"].rate / measured["taskiq"].rate)
            print(
                f"{backend} round {round_ + 1}: microlib {measured['microlib'].rate:,.0f} jobs/s, "
                f"taskiq {measured['taskiq'].rate:,.0f} jobs/s, ratio {ratios[-1]:.3f}",
                flush=True,
            )
        median = statistics.median(ratios)
        verdict = "met" if median >= TARGET else "missed"
        print(
            f"{backend}: median microlib {statistics.median(rates['microlib']):,.0f} jobs/s, "
            f"taskiq {statistics.median(rates['taskiq']):,.0f} jobs/s; median ratio {median:.3f} "
            f"(rounds {min(ratios):.3f}-{max(ratios):.3f}); target >= {TARGET:.2f}x {verdict}",
            flush=True,
        )
        for name, seen in latencies.items():
            print(
                f"{backend}: {name} latency enqueue->handler p50 {_percentile(seen, 50) * 1000:.2f} ms, "
                f"p99 {_percentile(seen, 99) * 1000:.2f} ms ({len(seen)} jobs one at a time)",
                flush=True,
            )


if __name__ == "__main__":
    main()
