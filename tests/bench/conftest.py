"""The bench scripts' smoke run starts with the session and is checked last.

Run with the rest of the suite, tests/bench/test_scripts.py's scripts (two minutes of
benchmarks, mostly CPU) start in the background as the session begins, at low priority,
and the module's tests move to the end of the session, by when the scripts have finished
on the core the suite's one-at-a-time tests leave idle.
"""

from __future__ import annotations

import pytest

from tests.bench import test_scripts


@pytest.hookimpl(trylast=True)  # after `-k`, `-m` and the other plugins have chosen the tests
def pytest_collection_modifyitems(session: pytest.Session, items: list[pytest.Item]) -> None:
    scripts = [
        item
        for item in items
        if isinstance(item, pytest.Function) and item.originalname == "test_script_runs_and_reports"
    ]
    if not scripts or len(scripts) == len(items) or session.config.option.collectonly:
        return
    items[:] = [item for item in items if item not in scripts] + scripts
    test_scripts.background = test_scripts.Background([item.callspec.params["name"] for item in scripts])


def pytest_sessionfinish(session: pytest.Session) -> None:
    if test_scripts.background is not None:
        test_scripts.background.cancel()
