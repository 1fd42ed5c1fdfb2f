"""The same POST without a server or sockets: µs per request inside the ASGI app.

A low-noise complement to run.py on a busy machine: each app is called
directly with a prepared scope, in interleaved rounds, pinned by the caller
(``taskset -c 0``); prints the median µs per request and the ratios. The
microlib servers are their Services' apps, configured and started as run.py
serves them (``microlib.yaml``) but without the HTTP server.

    taskset -c 0 .venv/bin/python bench/http/inproc.py --rounds 7 --requests 5000

``--instructions`` counts instructions instead, with callgrind: each app runs
twice under ``valgrind --tool=callgrind``, a warm-up then N requests and a
warm-up then 2N requests, and the difference over N is its instructions per
request: deterministic (within 1%) whatever else the machine runs, so it is
the figure to compare on a shared machine (N = 1000: the span export thread
makes microlib's count depend on N under valgrind). The services get
``microlib.yaml``'s settings as overrides rather than as a file, so no config
file watcher runs (its wake-ups would count with the run's wall time), and
each app runs once outside valgrind first, so both counted runs find its
bytecode cached.

    .venv/bin/python bench/http/inproc.py --instructions --requests 1000

Measured 2026-12-06 (docs/http.md has the rounds): bare Starlette 173.0k,
FastAPI 438.9k, microlib OpenAPI-first 257.0k (1.49x Starlette; 269.5k before
that round), transcoded 302.8k (1.75x; 320.0k before). After the second pass
of that day: Starlette 173.5k, OpenAPI-first 251.8k (1.45x), at INFO
(``--only microlib-openapi-info``, its access line written) 313.3k (1.81x;
``floor-info`` 209.1k), transcoded 294.7k (1.70x). After the sixth pass:
Starlette 172.3k, OpenAPI-first 232.3k (1.35x), at INFO 280.6k (1.63x;
``floor-info`` 208.6k), transcoded 252.9k (1.47x). After the ninth pass
(2026-12-07, ``--requests 2000``): Starlette 174.5k, floor 184.3k,
OpenAPI-first 225.9k (1.29x, 0.51x FastAPI's 439.3k), transcoded 230.6k (1.32x).
After the tenth: Starlette 172.9k, OpenAPI-first 220.3k (1.27x, 0.50x FastAPI's
439.4k), transcoded 225.4k (1.30x). After the eleventh: Starlette 172.8k, OpenAPI-first
212.4k (1.23x, 0.48x FastAPI's 439.4k), transcoded 217.8k (1.26x).

The apps here are called with module-level ``receive`` and ``send``: a
reference cycle through the server's own (a record of the request holding
them, the scope holding the record) costs nothing here and shows only
served; ``run.py`` is the check for that.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import yaml

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
    from bench.http.run import CONFIG, SERVERS, SERVICES, VARIANTS

    module, _, attribute = SERVERS[name].partition(":")
    if name in SERVICES and module in sys.modules:
        # A variant of a service already served in this run: a Service of its own to configure.
        served = getattr(importlib.reload(sys.modules[module]), attribute)
    else:
        served = getattr(importlib.import_module(module), attribute)
    if name not in SERVICES:
        yield served
        return
    # The configuration file's settings, given as overrides: with a file to watch the service
    # would run a file watcher whose wake-ups count with the run's wall time, not its requests.
    overrides = [*_overrides(yaml.safe_load(CONFIG.read_text())), *VARIANTS.get(name, ())]
    served.configure(overrides=[*overrides, "http.enabled=false"])
    await served.start()
    try:
        yield served.app
    finally:
        await served.stop()


def _overrides(section: dict[str, Any], prefix: str = "") -> list[str]:
    """``section`` as ``dotted.key=value`` overrides."""
    found = []
    for key, value in section.items():
        if isinstance(value, dict):
            found += _overrides(value, f"{prefix}{key}.")
        else:
            found.append(f"{prefix}{key}={str(value).lower() if isinstance(value, bool) else value}")
    return found


# Requests before the counted ones: caches, lazily built children and JIT-free warm paths.
_WARM_UP = 200


@contextlib.contextmanager
def _stdout_to_devnull() -> Iterator[None]:
    """Standard output goes to ``/dev/null`` in the block: access lines (at INFO) are written, not shown."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


async def _count_once(name: str, requests: int) -> None:
    """The run callgrind counts: start ``name``, warm it up, serve ``requests`` requests."""
    with _stdout_to_devnull():
        async with _served(name) as app:
            await _run(app, _WARM_UP + requests)


def _instructions(name: str, requests: int) -> int:
    """Instructions callgrind counts for a whole run of ``_count_once``."""
    with tempfile.TemporaryDirectory() as out:
        cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}/callgrind.out"]
        cmd += [sys.executable, __file__, "--count-run", name, "--requests", str(requests)]
        # A fixed hash seed: the same dict layouts, so the same instructions, in both runs.
        env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONWARNINGS": "ignore"}
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"{name}: callgrind run failed:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def _count(names: list[str], requests: int) -> None:
    per_request = {}
    for name in names:
        # One run outside valgrind first: a module changed since its bytecode was cached is
        # compiled (and cached) there, not in the first counted run only, which would make
        # the difference of the two runs too small by the compiler's work.
        warm = [sys.executable, __file__, "--count-run", name, "--requests", "1"]
        subprocess.run(warm, capture_output=True, check=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
        once, twice = _instructions(name, requests), _instructions(name, 2 * requests)
        per_request[name] = (twice - once) / requests
        print(f"{name:20} {per_request[name] / 1000:8.1f}k instructions/request", flush=True)
    base = {peer: count for peer, count in per_request.items() if not peer.startswith("microlib")}
    for name, count in per_request.items():
        if name.startswith("microlib"):
            for peer, theirs in base.items():
                print(f"{name + ' / ' + peer:34} {count / theirs:5.2f}x the instructions")


async def _main(rounds: int, requests: int, names: list[str]) -> None:
    with _stdout_to_devnull():
        async with contextlib.AsyncExitStack() as stack:
            apps = {name: await stack.enter_async_context(_served(name)) for name in names}
            results = await _measure(apps, rounds, requests)
    _report({name: statistics.median(values) for name, values in results.items()})


async def _measure(apps: dict[str, Any], rounds: int, requests: int) -> dict[str, list[float]]:
    for app in apps.values():
        await _run(app, 500)
    results: dict[str, list[float]] = {name: [] for name in apps}
    for _ in range(rounds):
        for name, app in apps.items():
            results[name].append(await _run(app, requests))
    return results


def _report(medians: dict[str, float]) -> None:
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
        "--instructions", action="store_true", help="count instructions per request with callgrind"
    )
    parser.add_argument("--count-run", help=argparse.SUPPRESS)
    parser.add_argument(
        "--only",
        nargs="*",
        default=["microlib-openapi", "microlib-transcoded", "starlette", "fastapi"],
    )
    args = parser.parse_args()
    sys.path[:0] = [str(ROOT), str(ROOT / "codegen")]
    from bench.http.run import generate

    if args.count_run:
        asyncio.run(_count_once(args.count_run, args.requests))
        return
    generate()
    if args.instructions:
        _count(args.only, args.requests)
        return
    asyncio.run(_main(args.rounds, args.requests, args.only))


if __name__ == "__main__":
    main()
