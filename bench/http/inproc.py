"""The same POST without a server or sockets: µs per request inside the ASGI app.

A low-noise complement to run.py on a busy machine: each app is called
directly with a prepared scope, in interleaved rounds, pinned by the caller
(``taskset -c 0``); prints the median µs per request and the ratios. The
microlib servers are their Services' apps, configured and started as run.py
serves them (``microlib.yaml``) but without the HTTP server.

    taskset -c 0 .venv/bin/python bench/http/inproc.py --rounds 7 --requests 5000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import statistics
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BODY = b'{"sku":"ABC-1234","quantity":3,"note":"leave at the door"}'
SCOPE: dict[str, Any] = {
    "type": "http",
    "asgi": {"version": "3.0"},
    "http_version": "1.1",
    "scheme": "http",
    "method": "POST",
    "path": "/v1/orders",
    "raw_path": b"/v1/orders",
    "query_string": b"",
    "root_path": "",
    "headers": [
        (b"host", b"127.0.0.1:8000"),
        (b"user-agent", b"wrk"),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(BODY)).encode()),
    ],
    "client": ("127.0.0.1", 50000),
    "server": ("127.0.0.1", 8000),
}


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": BODY, "more_body": False}


async def _send(message: dict[str, Any]) -> None:
    if message["type"] == "http.response.start" and not 200 <= message["status"] < 300:
        raise RuntimeError(f"status {message['status']}")


async def _run(app: Any, n: int) -> float:
    # CPU time: other processes on the core do not count.
    start = time.process_time()
    for _ in range(n):
        await app(dict(SCOPE), _receive, _send)
        # One turn of the loop per request, as under a server: callbacks
        # run and cancelled timers (request timeouts) are purged.
        await asyncio.sleep(0)
    return (time.process_time() - start) / n * 1e6


@contextlib.asynccontextmanager
async def _served(name: str) -> AsyncIterator[Any]:
    """The ASGI app of server ``name``; a Service is started around it."""
    from bench.http.run import CONFIG, SERVERS, SERVICES

    module, _, attribute = SERVERS[name].partition(":")
    served = getattr(importlib.import_module(module), attribute)
    if name not in SERVICES:
        yield served
        return
    served.configure(files=[CONFIG], overrides=["http.enabled=false"])
    await served.start()
    try:
        yield served.app
    finally:
        await served.stop()


async def _main(rounds: int, requests: int, names: list[str]) -> None:
    async with contextlib.AsyncExitStack() as stack:
        apps = {name: await stack.enter_async_context(_served(name)) for name in names}
        await _measure(apps, rounds, requests)


async def _measure(apps: dict[str, Any], rounds: int, requests: int) -> None:
    for app in apps.values():
        await _run(app, 500)
    results: dict[str, list[float]] = {name: [] for name in apps}
    for _ in range(rounds):
        for name, app in apps.items():
            results[name].append(await _run(app, requests))
    medians = {name: statistics.median(values) for name, values in results.items()}
    for name, us in medians.items():
        print(f"{name:20} {us:8.2f} µs/request")
    mine = [name for name in medians if name.startswith("microlib")]
    for name in mine:
        for peer, us in medians.items():
            if peer not in mine:
                print(f"{name + ' / ' + peer:34} {us / medians[name]:5.2f}x faster")


def main() -> None:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument(
        "--only",
        nargs="*",
        default=["microlib-openapi", "microlib-transcoded", "starlette", "fastapi"],
    )
    args = parser.parse_args()
    sys.path[:0] = [str(ROOT), str(ROOT / "codegen")]
    from bench.http.run import generate

    generate()
    asyncio.run(_main(args.rounds, args.requests, args.only))


if __name__ == "__main__":
    main()
