"""Time from process start to ``/health/ready`` = 200, and peak RSS.

The bookshop example (``microlib run``), an HTTP-only service
(``http_app.py``) and the floor (``floor_app.py``: the least that serves the
example's contracts on the same libraries) against a bare Starlette app on
uvicorn, each started the same way (a fresh Python process), in interleaved
rounds; prints medians and the ratios to bare.

    .venv/bin/python bench/startup/run.py --rounds 15

``--python`` runs the measured processes on another interpreter. The
development environment holds tools a deployment doesn't (schemathesis and
import-linter bring rich, which structlog imports when it finds it: about
225M instructions of the example's 1,891M to ready). To measure what the
image runs (``Dockerfile``: microlib's extras, no development tools), make
an environment with the runtime extras only and pass its interpreter::

    .venv/bin/uv venv -p .venv/bin/python /tmp/microlib-runtime
    .venv/bin/uv pip install --python /tmp/microlib-runtime/bin/python \
        --compile-bytecode -c requirements/constraints.txt ".[all]"
    .venv/bin/python bench/startup/run.py --python /tmp/microlib-runtime/bin/python
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYCACHE = Path(tempfile.gettempdir()) / "microlib-bench-startup-pycache"


def child_env() -> dict[str, str]:
    """The environment each measured process starts with.

    Bytecode is cached (in a directory of its own, outside the tree) even when
    ``PYTHONDONTWRITEBYTECODE`` is set here: the image compiles it at build
    (``Dockerfile``), and pip does for installed packages, so compiling
    microlib's and the example's sources on every start would measure a cost
    no deployment pays. The warm-up round writes it.
    """
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONPYCACHEPREFIX": str(PYCACHE)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def commands(port: int, python: str) -> dict[str, list[str]]:
    def microlib_run(target: str) -> list[str]:
        # gRPC on a port of the kernel's choosing, as the floor's: the example's
        # default (50051) may be taken by another service or test on this machine.
        settings = ["http.host=127.0.0.1", f"http.port={port}", "grpc.host=127.0.0.1", "grpc.port=0"]
        settings.append("logging.level=WARNING")
        overrides = [arg for setting in settings for arg in ("--set", setting)]
        return [python, "-m", "microlib.cli", "run", target, *overrides]

    return {
        "microlib": microlib_run("examples.bookshop.main:service"),
        "microlib-http": microlib_run("bench.startup.http_app:service"),
        "floor": [python, str(ROOT / "bench/startup/floor_app.py"), str(port)],
        "bare": [python, str(ROOT / "bench/startup/bare_app.py"), str(port)],
    }


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM")


def measure(name: str, cpu: str | None, python: str) -> tuple[float, int]:
    port = free_port()
    cmd = commands(port, python)[name]
    if cpu is not None:
        cmd = ["taskset", "-c", cpu, *cmd]
    url = f"http://127.0.0.1:{port}/health/ready"
    with tempfile.TemporaryFile() as errors:
        begin = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=errors, env=child_env())
        try:
            while True:
                if proc.poll() is not None:
                    errors.seek(0)
                    said = errors.read().decode(errors="replace")[-2000:]
                    raise RuntimeError(f"{name} exited with {proc.returncode}; it said:\n{said}")
                try:
                    with urllib.request.urlopen(url, timeout=1) as response:
                        if response.status == 200:
                            break
                except OSError:  # URLError, a refused connection, or a reply slower than the timeout
                    pass
                time.sleep(0.005)
            elapsed = time.perf_counter() - begin
            return elapsed, peak_rss_kib(proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--cpu", default="1", help="core to pin the servers to ('' for none)")
    parser.add_argument("--python", default=sys.executable, help="the measured processes' interpreter")
    args = parser.parse_args()
    cpu = args.cpu or None
    results: dict[str, list[tuple[float, int]]] = {
        name: [] for name in ("microlib", "microlib-http", "floor", "bare")
    }
    for name in results:
        measure(name, cpu, args.python)  # warm the page cache
    for _ in range(args.rounds):
        for name in results:
            results[name].append(measure(name, cpu, args.python))
    medians = {}
    for name, runs in results.items():
        t = statistics.median(r[0] for r in runs)
        rss = statistics.median(r[1] for r in runs)
        medians[name] = (t, rss)
        print(f"{name:9} ready in {t * 1000:7.1f} ms (median of {len(runs)}), peak RSS {rss / 1024:6.1f} MiB")
    for name in ("microlib", "microlib-http", "floor"):
        ratios_t = [m[0] / b[0] for m, b in zip(results[name], results["bare"], strict=True)]
        print(
            f"ratio {name}/bare: time-to-ready {statistics.median(ratios_t):.2f}x (median of pairs), "
            f"peak RSS {medians[name][1] / medians['bare'][1]:.2f}x"
        )


if __name__ == "__main__":
    main()
