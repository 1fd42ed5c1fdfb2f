"""``microlib run --reload``: an edit to the service's code or contract is served by a restarted process."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cli.conftest import ROOT, microlib

APP = """
from typing import Any

from starlette.requests import Request

from microlib import Service

service = Service("reloaded")


@service.http.route("/")
async def index(request: Request) -> dict[str, Any]:
    return {{"answer": "{answer}"}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def eventually(url: str, expected: int | str, timeout: float = 90.0) -> None:
    """Poll ``url`` until it answers ``expected`` (a status, or the ``answer`` field),
    as the old process may still answer meanwhile."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError, ValueError, KeyError):
            response = httpx.get(url, timeout=2)
            last = response.status_code if isinstance(expected, int) else response.json()["answer"]
        if last == expected:
            return
        time.sleep(0.2)
    raise AssertionError(f"{url} answered {last!r}, not {expected!r}, within {timeout}s")


@contextlib.contextmanager
def reloading(
    project: Path, *args: str, stop: signal.Signals = signal.SIGTERM, to_group: bool = False
) -> Iterator[tuple[str, list[str]]]:
    """``microlib run --reload ARGS`` in ``project``; yields its base URL and, once it exited, its output.

    It runs in a process group of its own, as a terminal runs a command; it is stopped with ``stop``
    to the parent alone, or ``to_group``, to the whole group, as Ctrl-C sends SIGINT."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MICROLIB__")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "codegen")])
    settings = [f"http.port={port}", "http.host=127.0.0.1", "grpc.enabled=false"]
    parent = subprocess.Popen(
        [sys.executable, "-m", "microlib.cli", "run", *args, "--reload", *(f"--set={s}" for s in settings)],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        process_group=0,
    )
    output: list[str] = []
    try:
        yield f"http://127.0.0.1:{port}", output
    finally:
        if to_group:
            os.killpg(parent.pid, stop)
        else:
            parent.send_signal(stop)
        out, err = parent.communicate(timeout=60)
        output += [out, err]
    assert parent.returncode == 0, err


def test_an_edited_handler_is_served_after_the_restart(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(APP.format(answer="one"))
    with reloading(tmp_path, "app:service") as (url, output):
        eventually(f"{url}/", "one")
        (tmp_path / "app.py").write_text(APP.format(answer="two"))
        eventually(f"{url}/", "two")
    out, err = output
    assert "changed app.py; restarting" in err
    # The first child drained and stopped on SIGTERM, as in production; so did the second.
    assert out.count("service stopped") == 2, out


@pytest.mark.parametrize(
    ("stop", "to_group"),
    [
        # Ctrl-C reaches every process of the terminal's group.
        (signal.SIGINT, True),
        # The terminal closed: the parent alone is hung up on, the service in a group of its own.
        (signal.SIGHUP, False),
    ],
)
def test_the_terminal_stops_the_service_gracefully_once(
    tmp_path: Path, stop: signal.Signals, to_group: bool
) -> None:
    """The service under reload gets one signal, from the parent, and its graceful shutdown runs:
    not a second signal's immediate exit, nor left running when the parent is gone."""
    (tmp_path / "app.py").write_text(APP.format(answer="one"))
    with reloading(tmp_path, "app:service", stop=stop, to_group=to_group) as (url, output):
        eventually(f"{url}/", "one")
    out, err = output
    assert "second signal" not in out + err, out + err
    assert out.count("service stopped") == 1, out + err


def test_an_edited_contract_is_regenerated_then_served(tmp_path: Path) -> None:
    """In a project of `microlib new`, a tighter maxLength in the OpenAPI contract is enforced after
    the restart: codegen ran before the new process started."""
    created = microlib("new", "shop", "--template", "openapi", cwd=tmp_path)
    assert created.returncode == 0, created.stdout + created.stderr
    project = tmp_path / "shop"
    contract = project / "contracts" / "shop-api.yaml"
    with reloading(project) as (url, output):
        eventually(f"{url}/api/greetings/Annabel", 200)
        contract.write_text(contract.read_text().replace("maxLength: 64", "maxLength: 3"))
        eventually(f"{url}/api/greetings/Annabel", 400)
    assert "changed contracts/shop-api.yaml; restarting" in output[1]
    assert "max_length=3" in (project / "shop" / "gen" / "shop_api" / "models.py").read_text()
