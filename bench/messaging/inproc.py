"""Instructions per message through microlib's publisher and consumer, on the in-memory broker.

``run.py`` measures throughput against RabbitMQ and Redis, at the mercy of the
machine's other load and of the brokers. This harness keeps what microlib
itself does per message, deterministically: a started ``Service`` (the
default chain: request id, recovery, tracing at ratio 1.0 with spans
dropped, metrics, the access line at info to ``/dev/null``, deadline,
validation) publishes ``--messages`` orders of ``run.py``'s contract in
windows of 50 to its own consumer on ``memory://``, under callgrind, once with
N and once with 2N messages after the same warm-up; the difference over N is
the cost of one message published, delivered, decoded, run through the chain
and acknowledged.

    PYTHONPATH=. .venv/bin/python bench/messaging/inproc.py --messages 1000

637.6k instructions per message before issue 15's pass, 617.7k after (2026-12-05).
Measured again in one session later that day: 601.7k before the settlement and
publisher pass (an acknowledgement at once when none is under way, the
publish budget kept by one watchdog, per-operation publish plans, the lean
span ended in one step), 522.5k after.

``--rabbitmq raw,floor,microlib,faststream`` counts instead the whole process
per message for ``run.py``'s contenders on RabbitMQ (the broker's own work is
another process's): the client library's publishing, delivery and
acknowledgement included, so the ratios of these counts are what bounds
``run.py``'s throughput ratios when the process's CPU is the limit. As in
``run.py`` (since 2026-12-06), ``microlib`` is the service as served, its
start-up heap frozen once started (ADR 0014), and ``microlib-unfrozen`` the
same with ``lifecycle.freeze_heap=false``; counts of ``microlib`` before that
date are of the unfrozen service.

    PYTHONPATH=. .venv/bin/python bench/messaging/inproc.py --rabbitmq raw,floor,microlib --messages 500
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import uuid
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import callgrind
from run import (
    RABBIT,
    Contender,
    FastStream,
    FloorRabbit,
    Microlib,
    Order,
    RawRabbit,
    Sink,
    UnfrozenMicrolib,
    contract,
    order,
)

from microlib import Service
from microlib.messaging import MessageContext

WINDOW = 50
CONTENDERS = ("raw", "floor", "microlib", "microlib-unfrozen", "faststream")
PREFETCH = 16  # run.py's default
# Under callgrind on a loaded machine a window of publishes can take longer
# than the default 10 s to be confirmed; the count is the same either way.
SLOW = ["messaging.publish_timeout=600"]


async def one(messages: int) -> None:
    """Warm up, then publish and consume ``messages`` orders: what callgrind counts."""
    sink = Sink()
    consumer, send = contract(f"bench.{uuid.uuid4().hex[:8]}")

    class Orders(consumer):  # type: ignore[misc,valid-type]
        async def on_order(self, payload: Order, ctx: MessageContext) -> None:
            sink.got(payload)

    service = Service("bench-inproc")
    service.include(Orders())
    service.configure(
        overrides=[
            "http.enabled=false",
            "grpc.enabled=false",
            f"messaging.url=memory://bench-{uuid.uuid4().hex[:8]}",
            "tracing.enabled=true",
            "tracing.sample_ratio=1.0",
            "tracing.exporter=none",
        ],
        environ={},
    )
    await service.start()
    publisher = service.publisher

    async def publish(payload: Order) -> Any:
        return await publisher.publish(send, payload)

    for count in (200, messages):
        sink.expect(count)
        for first in range(0, count, WINDOW):
            await asyncio.gather(*(publish(order(n)) for n in range(first, min(count, first + WINDOW))))
        await asyncio.wait_for(sink.done.wait(), 600)
    await service.stop()


async def one_on_rabbitmq(name: str, messages: int) -> None:
    """Warm up, then publish and consume ``messages`` orders through ``run.py``'s contender ``name``."""
    async with AsyncExitStack() as stack:
        sink = Sink()
        contender: Contender
        if name == "raw":
            contender = RawRabbit(stack, sink, PREFETCH)
        elif name == "floor":
            contender = FloorRabbit(stack, sink, PREFETCH)
        elif name == "microlib":
            contender = Microlib(stack, sink, RABBIT, PREFETCH, SLOW)
        elif name == "microlib-unfrozen":
            contender = UnfrozenMicrolib(stack, sink, RABBIT, PREFETCH, SLOW)
        else:
            contender = FastStream(stack, sink, RABBIT, PREFETCH)
        publish = await contender.start()
        for count in (200, messages):
            await contender.run(publish, count, WINDOW)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=1000, help="N (the runs send N and 2N)")
    parser.add_argument(
        "--rabbitmq", metavar="NAMES", help=f"contenders of run.py on RabbitMQ: {','.join(CONTENDERS)}"
    )
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--contender", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        # The access lines go where a service's would go to its collector: away.
        with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
            if args.contender is None:
                asyncio.run(one(args.one))
            else:
                asyncio.run(one_on_rabbitmq(args.contender, args.one))
        return
    if not callgrind.available():
        parser.error("needs valgrind (apt-get install valgrind)")
    script = str(Path(__file__).resolve())
    if args.rabbitmq:
        counts = {}
        for name in args.rabbitmq.split(","):
            if name not in CONTENDERS:
                parser.error(f"--rabbitmq: unknown contender {name!r} ({', '.join(CONTENDERS)})")
            counts[name] = callgrind.per_call(
                lambda calls, name=name: [sys.executable, script, "--one", str(calls), "--contender", name],
                args.messages,
            )
            print(f"{name} on RabbitMQ: {counts[name] / 1000:,.1f}k instructions per message", flush=True)
        if "raw" in counts:
            for name, count in counts.items():
                print(f"{name} / raw: {count / counts['raw']:.2f}x the instructions")
        return
    per = callgrind.per_call(lambda calls: [sys.executable, script, "--one", str(calls)], args.messages)
    print(f"microlib on memory://: {per / 1000:,.1f}k instructions per message published and consumed")


if __name__ == "__main__":
    main()
