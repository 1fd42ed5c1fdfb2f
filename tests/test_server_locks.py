"""The lock a test takes before it stops a shared server (tests/conftest.py)."""

from __future__ import annotations

import fcntl
import threading
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests import conftest


def test_a_test_waiting_to_stop_servers_goes_before_the_scripts_that_come_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A benchmark script holds the servers (shared) while a test waits to stop them
    (exclusive); a second script arriving then waits behind the test instead of joining the
    first, or a stream of scripts would hold the test back until the last one ended."""
    monkeypatch.setattr(conftest, "SERVERS_UP_LOCK", tmp_path / "up.lock")
    monkeypatch.setattr(conftest, "SERVERS_UP_DOOR", tmp_path / "up.door")
    order: list[str] = []
    second_script_in = threading.Event()

    def take(name: str, mode: int, entered: threading.Event | None = None) -> None:
        with ExitStack() as held:
            conftest.hold_servers_up(held, mode)
            order.append(name)
            if entered is not None:
                entered.set()

    with ExitStack() as first_script:
        conftest.hold_servers_up(first_script, fcntl.LOCK_SH)
        stopper = threading.Thread(target=take, args=("test stopping servers", fcntl.LOCK_EX))
        stopper.start()
        for _ in range(500):  # until the test is at the door, waiting for the first script
            if _locked(tmp_path / "up.door"):
                break
            stopper.join(0.01)
        second = threading.Thread(target=take, args=("second script", fcntl.LOCK_SH, second_script_in))
        second.start()
        second_script_in.wait(1)  # before the fix it joined the first script at once
    stopper.join(10)
    second.join(10)

    assert order == ["test stopping servers", "second script"]


def _locked(path: Path) -> bool:
    if not path.exists():
        return False
    with path.open("a") as probe:
        try:
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(probe, fcntl.LOCK_UN)
        return False
