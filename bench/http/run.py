"""One JSON POST with a small validated body: microlib vs FastAPI, connexion and Starlette.

Servers (``POST /v1/orders``, body ``{"sku", "quantity", "note"}``, the rules of
``order.yaml``):

- ``microlib-openapi``: the OpenAPI-first route of ``order.yaml``, validated
  by its generated pydantic models (``apps/openapi_app.py``);
- ``microlib-transcoded``: the proto RPC ``benchorders.v1.OrderService/
  CreateOrder`` (``protos/``) served over REST by transcoding, validated by
  its ``field_behavior = REQUIRED`` and ``buf.validate`` rules
  (``apps/transcoded_app.py``);
- ``fastapi``: FastAPI with an equivalent pydantic model;
- ``connexion``: connexion 3, ``strict_validation``, the OpenAPI 3.0 copy
  (``order30.yaml``);
- ``starlette``: bare Starlette, no validation: the ceiling;
- ``floor``: a yardstick, not a peer (``apps/floor_app.py``): bare Starlette
  with the body validated by FastAPI's model and the least telemetry the
  configuration below asks for (``bench/observability/floor.py``): the
  least code doing these duties on Starlette we could write.

Both microlib servers are a ``microlib.Service`` run by ``microlib run`` with
``microlib.yaml``, so the whole default stack runs: edge middleware, the
default chain (request id, recovery, tracing, metrics, logging, deadline,
validation), logging at WARNING, metrics on, tracing on with every request
sampled (``sample_ratio: 1.0``) and exporter ``none`` (spans recorded, not
exported); gRPC is off, only REST is measured. ``microlib-openapi-info`` and
``floor-info`` (run only when ``--only`` names them) are the same servers at
the default level, INFO: one access line per request, written to the
server's standard output (``/dev/null`` here), which is what issue #19's
targets state. The peers run under
``uvicorn`` with access log off and log level warning. All run on uvloop and
httptools, one process, pinned to one core; wrk runs pinned to another.

Rounds are interleaved (every server once per round, the order rotating);
the table shows the median req/s, p50 and p99 over rounds, and each microlib
server's req/s against each peer: the ratio of medians and the median of
per-round ratios (steadier while the machine's other load drifts), next to
issue #19's target (connexion's: issue #6's). Before measuring, each server must answer the valid POST
with a 2xx and, unless it is the unvalidated ceiling, refuse an invalid one (4xx).

    .venv/bin/python bench/http/run.py --rounds 5 --duration 10

``--instructions`` counts instructions per request of each *served* process
instead, with callgrind (immune to other load on the machine): every thread
of the server counted, uvicorn and its protocol included, as
``bench/observability/bench_http.py --instructions`` does (``bench/callgrind.py``
says how). A peer's count over a microlib server's estimates their req/s
ratio; ``inproc.py --instructions`` counts the ASGI app alone, so the two
differ by what serving adds (about 95k a request for bare Starlette)::

    .venv/bin/python bench/http/run.py --instructions --only starlette microlib-openapi

The generated package ``bench/http/_gen`` is rendered first by ``microlib
codegen`` from ``protos/`` and ``order.yaml``, so the run always measures the
current generator.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
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
CONFIG = HERE / "microlib.yaml"
PATH = "/v1/orders"
# microlib Services (served by `microlib run`), then ASGI apps (served by uvicorn).
SERVICES = {
    "microlib-openapi": "bench.http.apps.openapi_app:service",
    "microlib-transcoded": "bench.http.apps.transcoded_app:service",
    "microlib-openapi-unfrozen": "bench.http.apps.openapi_app:service",
    "microlib-openapi-info": "bench.http.apps.openapi_app:service",
}
# Settings over microlib.yaml; a server named here runs only when --only names it.
VARIANTS = {
    # ADR 0014: the same server with its start-up heap left in the collector's reach.
    "microlib-openapi-unfrozen": ["lifecycle.freeze_heap=false"],
    # Issue #19: the default level, so the access line is written.
    "microlib-openapi-info": ["logging.level=INFO"],
}
APPS = {
    "fastapi": "bench.http.apps.fastapi_app:app",
    "connexion": "bench.http.apps.connexion_app:app",
    "starlette": "bench.http.apps.starlette_app:app",
    # A yardstick, not a peer: bare Starlette + validation + the least telemetry.
    "floor": "bench.http.apps.floor_app:app",
    "floor-info": "bench.http.apps.floor_app:app_with_access_log",
}
# Servers that run only when --only names them.
ON_REQUEST = {*VARIANTS, "floor-info"}
SERVERS = {**SERVICES, **APPS}
# Issue #6: req/s of each microlib server over each peer's, at least.
PEERS = ("fastapi", "connexion", "starlette")
# Issue #19's targets in requests/s against each peer (OpenAPI-first; a transcoded route's own);
# connexion's is issue #6's, which #19 left as it was.
TARGETS = {"fastapi": 2.0, "connexion": 4.0, "starlette": 0.9}
TRANSCODED_TARGETS = {"fastapi": 1.8}
UNVALIDATED = {"starlette"}
BODY = b'{"sku":"ABC-1234","quantity":3,"note":"leave at the door"}'
INVALID_BODY = b'{"sku":"abc","quantity":3}'


def free_port() -> int:
    """An ephemeral port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def generate() -> None:
    """Render bench/http/_gen from protos/ and order.yaml with ``microlib codegen``."""
    cmd = [sys.executable, "-m", "microlib.cli", "codegen", str(HERE / "protos"), str(HERE / "order.yaml")]
    cmd += ["-I", str(HERE / "protos"), "--out", str(HERE / "_gen"), "--package", "bench.http._gen"]
    subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT, env=_env())


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'codegen'}", "PYTHONWARNINGS": "ignore"}


def command(name: str, port: int) -> list[str]:
    """The command that serves ``name`` on ``port``."""
    if name in SERVICES:
        cmd = [sys.executable, "-m", "microlib.cli", "run", SERVICES[name], "--config", str(CONFIG)]
        settings = [f"http.port={port}", *VARIANTS.get(name, ())]
        return [*cmd, *(arg for setting in settings for arg in ("--set", setting))]
    cmd = [sys.executable, "-m", "uvicorn", APPS[name], "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--loop", "uvloop", "--http", "httptools", "--no-access-log"]
    return [*cmd, "--log-level", "warning", "--lifespan", "auto"]


def post(port: int, body: bytes) -> int:
    """POST ``body`` as JSON; the response status."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{PATH}", data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=1) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as exc:
        return exc.code


def start(name: str, port: int, core: str) -> subprocess.Popen[bytes]:
    """Start one server pinned to ``core``; wait until it answers, then check it validates.

    Raises:
        RuntimeError: it did not answer the valid POST within 30 s, answered
            it with other than 2xx, or did not refuse the invalid one (4xx:
            FastAPI's is 422) though it validates.
    """
    # Access lines (at INFO) go to /dev/null: written and paid for, not read.
    proc = subprocess.Popen(
        ["taskset", "-c", core, *command(name, port)], cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            status = post(port, BODY)
        except OSError:  # URLError, a refused connection, or a reply slower than the timeout
            time.sleep(0.1)
            continue
        refused = None if name in UNVALIDATED else post(port, INVALID_BODY)
        if 200 <= status < 300 and (refused is None or 400 <= refused < 500):
            return proc
        proc.kill()
        raise RuntimeError(
            f"{name} answered the valid POST with {status} and the invalid one with {refused}"
            " (expected: 2xx, 4xx)"
        )
    proc.kill()
    raise RuntimeError(f"{name} did not answer the valid POST within 30 s")


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(port: int, core: str, duration: int, connections: int) -> tuple[float, float, float]:
    """Run wrk once; return (req/s, p50 ms, p99 ms)."""
    cmd = ["taskset", "-c", core, "wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency"]
    cmd += ["-s", str(HERE / "post.lua"), f"http://127.0.0.1:{port}{PATH}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=duration + 30).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"non-2xx responses:\n{out}")
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    if rps is None or p50 is None or p99 is None:
        raise RuntimeError(f"cannot read wrk's output:\n{out}")
    return float(rps.group(1)), _ms(*p50.groups()), _ms(*p99.groups())


def report(results: dict[str, list[tuple[float, float, float]]], args: argparse.Namespace) -> None:
    """Print the medians and the ratios of each microlib server to each peer."""
    medians = {
        name: tuple(statistics.median(r[i] for r in runs) for i in range(3)) for name, runs in results.items()
    }
    print(
        f"\nmedian over {args.rounds} rounds, {args.duration}s each, {args.connections} connections, "
        f"server on core {args.server_core}, wrk on core {args.load_core}"
    )
    print(f"{'server':20} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for name, (rps, p50, p99) in medians.items():
        print(f"{name:20} {rps:9.0f} {p50:8.2f} {p99:8.2f}")
    print()
    for mine in (name for name in results if name in SERVICES):
        for peer in (name for name in results if name in PEERS):
            pooled = medians[mine][0] / medians[peer][0]
            paired = statistics.median(a[0] / b[0] for a, b in zip(results[mine], results[peer], strict=True))
            target = (TRANSCODED_TARGETS if "transcoded" in mine else TARGETS).get(peer)
            verdict = "" if target is None else "met" if min(pooled, paired) >= target else "NOT met"
            print(
                f"{mine + ' / ' + peer:34} {pooled:5.2f}x of medians, {paired:5.2f}x median of "
                f"per-round ratios" + ("" if target is None else f" (target {target:.1f}x: {verdict})")
            )
    for floor in (name for name in ("floor", "floor-info") if name in results and "starlette" in results):
        pooled = medians[floor][0] / medians["starlette"][0]
        paired = statistics.median(
            a[0] / b[0] for a, b in zip(results[floor], results["starlette"], strict=True)
        )
        print(
            f"{floor + ' / starlette':34} {pooled:5.2f}x of medians, {paired:5.2f}x median of "
            "per-round ratios (the least code doing these duties we could write)"
        )


# Requests each server answers before the counted ones of --instructions.
_WARM_UP = 500


def count_served(names: list[str], requests: int, connections: int, keep: Path | None) -> None:
    """Print each server's instructions per request, every thread of its process counted."""
    sys.path.insert(0, str(HERE.parent))
    import callgrind

    head = f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    request = f"{head}Content-Length: {len(BODY)}\r\n\r\n".encode() + BODY
    figures = {}
    for name in names:
        figures[name] = callgrind.served_per_request(
            lambda port, name=name: command(name, port),
            callgrind.keep_alive_load(request, connections),
            requests,
            warm_up=_WARM_UP,
            env=_env(),
            cwd=ROOT,
            keep=keep,
            name=name,
        )
        print(f"{name:24} {figures[name] / 1000:8.1f}k instructions/request", flush=True)
    for mine in (name for name in figures if name in SERVICES):
        for peer in (name for name in figures if name in APPS):
            print(f"{mine + ' / ' + peer:44} estimated req/s ratio {figures[peer] / figures[mine]:5.2f}")


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
    default = [name for name in SERVERS if name not in ON_REQUEST]
    parser.add_argument("--only", nargs="*", choices=list(SERVERS), default=default)
    parser.add_argument(
        "--instructions", action="store_true", help="count each server's instructions per request (callgrind)"
    )
    parser.add_argument("--requests", type=int, default=2000, help="N, with --instructions")
    parser.add_argument("--keep", type=Path, help="with --instructions: a folder for callgrind's profiles")
    args = parser.parse_args()
    if args.instructions:
        generate()
        count_served(args.only, args.requests, args.connections, args.keep)
        return
    for tool, package in (("wrk", "wrk"), ("taskset", "util-linux")):
        if shutil.which(tool) is None:
            parser.error(f"needs {tool} on PATH (apt-get install {package})")
    generate()
    results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in args.only}
    names = list(args.only)
    for round_no in range(args.rounds):
        order = names[round_no % len(names) :] + names[: round_no % len(names)]
        for name in order:
            port = free_port()
            proc = start(name, port, args.server_core)
            try:
                wrk(port, args.load_core, args.warmup, args.connections)
                results[name].append(wrk(port, args.load_core, args.duration, args.connections))
            finally:
                proc.terminate()
                proc.wait(timeout=30)
            rps, p50, p99 = results[name][-1]
            print(
                f"round {round_no + 1} {name:20} {rps:9.0f} req/s  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms",
                flush=True,
            )
    report(results, args)


if __name__ == "__main__":
    main()
