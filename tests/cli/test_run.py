"""`microlib run` as a real process: signals, draining, exit codes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from microlib.cli.main import build_parser

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Running:
    """A `microlib run` subprocess and the port it serves on."""

    def __init__(self, target: str, *settings: str, config: str | None = None) -> None:
        self.port = _free_port()
        args = ["--set", "http.host=127.0.0.1", "--set", f"http.port={self.port}"]
        if config is not None:
            args += ["--config", config]
        for item in settings:
            args += ["--set", item]
        # A file, not a pipe: nothing reads a pipe while the service runs, and once its
        # 64 KiB filled with access lines the service blocked writing its log (a fuzzing
        # run's requests then timed out).
        self._log = tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed by output(), after the process)
        self._written = ""
        self.process = subprocess.Popen(
            [sys.executable, "-m", "microlib.cli", "run", target, *args],
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 60  # a start on a loaded machine; a ready service returns at once
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.output()
            try:
                if httpx.get(f"{self.url}/health/ready", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise AssertionError("service never became ready:\n" + self.output())

    def output(self) -> str:
        """What it wrote, once it has ended (killed if still running)."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)
        if not self._log.closed:
            self._log.seek(0)
            self._written = self._log.read()
            self._log.close()
        return self._written


@pytest.fixture
def running() -> Iterator[list[Running]]:
    started: list[Running] = []
    yield started
    for r in started:
        r.output()


def _slow_request(url: str, results: list[httpx.Response | BaseException]) -> threading.Thread:
    def call() -> None:
        try:
            results.append(httpx.get(f"{url}/slow?seconds=1.5", timeout=10))
        except BaseException as exc:
            results.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    return thread


def test_sigterm_drains_in_flight_request_and_refuses_new_connections(running: list[Running]) -> None:
    """On SIGTERM readiness fails, the in-flight request completes, new
    connections are refused once the drain delay is over, and exit is 0."""
    app = Running("tests.cli.apps.slow:service", "shutdown.drain_delay=0.5")
    running.append(app)
    app.wait_ready()
    results: list[httpx.Response | BaseException] = []
    thread = _slow_request(app.url, results)
    time.sleep(0.3)
    app.process.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    during_delay = httpx.get(f"{app.url}/health/ready", timeout=2)
    assert during_delay.status_code == 503
    time.sleep(0.6)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{app.url}/health/live", timeout=2)
    thread.join(timeout=10)
    assert isinstance(results[0], httpx.Response), results
    assert results[0].status_code == 200
    assert results[0].json() == {"done": True}
    assert app.process.wait(timeout=10) == 0
    log = app.output()
    assert log.index("shutdown started") < log.index("component stopped")


def test_second_signal_forces_exit(running: list[Running]) -> None:
    """A second SIGTERM during the drain exits at once with status 1."""
    app = Running("tests.cli.apps.slow:service", "shutdown.drain_timeout=30")
    running.append(app)
    app.wait_ready()
    results: list[httpx.Response | BaseException] = []
    thread = _slow_request(app.url, results)
    time.sleep(0.3)
    app.process.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    assert app.process.poll() is None
    app.process.send_signal(signal.SIGTERM)
    assert app.process.wait(timeout=5) == 1
    assert "second signal, exiting now" in app.output()
    thread.join(timeout=10)


def test_failed_start_exits_non_zero_with_one_line_cause() -> None:
    """A component failing at start: exit 1 and a one-line cause, no traceback."""
    result = subprocess.run(
        [sys.executable, "-m", "microlib.cli", "run", "tests.cli.apps.slow:broken"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 1
    assert (
        "microlib run: component 'ledger-db' failed to start: "
        "ConnectionRefusedError: connection refused by 127.0.0.1:1" in result.stderr
    )
    assert "Traceback" not in result.stderr + result.stdout


def test_bad_target_is_a_one_line_error() -> None:
    """An unknown module or attribute is named, with exit status 2, and what was meant where it
    can be told: the module's Services, the module a file's path names."""
    for target, message in [
        ("nope.nothing:service", "cannot import module 'nope.nothing'"),
        (
            "tests.cli.apps.slow:missing",
            "module 'tests.cli.apps.slow' has no attribute 'missing'; its Service: broken, service\n",
        ),
        ("tests.cli.apps.slow:Broken", "'tests.cli.apps.slow:Broken' is a class, not a microlib Service"),
        (
            "tests/cli/apps/slow.py:service",
            "cannot import module 'tests/cli/apps/slow.py' (from target 'tests/cli/apps/slow.py:service'): "
            "name the module with dots, tests.cli.apps.slow:service\n",
        ),
    ]:
        result = subprocess.run(
            [sys.executable, "-m", "microlib.cli", "run", target],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 2, result.stderr
        assert message in result.stderr
        assert "Traceback" not in result.stderr


def test_port_in_use_fails_start_naming_the_address(running: list[Running]) -> None:
    """Binding a taken port fails the start with the address in the message."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "microlib.cli",
                "run",
                "tests.cli.apps.slow:service",
                "--set",
                "http.host=127.0.0.1",
                "--set",
                f"http.port={port}",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 1
    assert (
        f"component 'http' failed to start: OSError: [Errno 98] cannot listen on 127.0.0.1:{port} "
        "(settings http.host, http.port): Address already in use\n"
    ) in result.stderr


def test_the_cli_reads_installed_versions_only_when_asked() -> None:
    """Importing the command loads no ``importlib.metadata``: `microlib run` imports it before
    it pauses the collector, and that import alone cost nine collections before ready."""
    code = "import sys, microlib.cli.main; print('importlib.metadata' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_grpc_port_in_use_is_one_line_naming_the_address() -> None:
    """The gRPC server's taken port is said once, by microlib: grpc's C core logs nothing of its own."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [
                *(sys.executable, "-m", "microlib.cli", "run", "examples.bookshop.main:service"),
                *("--set", "http.port=0", "--set", "grpc.host=127.0.0.1", "--set", f"grpc.port={port}"),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert result.stderr == (
        f"microlib run: component 'grpc' failed to start: OSError: [Errno 98] cannot bind the gRPC server "
        f"to 127.0.0.1:{port} (settings grpc.host, grpc.port): Address already in use\n"
    )


def test_help_reads_as_plain_text() -> None:
    """No command's help shows reStructuredText markup (a docstring's ``literal``s) to the user."""
    parser = build_parser()
    for command in [parser, *parser.get_default("command_parsers").values()]:
        assert "``" not in command.format_help(), command.prog


def test_version_and_help() -> None:
    """`microlib version` prints both distributions; every command has help."""
    out = subprocess.run(
        [sys.executable, "-m", "microlib.cli", "version"], capture_output=True, text=True, check=True
    ).stdout
    assert "microlib 0.1.0" in out
    assert "microlib-codegen 0.1.0" in out
    run_help = subprocess.run(
        [sys.executable, "-m", "microlib.cli", "run", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "--set KEY=VALUE" in run_help
