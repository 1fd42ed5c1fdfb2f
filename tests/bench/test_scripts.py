"""Every bench script starts, measures and reports, at the smallest size.

The figures of bench/ are only worth their numbers if the scripts still run
against today's code: one of them once called an API an earlier change had
removed, and nobody knew until a session needed its figure. Each script runs
here once, as a user would start it, with one short round; the test checks it
exits 0 and prints the line that carries its result. The callgrind modes are
left out (minutes each under valgrind); their child runs, which build the same
apps, are run directly where they have one.

In a run of the whole suite the scripts start as it begins, two at a time and
at low priority, and these tests run last (tests/bench/conftest.py): the
suite's tests run one at a time and leave most of a core idle, which the
benchmarks use. Run alone, this module runs them three at a time. Either way
the wall-clock figures they print here mean nothing, only that they were
printed.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.conftest import hold_servers_up

pytestmark = pytest.mark.connected

ROOT = Path(__file__).resolve().parents[2]

# Every case of bench/libraries/cases.py built and run a few times (protoc-gen-py's cases only
# where that plugin is installed, as callgrind.py does).
_LIBRARY_CASES = """
import os, shutil, sys, tempfile
from pathlib import Path
from bench.libraries import cases
with tempfile.TemporaryDirectory() as scratch:
    os.environ["BENCH_LIBRARIES_GEN"] = scratch
    protobuf_py = shutil.which("protoc-gen-py") is not None
    cases.generate(Path(scratch), protobuf_py=protobuf_py)
    for name, build in cases.CASES.items():
        if "protobuf_py" in name and not protobuf_py:
            continue
        operation = build()
        for _ in range(3):
            operation()
        print("ran", name)
print("all cases ran")
"""

# name: (the script and its arguments, text its output must hold)
SCRIPTS: dict[str, tuple[str, str]] = {
    "codec": ("bench/codec/run.py --rounds 1 --budget 0.02", "from JSON"),
    "config": ("bench/config/load.py --rounds 1 --loops 5", "ratio microlib / peer"),
    "data": ("bench/data/run.py --rounds 1 --cache-ops 20 --transactions 10", "ratio wall"),
    "grpc-overhead": ("bench/grpc/overhead.py --rounds 1 --calls 20", "adds"),
    "grpc-k6": ("bench/grpc/run.py --load k6 --rounds 1 --duration 1s --warmup 1s", "of medians"),
    "grpc-h2load": ("bench/grpc/run.py --load h2load --rounds 1 --duration 1s --warmup 1s", "of medians"),
    "http-inproc": ("bench/http/inproc.py --rounds 1 --requests 20", "faster"),
    # Two variants of one Service in one process, the access line written to /dev/null.
    "http-inproc-info": (
        "bench/http/inproc.py --rounds 1 --requests 20"
        " --only microlib-openapi microlib-openapi-info floor-info",
        "microlib-openapi-info / floor-info",
    ),
    "http-wrk": ("bench/http/run.py --rounds 1 --duration 1 --warmup 1", "of medians"),
    "jobs": ("bench/jobs/run.py --rounds 1 --jobs 20 --warmup 5 --latency-jobs 5", "enqueue->handler"),
    "messaging": ("bench/messaging/run.py --rounds 1 --messages 50", "microlib/raw ="),
    "messaging-memory-run": ("bench/messaging/inproc.py --one 20", ""),
    "messaging-rabbitmq-run": ("bench/messaging/inproc.py --one 20 --contender microlib", ""),
    "observability-http": ("bench/observability/bench_http.py --rounds 1 --duration 1", "ratio floor/off"),
    "observability-layers": ("bench/observability/bench_layers.py --requests 50 --rounds 1", "over off"),
    "observability-bytecodes": (
        "bench/observability/bench_layers.py --bytecodes --requests 20 --modes off on floor --top 3",
        "floor: ",
    ),
    "observability-metrics": ("bench/observability/bench_metrics.py --ops 100 --rounds 1", "labels()"),
    "observability-spans": ("bench/observability/bench_spans.py --spans 100 --rounds 1", "than sdk"),
    "outbox": ("bench/outbox/run.py --rounds 1 --messages 50", "ratio microlib / sqlalchemy-floor"),
    "security": ("bench/security/run.py --rounds 1 --calls 50 --seconds 1", "server CPU-us per request"),
    "startup": ("bench/startup/run.py --rounds 1", "ratio microlib-http/bare"),
}


def _command(name: str) -> list[str]:
    return ["-c", _LIBRARY_CASES] if name == "library-cases" else SCRIPTS[name][0].split()


NAMES = [*SCRIPTS, "library-cases"]


def _run(command: list[str], *, priority: int = 0) -> subprocess.CompletedProcess[str]:
    # Not measured for coverage (the suite's run of `--cov` passes its settings on to every Python
    # process through this variable): these are benchmarks of paths the other tests cover, and
    # tracing their servers costs the suite more than their run.
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'codegen'}"}
    env.pop("COVERAGE_PROCESS_CONFIG", None)
    argv = ["nice", "-n", str(priority), sys.executable, *command]
    with ExitStack() as held:
        hold_servers_up(held, fcntl.LOCK_SH)  # no test stops RabbitMQ under a script using it
        try:
            return subprocess.run(
                argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
            )
        except subprocess.TimeoutExpired as late:  # this script's test fails, not every script's
            return subprocess.CompletedProcess(argv, -9, _text(late.stdout), f"{_text(late.stderr)}\n{late}")


def _text(output: str | bytes | None) -> str:
    """What a timed-out run had printed (bytes, whatever ``text=True`` asked)."""
    return output.decode(errors="replace") if isinstance(output, bytes) else output or ""


class Background:
    """The scripts run while the rest of the suite does, two at a time, niced (their servers too)."""

    def __init__(self, names: list[str]) -> None:
        self._pool = ThreadPoolExecutor(2, thread_name_prefix="bench-scripts")
        self._runs = {name: self._pool.submit(_run, _command(name), priority=10) for name in names}

    def results(self) -> dict[str, subprocess.CompletedProcess[str]]:
        return {name: run.result() for name, run in self._runs.items()}

    def cancel(self) -> None:
        """Drop the scripts not started yet (a run stopped early does not wait for them all)."""
        self._pool.shutdown(wait=False, cancel_futures=True)


background: Background | None = None
"""Set by tests/bench/conftest.py when the session runs this module's scripts last."""


@pytest.fixture(scope="module")
def finished() -> dict[str, subprocess.CompletedProcess[str]]:
    """Each script's finished run."""
    if background is not None:
        return background.results()
    with ThreadPoolExecutor(3) as pool:
        return dict(zip(NAMES, pool.map(_run, map(_command, NAMES)), strict=True))


@pytest.mark.parametrize("name", NAMES)
def test_script_runs_and_reports(name: str, finished: dict[str, subprocess.CompletedProcess[str]]) -> None:
    done = finished[name]
    output = done.stdout + done.stderr
    command, expected = SCRIPTS.get(name, ("bench/libraries/cases.py (every case)", "all cases ran"))
    assert done.returncode == 0, f"{command} exited {done.returncode}:\n{output[-3000:]}"
    assert expected in output, f"{command}: no {expected!r} in its output:\n{output[-3000:]}"


def test_every_script_is_run() -> None:
    """A new bench script is added to SCRIPTS (or to this list of modules other scripts run)."""
    helpers = {
        "bench/callgrind.py",  # the callgrind wrapper (its modes take minutes)
        "bench/grpc/_common.py",
        "bench/grpc/_floor.py",
        "bench/grpc/served.py",  # callgrind only; its servers run in grpc-k6
        "bench/grpc/servers.py",
        "bench/libraries/callgrind.py",  # callgrind only; its cases run in library-cases
        "bench/libraries/cases.py",
        "bench/observability/floor.py",
        "bench/observability/receiver.py",
        "bench/observability/server.py",
        "bench/outbox/inproc.py",  # callgrind only
        "bench/security/server.py",
        "bench/startup/bare_app.py",
        "bench/startup/by_module.py",  # callgrind only; its processes start in startup
        "bench/startup/floor_app.py",
        "bench/startup/http_app.py",
        "bench/startup/instructions.py",  # callgrind only; its processes start in startup
        "bench/startup/to_ready.py",
    }
    run = {command.split()[0] for command, _ in SCRIPTS.values()}
    paths = [*ROOT.glob("bench/*.py"), *ROOT.glob("bench/*/*.py")]
    scripts = {str(path.relative_to(ROOT)) for path in paths}
    assert scripts - run - helpers == set()
