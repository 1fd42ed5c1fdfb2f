"""``capture_logs``: the log events a service wrote, as dicts, after microlib's processors."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from microlib.observability.logging import LogPipeline

__all__ = ["capture_logs"]


@contextlib.contextmanager
def capture_logs(pipeline: LogPipeline) -> Iterator[list[dict[str, Any]]]:
    """Collect every event logged in the block, structlog's and stdlib's alike.

    Each entry is the event as it is rendered: with ``level``, ``logger``,
    ``timestamp``, service fields, trace ids and contextvars, and with
    secrets already redacted. Level filtering applies as in production, so
    a change of level is observable. The lines are still written.

    Args:
        pipeline: The service's log pipeline (``observability.logs``).

    Returns:
        The list the events are appended to, in order.
    """
    with pipeline.tap() as entries:
        yield entries
