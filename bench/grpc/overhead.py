"""The runtime's own cost per call and per streamed message, without sockets.

The k6 benchmark (run.py) measures whole servers and is at the mercy of the
machine's other load; this one calls the grpc.aio method handlers microlib
builds directly, with a minimal servicer context, against the same work done
bare (parse, serialize, write), in interleaved rounds on upb messages. The
difference is what the runtime adds: the CallContext, the default chain
of a started Service (request id, recovery, tracing at ratio 1.0 with
spans dropped, metrics, logging at warning, deadline, validation), the
contextvar binding.

    PYTHONPATH=. .venv/bin/python bench/grpc/overhead.py
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common

_common.generate()
_common.import_path()

from benchpb.v1 import bench_pb2 as pb  # noqa: E402
from google.protobuf import json_format  # noqa: E402

from microlib.core.service import Service  # noqa: E402
from microlib.grpc import (  # noqa: E402
    MethodDefinition,
    MethodKind,
    ServiceDefinition,
)
from microlib.grpc.handlers import method_handlers  # noqa: E402

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


async def handlers() -> tuple[Callable[..., Awaitable[Any]], Callable[..., Awaitable[Any]], Service]:
    def method(name: str, kind: MethodKind, request: Any) -> MethodDefinition:
        return MethodDefinition(
            name,
            name.lower(),
            kind,
            request,
            pb.Item,
            request.FromString,
            pb.Item.SerializeToString,
            request.SerializeToString,
            pb.Item.FromString,
        )

    definition = ServiceDefinition(
        "benchpb.v1.BenchService",
        {
            "Echo": method("Echo", MethodKind.UNARY_UNARY, pb.Item),
            "Stream": method("Stream", MethodKind.UNARY_STREAM, pb.StreamRequest),
        },
        object,
        b"",
    )
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


async def timed(call: Callable[..., Awaitable[Any]], raw: bytes, n: int) -> float:
    context = Context()
    start = time.perf_counter()
    for _ in range(n):
        await call(raw, context)
        # Let the loop run between calls, as a server's does (it also
        # clears the cancelled deadline timers).
        await asyncio.sleep(0)
    return (time.perf_counter() - start) / n * 1e6


async def main(rounds: int = 7, n: int = 20000) -> None:
    item = json_format.ParseDict(_common.ITEM_JSON, pb.Item())
    echo_raw = item.SerializeToString()
    stream_raw = pb.StreamRequest(item=item, count=STREAM).SerializeToString()
    echo, stream, service = await handlers()
    cases = {
        "unary µs/call": ((bare_echo, echo, echo_raw, n), 1),
        "stream µs/msg": ((bare_stream, stream, stream_raw, n // STREAM), STREAM),
    }
    for name, ((bare, ours, raw, count), per) in cases.items():
        b: list[float] = []
        m: list[float] = []
        for _ in range(rounds):
            b.append(await timed(bare, raw, count) / per)
            m.append(await timed(ours, raw, count) / per)
        bare_med, ours_med = statistics.median(b), statistics.median(m)
        print(
            f"{name}: bare {bare_med:.2f}, microlib {ours_med:.2f}, "
            f"runtime adds {ours_med - bare_med:.2f} (median of {rounds} rounds)"
        )
    await service.stop()


if __name__ == "__main__":
    asyncio.run(main())
