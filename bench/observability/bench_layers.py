"""CPU cost of each observability layer per request, in-process, without a socket.

Calls the ASGI app of ``server.py`` directly (no uvicorn, no network) and
measures process CPU time, so the figures hold on a busy machine where
wall-clock throughput does not. Modes as in ``server.py`` up to ``spans``
(spans are made but not exported; ``bench_http.py`` includes OTLP export).
Usage::

    PYTHONPATH=$PWD python bench/observability/bench_layers.py --requests 5000
"""

from __future__ import annotations

import argparse
import asyncio
import builtins
import contextlib
import functools
import os
import statistics
import sys
import time
from pathlib import Path
from typing import IO, Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from server import build

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


def main() -> None:
    """Parse arguments and run the rounds."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with open(os.devnull, "w") as devnull:
        asyncio.run(_main(args.requests, args.rounds, devnull))


if __name__ == "__main__":
    main()
