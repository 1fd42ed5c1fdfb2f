"""Fixtures every test shares."""

from __future__ import annotations

import logging
import os
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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run in parallel (``-n``, ``--dist loadgroup``) without two workers sharing a server.

    Connected tests share the machine's brokers and databases: a message published to an
    address in one test would reach a queue another test bound to the same address. They all
    run on one worker. Every other test stays with its file, so a module's fixtures (generated
    code, a served example) are built once.
    """
    for item in items:
        group = "servers" if item.get_closest_marker("connected") else item.nodeid.partition("::")[0]
        item.add_marker(pytest.mark.xdist_group(group))


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
