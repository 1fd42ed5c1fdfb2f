"""One JSON POST with a small validated body: microlib vs FastAPI, connexion and Starlette.

Each server runs in its own uvicorn process (uvloop, httptools, one worker,
access log off, log level warning) pinned to one core; wrk runs pinned to
another. Rounds are interleaved (every server once per round, the order
rotating), and the table shows the median req/s, p50 and p99 over rounds and
the ratios of microlib to each peer.

    .venv/bin/python bench/http/run.py --rounds 5 --duration 10

The generated package ``bench/http/_gen`` is rendered from ``order.yaml``
first, so the run always measures the current generator.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
APPS = {
    "microlib": "bench.http.apps.microlib_app:app",
    "fastapi": "bench.http.apps.fastapi_app:app",
    "connexion": "bench.http.apps.connexion_app:app",
    "starlette": "bench.http.apps.starlette_app:app",
}
BODY = b'{"sku":"ABC-1234","quantity":3,"note":"leave at the door"}'


def free_port() -> int:
    """An ephemeral port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def generate() -> None:
    """Render bench/http/_gen from order.yaml."""
    sys.path[:0] = [str(ROOT), str(ROOT / "codegen")]
    from microlib_codegen.openapi import generate as render

    render(HERE / "order.yaml", out_dir=HERE / "_gen", gen_package="bench.http._gen")


def start(target: str, port: int, core: str) -> subprocess.Popen[bytes]:
    """Start one server and wait until it answers the POST with 201."""
    env = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'codegen'}", "PYTHONWARNINGS": "ignore"}
    cmd = ["taskset", "-c", core, sys.executable, "-m", "uvicorn", target, "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--loop", "uvloop", "--http", "httptools", "--no-access-log"]
    cmd += ["--log-level", "warning", "--lifespan", "auto"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/orders", data=BODY, headers={"Content-Type": "application/json"}
            )
            with urllib.request.urlopen(request, timeout=1) as response:
                if response.status == 201:
                    return proc
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{target} did not answer 201 within 30 s")


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(port: int, core: str, duration: int, connections: int) -> tuple[float, float, float]:
    """Run wrk once; return (req/s, p50 ms, p99 ms)."""
    cmd = ["taskset", "-c", core, "wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency"]
    cmd += ["-s", str(HERE / "post.lua"), f"http://127.0.0.1:{port}/orders"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=duration + 30).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"non-2xx responses:\n{out}")
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    if rps is None or p50 is None or p99 is None:
        raise RuntimeError(f"cannot read wrk's output:\n{out}")
    return float(rps.group(1)), _ms(*p50.groups()), _ms(*p99.groups())


def main() -> None:
    """Run the rounds and print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per server and round")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--server-core", default="0")
    parser.add_argument("--load-core", default="1")
    parser.add_argument("--only", nargs="*", choices=sorted(APPS), default=sorted(APPS))
    args = parser.parse_args()
    generate()
    results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in args.only}
    names = list(args.only)
    for round_no in range(args.rounds):
        order = names[round_no % len(names) :] + names[: round_no % len(names)]
        for name in order:
            port = free_port()
            proc = start(APPS[name], port, args.server_core)
            try:
                wrk(port, args.load_core, args.warmup, args.connections)
                results[name].append(wrk(port, args.load_core, args.duration, args.connections))
            finally:
                proc.terminate()
                proc.wait(timeout=10)
            rps, p50, p99 = results[name][-1]
            print(
                f"round {round_no + 1} {name:10} {rps:9.0f} req/s  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms",
                flush=True,
            )
    medians = {
        name: tuple(statistics.median(r[i] for r in runs) for i in range(3)) for name, runs in results.items()
    }
    print(f"\nmedian over {args.rounds} rounds, {args.duration}s each, {args.connections} connections")
    print(f"{'server':10} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for name, (rps, p50, p99) in medians.items():
        print(f"{name:10} {rps:9.0f} {p50:8.2f} {p99:8.2f}")
    if "microlib" in medians:
        print()
        for name, (rps, _p50, _p99) in medians.items():
            if name != "microlib":
                print(f"microlib / {name:10} {medians['microlib'][0] / rps:5.2f}x req/s")


if __name__ == "__main__":
    main()
