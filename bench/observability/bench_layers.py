"""CPU cost of each observability layer per request, in-process, without a socket.

Calls the ASGI app of ``server.py`` directly (no uvicorn, no network) and
measures process CPU time, so the figures hold on a busy machine where
wall-clock throughput does not. Modes as in ``server.py`` up to ``spans``
(spans are made but not exported; ``bench_http.py`` includes OTLP export).
Usage::

    PYTHONPATH=$PWD python bench/observability/bench_layers.py --requests 5000

``--instructions`` counts instructions per request with callgrind instead
(``bench/callgrind.py``: a warm-up, then N and 2N requests, the difference
over N), for ``off``, ``on`` and ``floor`` (``--modes`` picks others), the
export included: spans go over OTLP/gRPC to ``receiver.py``, run outside
valgrind, and each run ends by exporting what it still holds, as a stopping
service does. Each request is followed by one turn of the event loop, as
under a server, so work deferred to the loop (log writes, export tasks) is
counted::

    PYTHONPATH=$PWD python bench/observability/bench_layers.py --instructions --requests 1024

``--bytecodes`` counts the bytecodes each Python function runs per request
instead (``sys.settrace`` with opcode events, every thread), for the modes
given, in seconds rather than minutes: deterministic, it shows where a
mode's Python goes, function by function (callgrind sees the interpreter's
C functions only), and what a change removed. A bytecode is not an
instruction count (one may cost tens of instructions, another hundreds),
so confirm a change with ``--instructions``::

    PYTHONPATH=$PWD python bench/observability/bench_layers.py --bytecodes --requests 1024 --modes off on
"""

from __future__ import annotations

import argparse
import asyncio
import builtins
import collections
import contextlib
import functools
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import IO, Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import callgrind  # noqa: E402
from bench_http import _free_port, _spawn, _wait_for  # noqa: E402
from server import build  # noqa: E402

_SCOPE: dict[str, Any] = {
    "type": "http",
    "asgi": {"version": "3.0"},
    "http_version": "1.1",
    "method": "GET",
    "scheme": "http",
    "path": "/hello/world",
    "raw_path": b"/hello/world",
    "root_path": "",
    "query_string": b"",
    "headers": [(b"host", b"bench"), (b"user-agent", b"bench"), (b"accept", b"*/*")],
    "server": ("127.0.0.1", 8080),
    "client": ("127.0.0.1", 50000),
}


async def _drive(app: Any, requests: int) -> float:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        return None

    start = time.process_time()
    for _ in range(requests):
        await app({**_SCOPE, "headers": list(_SCOPE["headers"])}, receive, send)
    return (time.process_time() - start) / requests * 1e6


async def _main(requests: int, rounds: int, devnull: IO[str]) -> None:
    modes = ["off", "metrics", "logs", "spans"]
    # Log lines go nowhere: this measures producing them, not a terminal.
    with contextlib.redirect_stdout(devnull):
        apps = {mode: build(mode, "http://127.0.0.1:9") for mode in modes}
        await _measure(apps, modes, requests, rounds)


async def _measure(apps: dict[str, Any], modes: list[str], requests: int, rounds: int) -> None:
    results: dict[str, list[float]] = {mode: [] for mode in modes}
    for app in apps.values():
        await _drive(app, 500)
    for _ in range(rounds):
        for mode in modes:
            results[mode].append(await _drive(apps[mode], requests))
    off = statistics.median(results["off"])
    print = functools.partial(builtins.print, file=sys.__stdout__)
    print(f"median of {rounds} rounds of {requests} requests; CPU us per request (app only, no server)")
    for mode in modes:
        cpu = statistics.median(results[mode])
        print(f"{mode:>8} {cpu:8.1f} us   +{cpu - off:6.1f} us over off")


# Requests before the counted ones; a whole export batch, as N should be.
_WARM_UP = 512


async def _count_once(mode: str, requests: int, endpoint: str) -> None:
    """The run callgrind counts: warm up, serve ``requests`` requests, export what is left."""
    app = build(mode, endpoint)
    await _serve(app, _WARM_UP + requests)
    await _stop(mode, app)


async def _serve(app: Any, requests: int) -> None:
    # Each request followed by one turn of the loop, as under a server.
    for _ in range(requests):
        await app({**_SCOPE, "headers": list(_SCOPE["headers"])}, _receive, _send)
        await asyncio.sleep(0)


async def _stop(mode: str, app: Any) -> None:
    # Export what is left, as a stopping service does.
    if mode == "floor":
        await app.flush()
    elif app.state.observability is not None:
        await app.state.observability.stop()


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _send(message: dict[str, Any]) -> None:
    if message["type"] == "http.response.start" and message["status"] != 200:
        raise RuntimeError(f"status {message['status']}")


def _count(modes: list[str], requests: int) -> None:
    port = _free_port()
    receiver = _spawn("0-1", str(HERE / "receiver.py"), str(port))
    try:
        _wait_for(port)
        endpoint = f"http://127.0.0.1:{port}"
        figures = {}
        for mode in modes:

            def command(calls: int, mode: str = mode) -> list[str]:
                return [sys.executable, __file__, "--count-run", mode, "--requests", str(calls), endpoint]

            # Once outside valgrind: bytecode compiled and cached before the counted runs.
            subprocess.run(command(1), capture_output=True, check=True)
            figures[mode] = callgrind.per_call(command, requests)
            print(f"{mode:>8} {figures[mode] / 1000:8.1f}k instructions/request", flush=True)
    finally:
        receiver.send_signal(signal.SIGTERM)
        receiver.wait(timeout=10)
    if "off" in figures:
        off = figures["off"]
        for mode, count in figures.items():
            print(f"{mode:>8} +{(count - off) / 1000:7.1f}k over off, {off / count:.3f} of off")


async def _bytecodes_once(mode: str, requests: int, endpoint: str, top: int) -> None:
    """Count the bytecodes of ``requests`` requests (after a warm-up) by function; print the ``top``."""
    counts: collections.Counter[tuple[str, int, str]] = collections.Counter()

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "call":
            frame.f_trace_opcodes = True
        elif event == "opcode":
            code = frame.f_code
            counts[code.co_filename, code.co_firstlineno, code.co_name] += 1
        return tracer

    # Lines go nowhere (the floor writes them to file descriptor 1 itself); the table to stdout.
    stdout = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        app = build(mode, endpoint)
        await _serve(app, _WARM_UP)
        threading.settrace(tracer)
        sys.settrace(tracer)
        try:
            await _serve(app, requests)
        finally:
            sys.settrace(None)
            threading.settrace(None)
        await _stop(mode, app)
        sys.stdout.flush()
    finally:
        os.dup2(stdout, 1)
        os.close(devnull)
        os.close(stdout)
    root = str(HERE.parents[1]) + os.sep
    print(f"{mode}: {sum(counts.values()) / requests:.0f} bytecodes/request")
    for (filename, line, name), count in counts.most_common(top):
        print(f"{count / requests:8.1f}  {filename.removeprefix(root)}:{line} {name}")


def _bytecodes(modes: list[str], requests: int, top: int) -> None:
    port = _free_port()
    receiver = _spawn("0-1", str(HERE / "receiver.py"), str(port))
    try:
        _wait_for(port)
        for mode in modes:
            # A process each: the modes' pipelines and tracers are process-wide.
            argv = [sys.executable, __file__, "--bytecodes-run", mode, "--requests", str(requests)]
            subprocess.run([*argv, "--top", str(top), f"http://127.0.0.1:{port}"], check=True)
    finally:
        receiver.send_signal(signal.SIGTERM)
        receiver.wait(timeout=10)


def main() -> None:
    """Parse arguments and run the rounds."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--instructions", action="store_true", help="count instructions per request with callgrind"
    )
    parser.add_argument(
        "--modes", nargs="+", default=["off", "on", "floor"], help="with --instructions or --bytecodes"
    )
    parser.add_argument(
        "--bytecodes", action="store_true", help="count the bytecodes of each function per request"
    )
    parser.add_argument("--top", type=int, default=40, help="with --bytecodes: functions shown per mode")
    parser.add_argument("--count-run", help=argparse.SUPPRESS)
    parser.add_argument("--bytecodes-run", help=argparse.SUPPRESS)
    parser.add_argument("endpoint", nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bytecodes_run:
        asyncio.run(_bytecodes_once(args.bytecodes_run, args.requests, args.endpoint, args.top))
        return
    if args.bytecodes:
        _bytecodes(args.modes, args.requests, args.top)
        return
    if args.count_run:
        asyncio.run(_count_once(args.count_run, args.requests, args.endpoint))
        return
    if args.instructions:
        _count(args.modes, args.requests)
        return
    with open(os.devnull, "w") as devnull:
        asyncio.run(_main(args.requests, args.rounds, devnull))


if __name__ == "__main__":
    main()
