"""Fixtures every test shares."""

from __future__ import annotations

import fcntl
import logging
import os
import tempfile
from collections.abc import Iterator
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


@pytest.fixture(autouse=True)
def _connected_tests_take_turns(request: pytest.FixtureRequest) -> Iterator[None]:
    """Connected tests share the machine's servers: a message one publishes to an address would
    reach a queue another bound to it, and one restarts RabbitMQ under the others. Run in
    parallel (``make test``: pytest-xdist), they take turns on a lock every process shares;
    the other tests run beside them."""
    if request.node.get_closest_marker("connected") is None:
        yield
        return
    with CONNECTED_LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


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
