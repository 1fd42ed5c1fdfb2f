"""Typed publish -> consume throughput and latency: microlib against the raw clients and FastStream.

On RabbitMQ (aio-pika) and Redis Streams (redis-py), each contender publishes
``--messages`` small JSON orders (a window of ``--window`` publishes in
flight, each confirmed by the broker) to a consumer of its own that decodes
and validates each into a pydantic model, then acknowledges it:

- raw: the client alone (aio-pika: publisher confirms, a queue consumer with
  QoS; redis-py: XADD, XREADGROUP, XACK), validation by pydantic;
- microlib: a ``Service`` with a consumer of a contract and its publisher,
  on ``amqp://`` or ``redis://`` (the full chain: recovery, tracing,
  metrics, the access log, validation), as ``microlib run`` serves it: the
  start-up heap frozen once started (``lifecycle.freeze_heap``, ADR 0014);
- microlib-unfrozen: the same with ``lifecycle.freeze_heap=false``;
- faststream: FastStream's broker, a typed subscriber, ``broker.publish``;
- floor (RabbitMQ): a yardstick, not a peer: raw aio-pika plus the least
  code doing microlib's per-message duties (``FloorRabbit``).

Each contender runs in a process of its own, importing only what it uses,
as it would be deployed: a full collection of the cyclic collector walks
that process's heap, not the others' modules. Rounds are interleaved, in a
shuffled order each round, one contender at a time; each figure is the
median over rounds. The ratio is microlib's messages/s over the peer's
(1.0 = as fast; target >= 0.85 of raw). Latency is publish -> handler, from
a timestamp in the payload. Logs go to a file (``--log``), as a service's
would go to its collector.

    .venv/bin/python bench/messaging/run.py --rounds 5 --messages 2000

Figures, and what bounds the ratio on RabbitMQ: docs/messaging.md, "Throughput".
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import multiprocessing
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, redirect_stdout
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from pydantic import BaseModel

# Each contender's libraries are imported in its own process, by the contender.
if TYPE_CHECKING:
    import aio_pika

    from microlib.messaging import OperationDefinition

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

RABBIT = "amqp://guest:guest@127.0.0.1:5672/"
REDIS = "redis://127.0.0.1:6379/0"
TARGET = 0.85


class Line(BaseModel):
    sku: str
    qty: int


class Order(BaseModel):
    order_id: str
    lines: list[Line]
    sent: float


def order(n: int) -> Order:
    return Order(order_id=f"o-{n}", lines=[Line(sku="BKS-0001", qty=2)], sent=time.perf_counter())


class Sink:
    """Counts what a consumer handled and when each message arrived."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.expected = 0
        self.done = asyncio.Event()

    def expect(self, count: int) -> None:
        self.latencies = []
        self.expected = count
        self.done = asyncio.Event()

    def got(self, payload: Order) -> None:
        self.latencies.append(time.perf_counter() - payload.sent)
        if len(self.latencies) >= self.expected:
            self.done.set()


Publish = Callable[[Order], Awaitable[Any]]


class Contender:
    name = ""

    def __init__(self, stack: AsyncExitStack, sink: Sink) -> None:
        self.stack = stack
        self.sink = sink

    async def start(self) -> Publish:
        raise NotImplementedError

    async def run(self, publish: Publish, messages: int, window: int) -> tuple[float, list[float]]:
        self.sink.expect(messages)
        started = time.perf_counter()
        for first in range(0, messages, window):
            await asyncio.gather(*(publish(order(n)) for n in range(first, min(messages, first + window))))
        await asyncio.wait_for(self.sink.done.wait(), 120)
        return messages / (time.perf_counter() - started), self.sink.latencies


def contract(address: str) -> tuple[type[Any], OperationDefinition]:
    from microlib.messaging import (
        Action,
        ApplicationDefinition,
        MessageContext,
        MessageDefinition,
        OperationDefinition,
        json_decoder,
        json_encoder,
    )

    message = MessageDefinition("Order", Order, json_decoder(Order), json_encoder(Order))
    receive = OperationDefinition(
        name="onOrder",
        python_name="on_order",
        action=Action.RECEIVE,
        channel="orders",
        address=address,
        messages=(message,),
    )
    send = OperationDefinition(
        name="placeOrder",
        python_name="place_order",
        action=Action.SEND,
        channel="orders",
        address=address,
        messages=(message,),
    )

    class OrdersConsumer:
        async def on_order(self, payload: Order, ctx: MessageContext) -> None:
            raise NotImplementedError

    OrdersConsumer.__microlib_asyncapi__ = ApplicationDefinition(  # type: ignore[attr-defined]
        title="Orders",
        version="1",
        asyncapi="3.0.0",
        operations={"onOrder": receive, "placeOrder": send},
        consumer_protocol=OrdersConsumer,
        document={"asyncapi": "3.0.0", "info": {"title": "Orders", "version": "1"}},
    )
    return OrdersConsumer, send


class Microlib(Contender):
    """A service as ``microlib run`` serves it: started, then its start-up heap frozen (ADR 0014)."""

    name = "microlib"
    freeze = True

    def __init__(
        self, stack: AsyncExitStack, sink: Sink, url: str, prefetch: int, overrides: Sequence[str] = ()
    ) -> None:
        super().__init__(stack, sink)
        self.url = url
        self.prefetch = prefetch
        self.overrides = overrides

    async def start(self) -> Publish:
        from microlib import Service
        from microlib.messaging import MessageContext

        address = f"bench.{uuid.uuid4().hex[:8]}"
        consumer, send = contract(address)
        sink = self.sink

        class Orders(consumer):  # type: ignore[misc,valid-type]
            async def on_order(self, payload: Order, ctx: MessageContext) -> None:
                sink.got(payload)

        service = Service("bench")
        service.include(Orders())
        group = f"bench{uuid.uuid4().hex[:6]}"
        # A service as deployed, not under TestService, whose span, log and
        # message capture for tests would be counted too (the floor keeps none).
        service.configure(
            overrides=[
                "http.enabled=false",
                "grpc.enabled=false",
                f"messaging.url={self.url}",
                f"messaging.group={group}",
                f"messaging.prefetch={self.prefetch}",
                *self.overrides,
            ],
            environ={},
        )
        await service.start()
        self.stack.push_async_callback(service.stop)
        if self.freeze and service.config.lifecycle.freeze_heap:
            gc.freeze()  # as Service.serve() does once every component has started
            self.stack.callback(gc.unfreeze)
        if self.url.startswith("amqp"):
            self.stack.push_async_callback(_delete_queues, f"{group}.onOrder", f"{group}.onOrder.dlq")
        else:
            self.stack.push_async_callback(_delete_keys, address)
        publisher = service.publisher
        return lambda payload: publisher.publish(send, payload)


class UnfrozenMicrolib(Microlib):
    """``microlib`` with ``lifecycle.freeze_heap=false``: every full collection walks the start-up heap."""

    name = "microlib-unfrozen"
    freeze = False


class RawRabbit(Contender):
    name = "raw"

    def __init__(self, stack: AsyncExitStack, sink: Sink, prefetch: int) -> None:
        super().__init__(stack, sink)
        self.prefetch = prefetch

    async def start(self) -> Publish:
        import aio_pika

        connection = await aio_pika.connect_robust(RABBIT)
        self.stack.push_async_callback(connection.close)
        queue_name = f"bench.raw.{uuid.uuid4().hex[:8]}"
        consuming = await connection.channel()
        await consuming.set_qos(prefetch_count=self.prefetch)
        queue = await consuming.declare_queue(queue_name, durable=True)
        self.stack.push_async_callback(_delete_queues, queue_name)
        await queue.consume(self.on_message)
        publishing = await connection.channel(publisher_confirms=True)
        exchange = publishing.default_exchange
        message = self.message

        async def publish(payload: Order) -> Any:
            return await exchange.publish(message(payload), routing_key=queue_name)

        return publish

    def message(self, payload: Order) -> aio_pika.Message:
        import aio_pika

        body = payload.model_dump_json().encode()
        return aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT)

    async def on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        self.sink.got(Order.model_validate_json(message.body))
        await message.ack()


class FloorRabbit(RawRabbit):
    """A yardstick, not a peer: raw aio-pika plus only what microlib's defaults owe per message.

    The least code we could write for the duties the ``microlib`` contender
    carries (none of a framework's generality: no contract, no chain, no
    configurable pipeline, no redaction, no handler API):

    - publish: a producer span (two random ids, two clock reads, a tuple
      kept, dropped like spans with no exporter), its W3C ``traceparent`` and
      a message id in the AMQP header table, the published counter;
    - consume: the ``traceparent`` read back, a consumer span, the in-flight
      gauge and the duration histogram, one JSON access line (written to
      stdout, one ``os.write`` per loop turn: the bench sends stdout to
      ``--log``), the payload validated, the delivery acknowledged.

    If ``floor / raw`` is under the target, no implementation of the same
    duties we know of reaches it.
    """

    name = "floor"

    def __init__(self, stack: AsyncExitStack, sink: Sink, prefetch: int) -> None:
        from prometheus_client import Histogram

        from microlib.observability._families import CounterFamily, GaugeFamily, HistogramFamily

        super().__init__(stack, sink, prefetch)
        labels = ["messaging_system", "destination", "operation"]
        self.published = CounterFamily("floor_messaging_published", "Published.", labels)
        self.duration = HistogramFamily(
            "floor_messaging_process_duration_seconds", "Duration.", labels, Histogram.DEFAULT_BUCKETS
        )
        self.in_flight = GaugeFamily("floor_messaging_in_flight", "In flight.", labels)
        self.spans: list[tuple[Any, ...]] = []
        self.lines: list[bytes] = []

    def message(self, payload: Order) -> aio_pika.Message:
        trace_id, span_id = random.getrandbits(128), random.getrandbits(64)
        start = time.time_ns()
        message = super().message(payload)
        message.message_id = uuid.uuid4().hex
        message.headers = {"traceparent": f"00-{trace_id:032x}-{span_id:016x}-01"}
        self.published.labels("rabbitmq", "orders", "send").inc()
        self._span((trace_id, span_id, None, start, time.time_ns(), "orders send"))
        return message

    async def on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        parent = message.headers.get("traceparent")
        trace_id = int(str(parent)[3:35], 16) if parent else random.getrandbits(128)
        span_id = random.getrandbits(64)
        labels = ("rabbitmq", "orders", "process")
        in_flight = self.in_flight.labels(*labels)
        in_flight.inc()
        start = time.time_ns()
        try:
            self.sink.got(Order.model_validate_json(message.body))
            await message.ack()
        finally:
            end = time.time_ns()
            in_flight.dec()
            self.duration.labels(*labels).observe((end - start) / 1e9)
            self._span((trace_id, span_id, parent, start, end, "orders process"))
            self._line(message.message_id, (end - start) / 1e6, trace_id, span_id)

    def _span(self, span: tuple[Any, ...]) -> None:
        self.spans.append(span)
        if len(self.spans) >= 512:
            self.spans = []

    def _line(self, message_id: str | None, ms: float, trace_id: int, span_id: int) -> None:
        if not self.lines:
            asyncio.get_running_loop().call_soon(self._flush_lines)
        self.lines.append(
            orjson.dumps(
                {
                    "event": "message",
                    "level": "info",
                    "logger": "access",
                    "timestamp": time.time(),
                    "service": "bench",
                    "version": "0.0.0",
                    "env": "development",
                    "request_id": f"{random.getrandbits(128):032x}",
                    "operation": "onOrder",
                    "destination": "orders",
                    "message_id": message_id,
                    "outcome": "ack",
                    "duration_ms": ms,
                    "trace_id": f"{trace_id:032x}",
                    "span_id": f"{span_id:016x}",
                }
            )
        )

    def _flush_lines(self) -> None:
        lines, self.lines = self.lines, []
        # Written now, as microlib writes its lines at the end of each turn (a buffered
        # write would hold them until the buffer fills, which no service can afford).
        os.write(sys.stdout.fileno(), b"\n".join(lines) + b"\n")


class RawRedis(Contender):
    name = "raw"

    def __init__(self, stack: AsyncExitStack, sink: Sink, prefetch: int) -> None:
        super().__init__(stack, sink)
        self.prefetch = prefetch

    async def start(self) -> Publish:
        from redis.asyncio import Redis

        client = Redis.from_url(REDIS)
        self.stack.push_async_callback(client.aclose)
        stream = f"bench.raw.{uuid.uuid4().hex[:8]}"
        self.stack.push_async_callback(_delete_keys, stream)
        await client.xgroup_create(stream, "g", id="0", mkstream=True)
        sink = self.sink

        async def consume() -> None:
            reader = Redis.from_url(REDIS)
            try:
                while True:
                    response = await reader.xreadgroup(
                        "g", "c", {stream: ">"}, count=self.prefetch, block=500
                    )
                    for _, entries in response or ():
                        for entry_id, fields in entries:
                            sink.got(Order.model_validate_json(fields[b"body"]))
                            await reader.xack(stream, "g", entry_id)
            finally:
                await reader.aclose()

        task = asyncio.create_task(consume())
        self.stack.push_async_callback(_cancel, task)

        async def publish(payload: Order) -> Any:
            return await client.xadd(stream, {"body": payload.model_dump_json()})

        return publish


class FastStream(Contender):
    name = "faststream"

    def __init__(self, stack: AsyncExitStack, sink: Sink, url: str, prefetch: int) -> None:
        super().__init__(stack, sink)
        self.url = url
        self.prefetch = prefetch

    async def start(self) -> Publish:
        sink = self.sink
        name = f"bench.fs.{uuid.uuid4().hex[:8]}"
        if self.url.startswith("amqp"):
            from faststream.rabbit import Channel, RabbitBroker, RabbitQueue

            rabbit = RabbitBroker(self.url)
            queue = RabbitQueue(name, durable=True)

            @rabbit.subscriber(queue, channel=Channel(prefetch_count=self.prefetch))
            async def handle_rabbit(payload: Order) -> None:
                sink.got(payload)

            await rabbit.start()
            self.stack.push_async_callback(rabbit.stop)
            self.stack.push_async_callback(_delete_queues, name)
            return lambda payload: rabbit.publish(payload, queue=name, persist=True)
        from faststream.redis import RedisBroker, StreamSub

        redis = RedisBroker(self.url)

        @redis.subscriber(stream=StreamSub(name, group="g", consumer="c", max_records=self.prefetch))
        async def handle_redis(payload: Order) -> None:
            sink.got(payload)

        await redis.start()
        self.stack.push_async_callback(redis.stop)
        self.stack.push_async_callback(_delete_keys, name)
        return lambda payload: redis.publish(payload, stream=name)


async def _delete_queues(*names: str) -> None:
    import aio_pika

    connection = await aio_pika.connect(RABBIT)
    try:
        channel = await connection.channel()
        for name in names:
            await channel.queue_delete(name)
    finally:
        await connection.close()


async def _delete_keys(*keys: str) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS)
    try:
        await client.delete(*keys)
    finally:
        await client.aclose()


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _contender(name: str, broker: str, stack: AsyncExitStack, sink: Sink, prefetch: int) -> Contender:
    url = RABBIT if broker == "rabbitmq" else REDIS
    if name == "raw":
        return RawRabbit(stack, sink, prefetch) if broker == "rabbitmq" else RawRedis(stack, sink, prefetch)
    if name == "microlib":
        return Microlib(stack, sink, url, prefetch)
    if name == "microlib-unfrozen":
        return UnfrozenMicrolib(stack, sink, url, prefetch)
    if name == "faststream":
        return FastStream(stack, sink, url, prefetch)
    return FloorRabbit(stack, sink, prefetch)


def _work(pipe: Connection, broker: str, name: str, args: argparse.Namespace) -> None:
    """A contender's process: start it, warm it up, then run each round ``pipe`` asks for."""
    with open(args.log, "a") as log, redirect_stdout(log):
        # The clients' own log records go with the services' (a service configures its own).
        logging.basicConfig(stream=log, level=logging.WARNING)
        asyncio.run(_serve_rounds(pipe, broker, name, args))


async def _serve_rounds(pipe: Connection, broker: str, name: str, args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    async with AsyncExitStack() as stack:
        contender = _contender(name, broker, stack, Sink(), args.prefetch)
        publish = await contender.start()
        await contender.run(publish, min(200, args.messages), args.window)  # warm-up
        pipe.send("ready")
        while True:
            # Waits without blocking the loop: the client's heartbeats go on between rounds.
            asked = loop.create_future()
            loop.add_reader(pipe.fileno(), asked.set_result, None)
            try:
                await asked
            finally:
                loop.remove_reader(pipe.fileno())
            messages = pipe.recv()
            if messages is None:
                return
            cpu = time.process_time()
            rate, latencies = await contender.run(publish, messages, args.window)
            pipe.send((rate, latencies, (time.process_time() - cpu) / messages))


def bench(broker: str, args: argparse.Namespace) -> dict[str, Any]:
    names = [
        "raw",
        "microlib",
        "microlib-unfrozen",
        "faststream",
        *(["floor"] if broker == "rabbitmq" else []),
    ]
    spawn = multiprocessing.get_context("spawn")
    pipes: dict[str, Connection] = {}
    processes = []
    try:
        for name in names:
            pipes[name], theirs = spawn.Pipe()
            process = spawn.Process(target=_work, args=(theirs, broker, name, args), name=name, daemon=True)
            process.start()
            processes.append(process)
        for name, pipe in pipes.items():
            if pipe.recv() != "ready":
                raise RuntimeError(f"{name} did not start")
        rates: dict[str, list[float]] = {name: [] for name in names}
        latencies: dict[str, list[float]] = {name: [] for name in names}
        cpus: dict[str, list[float]] = {name: [] for name in names}
        for _ in range(args.rounds):
            random.shuffle(names)
            for name in names:
                pipes[name].send(args.messages)
                rate, lat, cpu = pipes[name].recv()
                cpus[name].append(cpu)
                rates[name].append(rate)
                latencies[name].extend(lat)
        for pipe in pipes.values():
            pipe.send(None)
        for process in processes:
            process.join(30)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
    return _summary(broker, rates, latencies, cpus)


def _summary(
    broker: str,
    rates: dict[str, list[float]],
    latencies: dict[str, list[float]],
    cpus: dict[str, list[float]],
) -> dict[str, Any]:
    def ratio(name: str, peer: str) -> float:
        return statistics.median(m / r for m, r in zip(rates[name], rates[peer], strict=True))

    return {
        "ratio_floor_vs_raw": ratio("floor", "raw") if "floor" in rates else None,
        "broker": broker,
        "msgs_per_s": {name: statistics.median(r) for name, r in rates.items()},
        "p50_ms": {n: 1000 * _percentile(v, 0.5) for n, v in latencies.items()},
        "p99_ms": {n: 1000 * _percentile(v, 0.99) for n, v in latencies.items()},
        # The process's CPU time per message (user and system), publishing and consuming.
        "cpu_us_per_message": {n: 1e6 * statistics.median(v) for n, v in cpus.items()},
        "ratio_vs_raw": ratio("microlib", "raw"),
        "ratio_unfrozen_vs_raw": ratio("microlib-unfrozen", "raw"),
        "ratio_vs_faststream": ratio("microlib", "faststream"),
    }


def main(args: argparse.Namespace) -> None:
    Path(args.log).write_bytes(b"")  # each contender appends its logs
    results = [bench(broker, args) for broker in args.brokers]
    for r in results:
        verdict = "meets" if r["ratio_vs_raw"] >= TARGET else "BELOW"
        print(
            f"{r['broker']}: msgs/s " + ", ".join(f"{k}={v:,.0f}" for k, v in r["msgs_per_s"].items()),
            file=sys.stderr,
        )
        print(
            "  p50/p99 ms "
            + ", ".join(f"{k}={r['p50_ms'][k]:.1f}/{r['p99_ms'][k]:.1f}" for k in r["p50_ms"]),
            file=sys.stderr,
        )
        print(
            "  CPU µs per message " + ", ".join(f"{k}={v:.0f}" for k, v in r["cpu_us_per_message"].items()),
            file=sys.stderr,
        )
        print(
            f"  microlib/raw = {r['ratio_vs_raw']:.2f}x (target {TARGET}x: {verdict}); "
            f"microlib/faststream = {r['ratio_vs_faststream']:.2f}x",
            file=sys.stderr,
        )
        print(
            f"  microlib-unfrozen/raw = {r['ratio_unfrozen_vs_raw']:.2f}x (lifecycle.freeze_heap=false: "
            "microlib as served freezes its start-up heap, ADR 0014)",
            file=sys.stderr,
        )
        if r["ratio_floor_vs_raw"] is not None:
            print(f"  floor/raw = {r['ratio_floor_vs_raw']:.2f}x (yardstick)", file=sys.stderr)
    print(json.dumps(results, indent=2), file=sys.stderr)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--window", type=int, default=64, help="publishes in flight at once")
    parser.add_argument("--prefetch", type=int, default=16)
    parser.add_argument("--brokers", nargs="+", default=["rabbitmq", "redis"], choices=["rabbitmq", "redis"])
    parser.add_argument("--log", default="/tmp/bench-messaging.log", help="where the services' logs go")
    main(parser.parse_args())
