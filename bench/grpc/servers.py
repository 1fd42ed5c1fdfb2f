"""One benchmark server: ``python servers.py KIND PORT`` until SIGTERM.

Kinds:
- ``microlib``: a started ``Service`` including the servicer of the
  ``microlib codegen`` interface, with its default chain: request id,
  recovery, tracing (every call sampled, spans dropped), metrics, logging
  at warning, deadline, validation; betterproto2 messages for the
  servicer, the generated codec on the wire.
- ``microlib-upb``: the same server generated with ``messages = "upb"``
  (the opt-in message layer): the servicer on upb messages, no conversion.
- ``aio``: a bare grpc.aio server, grpcio-tools servicer, upb messages.
- ``grpclib``: grpclib with betterproto2's own generated server.
- ``floor``: the ``aio`` server doing, in its methods, only what the
  default chain's duties and the betterproto2 message layer cannot avoid
  (``_floor.py``). A yardstick, not microlib: a target it misses is out of
  reach of any implementation of those duties on grpc.aio we know of.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import _common

_common.import_path()


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print("ready", flush=True)
    await stop.wait()


async def _serve_grpcio(servicer: Any, port: int) -> None:
    import grpc
    from benchpb.v1 import bench_pb2_grpc as pb_grpc

    server = grpc.aio.server()
    pb_grpc.add_BenchServiceServicer_to_server(servicer, server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    try:
        await _until_signalled()
    finally:
        await server.stop(None)


async def serve_microlib(port: int, *, upb: bool = False) -> None:
    import importlib

    from microlib.service import Service

    # `upb`: the package generated with `messages = "upb"` (the opt-in layer).
    gen: Any = importlib.import_module("benchgen_upb.benchpb.v1" if upb else "benchgen.benchpb.v1")

    class Servicer(gen.BenchService):  # type: ignore[misc]
        async def echo(self, request: Any, ctx: Any) -> Any:
            return request

        async def stream(self, request: Any, ctx: Any) -> AsyncIterator[Any]:
            for _ in range(request.count):
                yield request.item

    servicer: type[Any] = Servicer
    # The service's default chain, as issue #5 states it: metrics and tracing
    # on (every call sampled, spans ended and dropped), logging at warning.
    service = Service("bench-grpc")
    service.include(servicer())
    service.configure(
        overrides=[
            "grpc.host=127.0.0.1",
            f"grpc.port={port}",
            "http.enabled=false",
            "logging.level=WARNING",
            "metrics.enabled=true",
            "tracing.enabled=true",
            "tracing.sample_ratio=1.0",
            "tracing.exporter=none",
        ]
    )
    await service.start()
    # As `microlib run` and Service.serve() leave a started service (ADR 0014): what start-up
    # built out of the collector's reach. Without it the rare full collections walked it all.
    if service.config.lifecycle.freeze_heap:
        gc.freeze()
    try:
        await _until_signalled()
    finally:
        await service.stop()


async def serve_microlib_upb(port: int) -> None:
    await serve_microlib(port, upb=True)


async def serve_aio(port: int) -> None:
    from benchpb.v1 import bench_pb2_grpc as pb_grpc

    class Servicer(pb_grpc.BenchServiceServicer):  # type: ignore[misc]
        async def Echo(self, request: Any, context: Any) -> Any:
            return request

        async def Stream(self, request: Any, context: Any) -> AsyncIterator[Any]:
            for _ in range(request.count):
                yield request.item

    await _serve_grpcio(Servicer(), port)


async def serve_floor(port: int) -> None:
    import _floor

    await _serve_grpcio(_floor.servicer(), port)


async def serve_grpclib(port: int) -> None:
    from bp.benchpb import v1 as bp
    from grpclib.server import Server

    class Servicer(bp.BenchServiceBase):  # type: ignore[misc]
        async def echo(self, message: Any) -> Any:
            return message

        async def stream(self, message: Any) -> AsyncIterator[Any]:
            for _ in range(message.count):
                yield message.item

    # grpclib writes on after h2load drops its connections at the end of a run, and asyncio
    # warns "socket.send() raised exception." for each write: thousands of lines in the report.
    logging.getLogger("asyncio").setLevel(logging.ERROR)
    server = Server([Servicer()])
    await server.start("127.0.0.1", port)
    try:
        await _until_signalled()
    finally:
        server.close()
        await server.wait_closed()


SERVERS = {
    "microlib": serve_microlib,
    "microlib-upb": serve_microlib_upb,
    "aio": serve_aio,
    "grpclib": serve_grpclib,
    "floor": serve_floor,
}

if __name__ == "__main__":
    asyncio.run(SERVERS[sys.argv[1]](int(sys.argv[2])))
