"""Fixtures for the observability tests: a real OTLP receiver and a clean logging state."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

import pytest
import structlog

from tests.observability.helpers import MADE, OtlpReceiver, otlp_receiver


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    """Each test installs its own pipeline; leave no handler or level behind."""
    MADE.clear()
    yield
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == "microlib":
            root.removeHandler(handler)
    root.setLevel(logging.WARNING)
    for name, logger in logging.Logger.manager.loggerDict.items():
        if isinstance(logger, logging.Logger) and name.startswith(("microlib", "demo", "sqlalchemy")):
            logger.setLevel(logging.NOTSET)
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[OtlpReceiver, str]]:
    """A real OTLP/gRPC trace receiver on loopback and its endpoint URL."""
    async with otlp_receiver() as running:
        yield running
        while MADE:
            await MADE.pop().tracing.shutdown(2.0)
