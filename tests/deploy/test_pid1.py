"""`microlib run` as PID 1, as the image's ENTRYPOINT runs it in a container.

The kernel shields a PID namespace's init from signals it has no handler for,
so a PID 1 that relies on the default action of SIGTERM never stops. The
service runs here in a new PID namespace (``unshare``), as a container
runtime would start it.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

import httpx

from tests.scale.replica import Replica

# As root (CI and the development machines) a PID namespace needs no user
# namespace; elsewhere map the user to root inside one.
UNSHARE = ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"]
if os.geteuid() != 0:
    UNSHARE[1:1] = ["--user", "--map-root-user"]


def _init_of(replica: Replica) -> int:
    """The host pid of the namespace's PID 1: unshare's one child."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        children = Path(f"/proc/{replica.pid}/task/{replica.pid}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.01)
    raise AssertionError("unshare started no child")


def _children(pid: int) -> list[str]:
    return [
        child
        for task in Path(f"/proc/{pid}/task").iterdir()
        for child in (task / "children").read_text().split()
    ]


def _namespace_pids(pid: int) -> list[str]:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("NSpid:"):
            return line.split()[1:]
    raise AssertionError("no NSpid line")


def test_pid1_drains_on_sigterm_and_exits_zero(tmp_path: Path, replicas: list[Replica]) -> None:
    """As PID 1, SIGTERM flips readiness, waits the drain delay, drains and
    exits 0; microlib starts no child process, so it leaves no zombie to reap."""
    assert shutil.which("unshare")
    replica = Replica(tmp_path / "pid1.log", "shutdown.drain_delay=1", wrapper=UNSHARE).start()
    replicas.append(replica)
    replica.wait_ready()
    init = _init_of(replica)
    assert _namespace_pids(init)[-1] == "1"
    for _ in range(20):  # traffic on both transports before looking for children
        assert httpx.get(f"{replica.url}/v1/books/1", timeout=5).status_code == 200
    assert _children(init) == []

    os.kill(init, signal.SIGTERM)  # the runtime signals the container's PID 1 from outside
    time.sleep(0.3)
    during_delay = httpx.get(f"{replica.url}/health/ready", timeout=5)
    assert during_delay.status_code == 503
    assert during_delay.json()["phase"] == "stopping"
    assert httpx.get(f"{replica.url}/health/live", timeout=5).status_code == 200
    assert replica.wait(timeout=40) == 0, replica.output()
    events = [e["event"] for e in replica.events()]
    assert (
        events.index("signal received") < events.index("shutdown started") < events.index("service stopped")
    )


def test_pid1_stops_on_sigterm_while_importing_the_service(tmp_path: Path, replicas: list[Replica]) -> None:
    """A SIGTERM that reaches PID 1 while `microlib run` is still importing the
    service (a pod deleted during a rollout) stops it at once with status 143,
    instead of being dropped by the kernel until the grace period ends in a
    SIGKILL."""
    marker = tmp_path / "importing"
    replica = Replica(
        tmp_path / "early.log",
        target="tests.deploy.apps.slow_import:service",
        wrapper=UNSHARE,
        env={"SLOW_IMPORT_MARKER": str(marker)},
    ).start()
    replicas.append(replica)
    deadline = time.monotonic() + 30
    while not marker.exists():
        assert time.monotonic() < deadline, replica.output()
        time.sleep(0.02)
    os.kill(_init_of(replica), signal.SIGTERM)
    assert replica.wait(timeout=15) == 128 + signal.SIGTERM, replica.output()
