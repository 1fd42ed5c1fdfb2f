"""Fixtures every test shares."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import structlog


@pytest.fixture(autouse=True)
def _fresh_logging() -> Iterator[None]:
    """A service's log pipeline configures structlog and the root logger for
    the whole process; each test starts from the defaults instead of the
    levels and wrapper the previous test's service left behind."""
    yield
    structlog.reset_defaults()
    logging.getLogger().setLevel(logging.WARNING)
