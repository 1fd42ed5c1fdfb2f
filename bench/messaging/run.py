"""Typed publish -> consume throughput and latency: microlib against the raw clients and FastStream.

On RabbitMQ (aio-pika) and Redis Streams (redis-py), each contender publishes
``--messages`` small JSON orders (a window of ``--window`` publishes in
flight, each confirmed by the broker) to a consumer of its own that decodes
and validates each into a pydantic model, then acknowledges it:

- raw: the client alone (aio-pika: publisher confirms, a queue consumer with
  QoS; redis-py: XADD, XREADGROUP, XACK), validation by pydantic;
- microlib: a ``Service`` with a consumer of a contract and its publisher,
  on ``amqp://`` or ``redis://`` (the full chain: recovery, tracing,
  metrics, the access log, validation);
- faststream: FastStream's broker, a typed subscriber, ``broker.publish``;
- microlib-frozen: the same, with the process's start-up heap out of the
  cyclic collector's reach during its rounds, as ``microlib run`` serves
  (``lifecycle.freeze_heap``, ADR 0014); the headline ratio is ``microlib``'s;
- floor (RabbitMQ): a yardstick, not a peer: raw aio-pika plus the least
  code doing microlib's per-message duties (``FloorRabbit``).

Rounds are interleaved, in a shuffled order each round; each figure is the
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
import random
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, redirect_stdout
from pathlib import Path
from typing import Any

import aio_pika
import orjson
from prometheus_client import Histogram
from pydantic import BaseModel
from redis.asyncio import Redis

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from microlib import Service
from microlib.messaging import (
    Action,
    ApplicationDefinition,
    MessageContext,
    MessageDefinition,
    OperationDefinition,
    json_decoder,
    json_encoder,
)
from microlib.observability._families import CounterFamily, GaugeFamily, HistogramFamily

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
    name = "microlib"

    def __init__(
        self, stack: AsyncExitStack, sink: Sink, url: str, prefetch: int, overrides: Sequence[str] = ()
    ) -> None:
        super().__init__(stack, sink)
        self.url = url
        self.prefetch = prefetch
        self.overrides = overrides

    async def start(self) -> Publish:
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
        if self.url.startswith("amqp"):
            self.stack.push_async_callback(_delete_queues, f"{group}.onOrder", f"{group}.onOrder.dlq")
        else:
            self.stack.push_async_callback(_delete_keys, address)
        publisher = service.publisher
        return lambda payload: publisher.publish(send, payload)


class FrozenMicrolib(Microlib):
    """``microlib`` as ``microlib run`` serves it: the start-up heap frozen once ready (ADR 0014).

    The contenders share this process, so the heap is frozen for this
    contender's rounds only and given back to the collector after each.
    """

    name = "microlib-frozen"

    async def run(self, publish: Publish, messages: int, window: int) -> tuple[float, list[float]]:
        gc.freeze()
        try:
            return await super().run(publish, messages, window)
        finally:
            gc.unfreeze()


class RawRabbit(Contender):
    name = "raw"

    def __init__(self, stack: AsyncExitStack, sink: Sink, prefetch: int) -> None:
        super().__init__(stack, sink)
        self.prefetch = prefetch

    async def start(self) -> Publish:
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
        sys.stdout.buffer.write(b"\n".join(lines) + b"\n")


class RawRedis(Contender):
    name = "raw"

    def __init__(self, stack: AsyncExitStack, sink: Sink, prefetch: int) -> None:
        super().__init__(stack, sink)
        self.prefetch = prefetch

    async def start(self) -> Publish:
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
    connection = await aio_pika.connect(RABBIT)
    try:
        channel = await connection.channel()
        for name in names:
            await channel.queue_delete(name)
    finally:
        await connection.close()


async def _delete_keys(*keys: str) -> None:
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


async def bench(broker: str, args: argparse.Namespace) -> dict[str, Any]:
    url = RABBIT if broker == "rabbitmq" else REDIS
    sinks = {name: Sink() for name in ("raw", "microlib", "microlib-frozen", "faststream", "floor")}
    async with AsyncExitStack() as stack:
        raw_cls = RawRabbit if broker == "rabbitmq" else RawRedis
        contenders: list[Contender] = [
            raw_cls(stack, sinks["raw"], args.prefetch),
            Microlib(stack, sinks["microlib"], url, args.prefetch),
            FrozenMicrolib(stack, sinks["microlib-frozen"], url, args.prefetch),
            FastStream(stack, sinks["faststream"], url, args.prefetch),
        ]
        if broker == "rabbitmq":
            contenders.append(FloorRabbit(stack, sinks["floor"], args.prefetch))
        publishers = {c.name: await c.start() for c in contenders}
        for c in contenders:  # warm-up
            await c.run(publishers[c.name], min(200, args.messages), args.window)
        rates: dict[str, list[float]] = {c.name: [] for c in contenders}
        latencies: dict[str, list[float]] = {c.name: [] for c in contenders}
        for _ in range(args.rounds):
            random.shuffle(contenders)
            for c in contenders:
                rate, lat = await c.run(publishers[c.name], args.messages, args.window)
                rates[c.name].append(rate)
                latencies[c.name].extend(lat)
    medians = {name: statistics.median(r) for name, r in rates.items()}
    floor = (
        statistics.median(f / r for f, r in zip(rates["floor"], rates["raw"], strict=True))
        if "floor" in rates
        else None
    )
    return {
        "ratio_floor_vs_raw": floor,
        "broker": broker,
        "msgs_per_s": medians,
        "p50_ms": {n: 1000 * _percentile(v, 0.5) for n, v in latencies.items()},
        "p99_ms": {n: 1000 * _percentile(v, 0.99) for n, v in latencies.items()},
        "ratio_vs_raw": statistics.median(
            m / r for m, r in zip(rates["microlib"], rates["raw"], strict=True)
        ),
        "ratio_frozen_vs_raw": statistics.median(
            m / r for m, r in zip(rates["microlib-frozen"], rates["raw"], strict=True)
        ),
        "ratio_vs_faststream": statistics.median(
            m / f for m, f in zip(rates["microlib"], rates["faststream"], strict=True)
        ),
    }


async def main(args: argparse.Namespace) -> None:
    results = []
    for broker in args.brokers:
        results.append(await bench(broker, args))
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
            f"  microlib/raw = {r['ratio_vs_raw']:.2f}x (target {TARGET}x: {verdict}); "
            f"microlib/faststream = {r['ratio_vs_faststream']:.2f}x",
            file=sys.stderr,
        )
        print(
            f"  microlib-frozen/raw = {r['ratio_frozen_vs_raw']:.2f}x (the start-up heap frozen, "
            "as `microlib run` does once ready: ADR 0014)",
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
    arguments = parser.parse_args()
    with open(arguments.log, "w") as log, redirect_stdout(log):
        asyncio.run(main(arguments))
