"""Fixtures: a Kafka-compatible broker (noida-db) for the session, started when none runs."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

KAFKA_ENV = "MICROLIB_TEST_KAFKA"
"""Set to ``host:port`` to use a Kafka that is already running instead."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _noida() -> str:
    found = shutil.which("noida-db", path=str(Path(sys.executable).parent)) or shutil.which("noida-db")
    if found is None:
        pytest.fail(
            "noida-db is not installed: pip install -r requirements/test-servers.txt (make install does)"
        )
    return found


@contextmanager
def noida(port: int, data: Path) -> Iterator[str]:
    """A noida-db Kafka listening on ``port`` with its data in ``data`` meanwhile (started
    again on the same both, it keeps its topics and offsets); its ``host:port``."""
    log = (data / "noida.log").open("ab")
    process = subprocess.Popen(
        [_noida(), "start", "--only", "kafka", "--kafka-port", str(port), "--data-dir", str(data)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not _listening(port):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"noida-db did not start: {(data / 'noida.log').read_text(errors='replace')}")
            time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        log.close()


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``host:port`` of a Kafka-compatible broker: $MICROLIB_TEST_KAFKA, or a noida-db
    started for this session on a free port and stopped after it."""
    given = os.environ.get(KAFKA_ENV)
    if given:
        yield given
        return
    with noida(_free_port(), tmp_path_factory.mktemp("noida")) as bootstrap:
        yield bootstrap
