"""Instructions per unary call (or streamed message) of a whole server process, grpc core included.

``overhead.py`` calls the method handlers directly with a minimal servicer
context, so what grpc.aio's real context costs (``peer()``,
``invocation_metadata()``, ``time_remaining()``, trailing metadata) and
what grpc core does per call never show there. This runs one of
``servers.py``'s servers under callgrind (every thread counted) and sends it
warm-up + N, then warm-up + 2N Echo calls from this process over 4
concurrent callers; the difference over N is one call (``bench/callgrind.py``'s
``served_per_request``). Each figure's ratio is the first server's count over
its own: calls served per instruction, relative to the first (``aio`` first
gives the issue's ratios to bare grpc.aio, by instructions).

    PYTHONPATH=$PWD:$PWD/codegen .venv/bin/python bench/grpc/served.py aio microlib-upb --calls 300

``--case stream`` sends Stream calls of ``--stream-count`` messages instead and
divides each call's count by them: instructions per streamed message, the
call's own cost spread over its messages.

Each server takes a few minutes. Counts of the same code differ by up to
about 10% between runs, in two clusters (one tree counted 636k, 635k and
699k a call on 2026-12-07): grpc core's threads do time-driven work, and a
run under valgrind lasts minutes. Compare versions by several runs each,
or by ``overhead.py --callgrind``.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import functools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import _common
import callgrind

_common.generate()
compileall.compile_dir(_common.GEN, quiet=1)
_common.import_path()

import grpc  # noqa: E402
from benchpb.v1 import bench_pb2 as pb  # noqa: E402

SERVERS = ("aio", "microlib-upb", "microlib", "floor")
ECHO = "/benchpb.v1.BenchService/Echo"
STREAM = "/benchpb.v1.BenchService/Stream"
CALLERS = 4


def load(port: int, calls: int, *, stream_count: int = 0) -> None:
    """``calls`` Echo calls (Stream calls of ``stream_count`` messages, with one) over one
    channel, ``CALLERS`` in flight, each with a deadline."""
    item = _common.upb_item()

    async def run() -> None:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            if stream_count:
                request = pb.StreamRequest(item=item, count=stream_count).SerializeToString()
                stream = channel.unary_stream(STREAM)

                async def call() -> None:
                    received = [m async for m in stream(request, timeout=30)]
                    assert len(received) == stream_count

            else:
                request = item.SerializeToString()
                echo = channel.unary_unary(ECHO)

                async def call() -> None:
                    await echo(request, timeout=30)

            left = calls

            async def caller() -> None:
                nonlocal left
                while left > 0:
                    left -= 1
                    await call()

            await asyncio.gather(*(caller() for _ in range(CALLERS)))

    asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("servers", nargs="+", choices=SERVERS)
    parser.add_argument("--calls", type=int, default=300, help="N")
    parser.add_argument("--case", choices=("unary", "stream"), default="unary")
    parser.add_argument("--stream-count", type=int, default=100, help="messages per Stream call")
    parser.add_argument("--keep", type=Path, help="a folder for callgrind's profiles (NAME-N.out)")
    args = parser.parse_args()
    if not callgrind.available():
        parser.error("needs valgrind (apt-get install valgrind)")
    script = str(Path(__file__).resolve().parent / "servers.py")
    messages = args.stream_count if args.case == "stream" else 0
    figures = {}
    for name in args.servers:
        per_call = callgrind.served_per_request(
            lambda port, name=name: [sys.executable, script, name, str(port)],
            functools.partial(load, stream_count=messages),
            args.calls,
            warm_up=100 if args.case == "unary" else 10,
            keep=args.keep,
            name=name,
        )
        figures[name] = per_call / messages if messages else per_call
    first = next(iter(figures.values()))
    unit = "streamed message" if messages else "unary call"
    print(
        f"served instructions per {unit}: "
        + ", ".join(f"{name} {count / 1000:,.1f}k ({first / count:.2f}x)" for name, count in figures.items())
    )


if __name__ == "__main__":
    main()
