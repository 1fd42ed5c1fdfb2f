"""`./microlib.yaml` is read without --config, below --config files, the environment and --set."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from microlib.cli.run import config_files
from tests.cli.conftest import ROOT, microlib

SERVICE = """
from microlib.config import Section
from microlib import Service


class AppSettings(Section):
    greeting: str = "hello"
    farewell: str = "bye"
    name: str = "ann"


service = Service("greeter", sections={"app": AppSettings})
"""


def _project(tmp_path: Path) -> Path:
    (tmp_path / "greeter.py").write_text(SERVICE)
    (tmp_path / "microlib.yaml").write_text("app:\n  greeting: hi\n  farewell: ciao\n  name: bob\n")
    return tmp_path


def test_config_show_reads_microlib_yaml_with_documented_precedence(tmp_path: Path) -> None:
    """microlib.yaml < --config < environment < --set, each value naming its source."""
    project = _project(tmp_path)
    (project / "extra.yaml").write_text("app:\n  farewell: adieu\n  name: eve\n")
    result = microlib(
        "config", "show", "greeter:service", "--config", "extra.yaml", "--set", "app.name=zoe",
        cwd=project, env={"MICROLIB__APP__NAME": "max"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    shown = {" ".join(line.split()) for line in result.stdout.splitlines()}
    assert "greeting: hi # microlib.yaml:2" in shown
    assert "farewell: adieu # extra.yaml:2" in shown
    assert "name: zoe # --set app.name=..." in shown


def test_run_serves_with_the_settings_of_microlib_yaml(tmp_path: Path) -> None:
    """`microlib run` with no --config listens where ./microlib.yaml says."""
    project = _project(tmp_path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (project / "microlib.yaml").write_text(f"http:\n  host: 127.0.0.1\n  port: {port}\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "microlib.cli", "run", "greeter:service"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    try:
        for _ in range(400):
            assert process.poll() is None, process.communicate()[0]
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        else:
            raise AssertionError("the service never listened on the port microlib.yaml gives")
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    assert process.returncode == 0


def test_make_run_passes_args_through() -> None:
    """`make run ARGS="--set http.port=9000"` reaches `microlib run` (dry run: nothing is installed)."""
    dry = subprocess.run(
        ["make", "--no-print-directory", "-n", "run", "ARGS=--set http.port=9000"],
        cwd=ROOT,
        # Under `make test` the outer make's variables would reach this one (and its directory lines).
        env={k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MAKELEVEL", "MFLAGS"}},
        capture_output=True,
        text=True,
        check=True,
    )
    assert dry.stdout.splitlines()[-1].endswith(
        "microlib run examples.bookshop.main:service --set http.port=9000"
    )


def test_microlib_yaml_is_read_once_when_also_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--config microlib.yaml` (as `microlib new`'s Makefile passes it) keeps the order given."""
    monkeypatch.chdir(tmp_path)
    assert config_files(["extra.yaml"]) == ["extra.yaml"]
    (tmp_path / "microlib.yaml").write_text("{}\n")
    assert config_files(["extra.yaml"]) == ["microlib.yaml", "extra.yaml"]
    assert config_files(["extra.yaml", "./microlib.yaml"]) == ["extra.yaml", "./microlib.yaml"]
