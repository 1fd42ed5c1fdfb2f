"""Throughput cost of observability: one JSON route, everything on vs everything off.

"on": JSON access log at info, Prometheus metrics, tracing with ratio 1.0
exported over OTLP/gRPC to a local receiver, request ids and recovery.
"off": the same route through an empty chain, no middleware, no logging.
"floor": the "off" route inside ``floor.FloorTelemetry``, the least code we
could write for those duties (a yardstick, not microlib): a target it misses
is out of reach of any implementation we know of. With ``--breakdown`` the other modes
of ``server.py`` run too (metrics, logs, spans: what each layer costs; on10:
everything with a 0.1 sample ratio).

All servers run at once (uvicorn + uvloop + httptools), pinned to one core;
wrk and the receiver are pinned to another. Each round runs every mode, in
rotating order, and the medians are compared. Usage::

    PYTHONPATH=$PWD python bench/observability/bench_http.py --rounds 5 --duration 5

``--instructions`` counts instructions per request of the *served* process
instead, with callgrind (immune to other load on the machine): each mode's
``server.py`` runs under ``valgrind --tool=callgrind``, every thread counted
(the span export thread, its OTLP encoding and grpc's own threads included),
and an unprofiled client in this process drives it over ``--connections``
keep-alive connections (each with one request in flight, as wrk keeps them):
a warm-up of ``_WARM_UP`` requests then N, once with N and once with 2N, the
server stopped with SIGTERM after each (the spans still queued then, left
unexported, are as many in both runs: N is a multiple of the 512-span
export batch). The difference of the two whole-process counts over N is the cost
of one request, uvicorn and httptools included, and the estimated
throughput ratio of a mode is off's count over its own. The receiver runs
outside valgrind; so does a first run of each server, to cache bytecode::

    PYTHONPATH=$PWD python bench/observability/bench_http.py --instructions --requests 1024

``--modes metrics logs spans`` counts the layers in between (each mode adds
one duty to the one before: what each costs), ``--keep DIR`` keeps
callgrind's profiles for ``callgrind_annotate`` (the difference of a mode's
two profiles, over N, is one request's cost by C function).

The counts also hold what grows with the run's wall time rather than its
requests (uvicorn's 0.1 s tick, the export thread's scheduled wake-ups and
the partial batches they send), which under valgrind grows with N. ``off``
and ``floor`` repeat within 0.2% (245.7k, 245.3k, 245.6k; 310.0k, 310.3k, 310.6k);
``on`` within about 1% (459.1k and 463.9k on code that differs by a few bytecodes, 2026-12-06): when
the collector runs and how the spans are batched depend on timing, so a
change to ``on`` smaller than 5k per request does not show here (count it
in-process with ``bench_layers.py --instructions``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import callgrind  # noqa: E402


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def _spawn(core: str, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["taskset", "-c", core, sys.executable, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc (robust to other load on the machine)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wrk(core: str, url: str, duration: int, connections: int) -> tuple[float, float, float, int]:
    out = subprocess.run(
        ["taskset", "-c", core, "wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
        timeout=duration + 30,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def percentile(p: str) -> float:
        value, unit = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)\b", out).groups()  # type: ignore[union-attr]
        return float(value) * _UNITS[unit]

    if "Non-2xx" in out:
        raise SystemExit(f"wrk got error responses:\n{out}")
    if "Socket errors" in out:
        print(f"  (wrk: {re.search(r'Socket errors:.*', out).group(0)})")  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return rps, percentile("50"), percentile("99"), requests


# Requests served before the counted ones: a whole export batch, caches filled.
_WARM_UP = 512
_REQUEST = b"GET /hello/world HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n"


def _count_served(mode: str, endpoint: str, requests: int, connections: int, keep: Path | None) -> float:
    """Instructions per request of ``mode``'s server process (``callgrind.served_per_request``)."""
    return callgrind.served_per_request(
        lambda port: [sys.executable, str(HERE / "server.py"), mode, str(port), endpoint],
        callgrind.keep_alive_load(_REQUEST, connections),
        requests,
        warm_up=_WARM_UP,
        keep=keep,
        name=mode,
    )


def _instructions(modes: list[str], requests: int, connections: int, keep: Path | None) -> None:
    receiver_port = _free_port()
    receiver = _spawn("0-1", str(HERE / "receiver.py"), str(receiver_port))
    figures = {}
    try:
        _wait_for(receiver_port)
        for mode in modes:
            endpoint = f"http://127.0.0.1:{receiver_port}"
            figures[mode] = _count_served(mode, endpoint, requests, connections, keep)
            print(f"{mode:>7} {figures[mode] / 1000:8.1f}k instructions/request", flush=True)
    finally:
        receiver.send_signal(signal.SIGTERM)
        receiver.wait(timeout=10)
    if "off" in figures:
        for mode, count in figures.items():
            print(
                f"{mode:>7} +{(count - figures['off']) / 1000:7.1f}k over off,"
                f" estimated ratio {figures['off'] / count:.3f}"
            )


def main() -> None:
    """Run the interleaved rounds and print medians and the on/off ratio."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--server-core", default="0")
    parser.add_argument("--load-core", default="1")
    parser.add_argument("--breakdown", action="store_true", help="also run metrics, logs, spans, on10")
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="count the server's instructions per request with callgrind",
    )
    parser.add_argument("--requests", type=int, default=1024, help="N, with --instructions")
    parser.add_argument("--modes", nargs="+", default=["off", "on", "floor"], help="with --instructions")
    parser.add_argument("--keep", type=Path, help="with --instructions: a folder for callgrind's profiles")
    args = parser.parse_args()
    if args.instructions:
        _instructions(args.modes, args.requests, args.connections, args.keep)
        return
    modes = ["off", "on", "floor"]
    if args.breakdown:
        modes[1:1] = ["metrics", "logs", "spans"]
        modes.append("on10")
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk")

    receiver_port = _free_port()
    ports = {mode: _free_port() for mode in modes}
    receiver = _spawn(args.load_core, str(HERE / "receiver.py"), str(receiver_port))
    _wait_for(receiver_port)
    servers = {
        mode: _spawn(
            args.server_core, str(HERE / "server.py"), mode, str(port), f"http://127.0.0.1:{receiver_port}"
        )
        for mode, port in ports.items()
    }
    results: dict[str, list[tuple[float, float, float, float]]] = {mode: [] for mode in modes}
    try:
        for port in ports.values():
            _wait_for(port)
        for port in ports.values():  # warm-up
            _wrk(args.load_core, f"http://127.0.0.1:{port}/hello/world", 2, args.connections)
        for round_ in range(args.rounds):
            shift = round_ % len(modes)
            for mode in modes[shift:] + modes[:shift]:
                url = f"http://127.0.0.1:{ports[mode]}/hello/world"
                before = _cpu_seconds(servers[mode].pid)
                rps, p50, p99, requests = _wrk(args.load_core, url, args.duration, args.connections)
                cpu_us = (_cpu_seconds(servers[mode].pid) - before) / requests * 1e6
                results[mode].append((rps, p50, p99, cpu_us))
                print(
                    f"round {round_ + 1} {mode:>7}: {rps:9.1f} req/s  p50 {p50:7.2f} ms  p99 {p99:7.2f} ms"
                    f"  server CPU {cpu_us:6.1f} us/req"
                )
    finally:
        for process in (*servers.values(), receiver):
            process.send_signal(signal.SIGTERM)
        for process in (*servers.values(), receiver):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()

    medians = {
        mode: [statistics.median(column) for column in zip(*rows, strict=True)]
        for mode, rows in results.items()
    }
    print()
    print(f"median of {args.rounds} rounds; CPU = server process CPU time per request")
    print(f"{'':>7} {'req/s':>10} {'vs off':>7} {'p50 ms':>8} {'p99 ms':>8} {'CPU us':>8} {'vs off':>7}")
    off_rps, off_cpu = medians["off"][0], medians["off"][3]
    for mode in modes:
        rps, p50, p99, cpu = medians[mode]
        print(f"{mode:>7} {rps:10.1f} {rps / off_rps:7.3f} {p50:8.2f} {p99:8.2f}", end="")
        print(f" {cpu:8.1f} {off_cpu / cpu:7.3f}")
    ratio = medians["on"][0] / off_rps
    print(f"\nthroughput ratio on/off: {ratio:.3f}; CPU-time ratio off/on: {off_cpu / medians['on'][3]:.3f}")
    floor, floor_cpu = medians["floor"][0] / off_rps, off_cpu / medians["floor"][3]
    print(f"throughput ratio floor/off: {floor:.3f}; CPU-time ratio off/floor: {floor_cpu:.3f}")
    # Issue 19's target for everything on; the floor says how much of it any code can keep.
    print(f"(target: on/off >= 0.70, {'met' if ratio >= 0.70 else 'NOT met'}; the floor keeps {floor:.3f})")


if __name__ == "__main__":
    main()
