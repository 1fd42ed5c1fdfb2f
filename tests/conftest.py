"""Fixtures every test shares."""

from __future__ import annotations

import fcntl
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
import structlog

# `replicas`: `microlib run` subprocesses, killed at the end of each test. microlib's own
# plugin (running_service, http_client...) is registered by its entry point once microlib is
# installed; named here too for a checkout on PYTHONPATH (the same name: never registered twice).
pytest_plugins = ("tests.scale.replica", "microlib.testing.pytest_plugin")

# Tests read what the tools they run print (mypy, pytest, the TypeSpec compiler): a colour switch
# in the environment would wrap that output in escape codes. Tests about colour set it themselves.
for _switch in ("FORCE_COLOR", "PY_COLORS", "MYPY_FORCE_COLOR", "CLICOLOR_FORCE"):
    os.environ.pop(_switch, None)


# Held by the connected test running, whichever pytest process (an xdist worker) runs it.
CONNECTED_LOCK = Path(tempfile.gettempdir()) / "microlib-connected-tests.lock"

# Held shared by each benchmark script while it runs (tests/bench starts them in the background,
# outside the connected tests' turns, and they use the same RabbitMQ, Redis and PostgreSQL), and
# exclusively by a test marked `stops_servers`, so no script loses its broker under it.
SERVERS_UP_LOCK = Path(tempfile.gettempdir()) / "microlib-servers-up.lock"

# Passed through (held exclusively for a moment) on the way to SERVERS_UP_LOCK. flock gives a
# shared lock to each new script while the scripts before it still hold theirs, so a test waiting
# to stop a server waited for every script of the session (4.5 minutes of an idle worker once);
# holding this while it waits stops the next scripts at the door instead.
SERVERS_UP_DOOR = Path(tempfile.gettempdir()) / "microlib-servers-up.door"


@contextmanager
def flocked(path: Path, mode: int) -> Iterator[None]:
    """``path`` locked with ``flock`` in ``mode`` (``fcntl.LOCK_EX`` or ``LOCK_SH``) meanwhile."""
    with path.open("a") as lock:
        fcntl.flock(lock, mode)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def hold_servers_up(held: ExitStack, mode: int) -> None:
    """SERVERS_UP_LOCK taken in ``mode`` for as long as ``held`` is open, after whoever is already
    waiting for it (a test that stops a server does not wait for the scripts that come after it)."""
    with flocked(SERVERS_UP_DOOR, fcntl.LOCK_EX):
        held.enter_context(flocked(SERVERS_UP_LOCK, mode))


@pytest.fixture(autouse=True)
def _connected_tests_take_turns(request: pytest.FixtureRequest) -> Iterator[None]:
    """Connected tests share the machine's servers: a message one publishes to an address would
    reach a queue another bound to it, and one restarts RabbitMQ under the others. Run in
    parallel (``make test``: pytest-xdist), they take turns on a lock every process shares;
    the other tests run beside them. A test that stops a server first waits for the benchmark
    scripts using them (before its turn, so the other connected tests go on meanwhile)."""
    if request.node.get_closest_marker("connected") is None:
        yield
        return
    with ExitStack() as held:
        if request.node.get_closest_marker("stops_servers") is not None:
            hold_servers_up(held, fcntl.LOCK_EX)
        held.enter_context(flocked(CONNECTED_LOCK, fcntl.LOCK_EX))
        yield


@pytest.fixture(autouse=True)
def _fresh_logging() -> Iterator[None]:
    """A service's log pipeline configures structlog and the root logger for
    the whole process; each test starts from the defaults instead of the
    levels and wrapper the previous test's service left behind."""
    yield
    structlog.reset_defaults()
    logging.getLogger().setLevel(logging.WARNING)


@pytest.fixture(scope="session")
def mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A mypy cache for the session's type-checking tests: most of a cold run is the installed
    libraries' analysis, the same for every test that runs with the same options. Each test
    names a folder under it for its options (mypy revalidates every cached module against its
    source, so a shared cache never hides an error)."""
    return tmp_path_factory.mktemp("mypy-cache")
