"""The runtime's own cost per call and per streamed message, without sockets.

The k6 benchmark (run.py) measures whole servers and is at the mercy of the
machine's other load; this one calls the grpc.aio method handlers microlib
builds directly, with a minimal servicer context, against the same work done
bare (parse, serialize, write), in interleaved rounds on upb messages. The
difference is what the runtime adds: the CallContext, the default chain
of a started Service (request id, recovery, tracing at ratio 1.0 with
spans dropped, metrics, logging at warning, deadline, validation), the
contextvar binding; with betterproto2 messages (``microlib``, the default
message layer) and with the package generated with ``messages = "upb"``
(``microlib-upb``, the opt-in layer: upb messages handed to the servicer).
``floor`` is the yardstick ``run.py`` also serves (``_floor.py``): bare plus
the least the default chain's duties and the betterproto2 layer cost.

``--callgrind`` counts instructions instead (valgrind, deterministic under
any load): per unary call and per streamed message, each contender run with
N and 2N calls after the same warm-up, the difference divided by N.

    PYTHONPATH=. .venv/bin/python bench/grpc/overhead.py
    PYTHONPATH=. .venv/bin/python bench/grpc/overhead.py --callgrind
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import _common
import callgrind

# The parent generates and compiles; the children it counts (``--one``) import what it made.
# Generated in each child, the modules were rewritten before every run and compiled again by
# whichever run imported them first (and protoc's output read in as many chunks as the load
# made): millions of instructions that differed between the N and 2N runs.
if "--one" not in sys.argv:
    _common.generate()
    compileall.compile_dir(_common.GEN, quiet=1)
_common.import_path()

from benchpb.v1 import bench_pb2 as pb  # noqa: E402

from microlib.grpc.handlers import method_handlers  # noqa: E402
from microlib.service import Service  # noqa: E402

STREAM = 100


class Context:
    """What the handlers use of grpc.aio's ServicerContext."""

    def time_remaining(self) -> float:
        return 30.0

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return (("user-agent", "grpc-go/1.72.0"), ("te", "trailers"))

    def peer(self) -> str:
        return "ipv4:127.0.0.1:50123"

    async def write(self, message: bytes) -> None:
        return None

    async def send_initial_metadata(self, metadata: Any) -> None:
        return None

    def set_trailing_metadata(self, metadata: Any) -> None:
        return None

    async def abort(self, code: Any, details: str = "", trailing_metadata: Any = ()) -> None:
        raise RuntimeError(f"the call failed: {code} {details}")


class Servicer:
    async def echo(self, request: Any, ctx: Any) -> Any:
        return request

    async def stream(self, request: Any, ctx: Any) -> AsyncIterator[Any]:
        for _ in range(request.count):
            yield request.item


async def handlers(upb: bool) -> tuple[Callable[..., Awaitable[Any]], Callable[..., Awaitable[Any]], Service]:
    """The Echo and Stream handlers microlib builds, over a started Service's chain.

    Args:
        upb: The package generated with ``messages = "upb"``: the servicer
            sees upb messages; otherwise the betterproto2 dataclasses of
            ``microlib codegen``, converted by the generated codec (the default).
    """
    import importlib

    gen: Any = importlib.import_module("benchgen_upb.benchpb.v1" if upb else "benchgen.benchpb.v1")
    definition = gen.BenchService.__microlib_service__
    # A started Service installs its default chain (as run.py's servers
    # have it); no server is needed to call the handlers directly.
    service = Service("bench-overhead")
    service.configure(
        overrides=[
            "http.enabled=false",
            "grpc.enabled=false",
            "logging.level=WARNING",
            "tracing.enabled=true",
            "tracing.sample_ratio=1.0",
            "tracing.exporter=none",
        ]
    )
    await service.start()
    built = method_handlers(definition, Servicer(), service.chain.wrap)
    return built["Echo"].unary_unary, built["Stream"].unary_stream, service


async def bare_echo(raw: bytes, context: Context) -> bytes:
    request = pb.Item.FromString(raw)
    response = await Servicer().echo(request, None)
    return bytes(response.SerializeToString())


async def bare_stream(raw: bytes, context: Context) -> None:
    request = pb.StreamRequest.FromString(raw)
    async for item in Servicer().stream(request, None):
        await context.write(item.SerializeToString())


def floor_handlers() -> dict[str, Callable[..., Awaitable[Any]]]:
    """The floor servicer (``_floor.py``) behind the parse and serialize of ``bare``."""
    import _floor

    floor = _floor.servicer()

    async def echo(raw: bytes, context: Context) -> bytes:
        response = await floor.Echo(pb.Item.FromString(raw), context)
        return bytes(response.SerializeToString())

    async def stream(raw: bytes, context: Context) -> None:
        async for item in floor.Stream(pb.StreamRequest.FromString(raw), context):
            await context.write(item.SerializeToString())

    return {"unary": echo, "stream": stream}


async def timed(call: Callable[..., Awaitable[Any]], raw: bytes, n: int) -> float:
    context = Context()
    start = time.perf_counter()
    for _ in range(n):
        await call(raw, context)
        # Let the loop run between calls, as a server's does (it also
        # clears the cancelled deadline timers).
        await asyncio.sleep(0)
    return (time.perf_counter() - start) / n * 1e6


def raw_requests() -> dict[str, bytes]:
    item = _common.upb_item()
    return {
        "unary": item.SerializeToString(),
        "stream": pb.StreamRequest(item=item, count=STREAM).SerializeToString(),
    }


CONTENDERS = ("bare", "floor", "microlib-upb", "microlib")
"""``bare``: grpc.aio's work alone on upb; ``floor``: the same with the least
the default chain's duties and the betterproto2 layer cost (``_floor.py``, as
``run.py`` serves it); ``microlib-upb``: the runtime and its chain on the
``messages = "upb"`` layer; ``microlib``: the same with betterproto2 messages
(the default layer)."""


async def contender(name: str) -> tuple[dict[str, Callable[..., Awaitable[Any]]], Service | None]:
    """The handlers of one contender by case, and the service to stop after."""
    if name == "bare":
        return {"unary": bare_echo, "stream": bare_stream}, None
    if name == "floor":
        return floor_handlers(), None
    echo, stream, service = await handlers(upb=name == "microlib-upb")
    return {"unary": echo, "stream": stream}, service


async def wall_clock(rounds: int, n: int, cases: list[str]) -> None:
    raw = raw_requests()
    bare, _ = await contender("bare")
    for name in CONTENDERS[1:]:
        ours, service = await contender(name)
        for case, per in (("unary", 1), ("stream", STREAM)):
            if case not in cases:
                continue
            count = max(1, n // per)
            b: list[float] = []
            m: list[float] = []
            for _ in range(rounds):
                b.append(await timed(bare[case], raw[case], count) / per)
                m.append(await timed(ours[case], raw[case], count) / per)
            bare_med, ours_med = statistics.median(b), statistics.median(m)
            unit = "µs/call" if per == 1 else "µs/msg"
            print(
                f"{name} {case} {unit}: bare {bare_med:.2f}, {name} {ours_med:.2f}, "
                f"adds {ours_med - bare_med:.2f} (median of {rounds} rounds)"
            )
        if service is not None:
            await service.stop()


async def one(name: str, case: str, calls: int) -> None:
    """Warm up, then make ``calls`` calls of ``case``: what callgrind counts."""
    raw = raw_requests()[case]
    handlers_by_case, service = await contender(name)
    await timed(handlers_by_case[case], raw, 200)
    await timed(handlers_by_case[case], raw, calls)
    if service is not None:
        await service.stop()


def instruction_counts(n: int, cases: list[str], contenders: list[str]) -> None:
    """Instructions per unary call and per streamed message, for each contender."""
    script = str(Path(__file__).resolve())
    for case, per in (("unary", 1), ("stream", STREAM)):
        if case not in cases:
            continue
        unit = "call" if per == 1 else "streamed message"
        figures = {
            name: callgrind.per_call(
                lambda calls, name=name, case=case: [sys.executable, script, "--one", name, case, str(calls)],
                max(n // per, 10),
            )
            / per
            # bare is the unit of the ratios: always counted.
            for name in CONTENDERS
            if name == "bare" or name in contenders
        }
        bare = figures["bare"]
        print(
            f"{case} instructions per {unit}: "
            + ", ".join(
                f"{name} {count / 1000:,.1f}k ({count / bare:.2f}x bare)" for name, count in figures.items()
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--callgrind",
        action="store_true",
        help="count instructions per call under valgrind (deterministic) instead of timing",
    )
    parser.add_argument("--calls", type=int, default=None, help="calls per round (timing) or N (callgrind)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--cases", nargs="+", choices=("unary", "stream"), default=["unary", "stream"])
    parser.add_argument(
        "--contenders", nargs="+", choices=CONTENDERS, default=list(CONTENDERS), help="with --callgrind"
    )
    parser.add_argument("--one", nargs=3, metavar=("CONTENDER", "CASE", "CALLS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        name, case, calls = args.one
        asyncio.run(one(name, case, int(calls)))
    elif args.callgrind:
        if not callgrind.available():
            parser.error("--callgrind needs valgrind (apt-get install valgrind)")
        instruction_counts(args.calls or 1000, args.cases, args.contenders)
    else:
        asyncio.run(wall_clock(args.rounds, args.calls or 20000, args.cases))


if __name__ == "__main__":
    main()
