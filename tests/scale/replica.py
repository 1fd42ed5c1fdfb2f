"""One `microlib run` process of the bookshop example, as a replica in a pod.

It serves HTTP and gRPC on free loopback ports and writes its log to a file
(a busy service fills a pipe nobody reads and then blocks on it). ``wrapper``
puts a command in front of it, such as ``unshare`` to make it PID 1.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
TARGET = "examples.bookshop.main:service"
MICROLIB = str(Path(sys.executable).with_name("microlib"))


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Replica:
    """A `microlib run` subprocess; ``start()`` launches it.

    Args:
        log_path: Where its stdout and stderr go.
        settings: ``key=value`` overrides, passed as ``--set``.
        target: The service, as ``module:attribute``.
        wrapper: A command the service runs under (its arguments follow).
        env: Extra environment variables.
    """

    def __init__(
        self,
        log_path: Path,
        *settings: str,
        target: str = TARGET,
        wrapper: Sequence[str] = (),
        env: dict[str, str] | None = None,
        name: str = "replica",
    ) -> None:
        self.name = name
        self.http_port = free_port()
        self.grpc_port = free_port()
        self.log_path = log_path
        self.url = f"http://127.0.0.1:{self.http_port}"
        overrides = [
            "http.host=127.0.0.1",
            f"http.port={self.http_port}",
            "grpc.host=127.0.0.1",
            f"grpc.port={self.grpc_port}",
            "logging.format=json",
            *settings,
        ]
        self.command = [*wrapper, MICROLIB, "run", target]
        for item in overrides:
            self.command += ["--set", item]
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "codegen")]),
            **(env or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Replica:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=self.env
            )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def ready(self) -> bool:
        """Whether ``/health/ready`` answers 200 now."""
        try:
            return httpx.get(f"{self.url}/health/ready", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            assert self.process.poll() is None, self.output()
            if self.ready():
                return
            time.sleep(0.05)
        raise AssertionError(f"{self.name} never became ready:\n{self.output()}")

    def terminate(self) -> None:
        """SIGTERM, as the kubelet sends it."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float = 60) -> int:
        assert self.process is not None
        return self.process.wait(timeout=timeout)

    def kill(self) -> None:
        """Make sure it is gone (tests' clean-up)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def events(self) -> list[dict[str, Any]]:
        """The JSON log lines, in order (other lines are left out)."""
        found = []
        for line in self.output().splitlines():
            if line.startswith("{"):
                found.append(json.loads(line))
        return found


@pytest.fixture
def replicas() -> Iterator[list[Replica]]:
    """A list to put the test's replicas in; each is killed at the end if still running."""
    started: list[Replica] = []
    yield started
    for replica in started:
        replica.kill()
