"""``capture_logs``: the log events a service wrote, as dicts, after microlib's processors."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from structlog.typing import EventDict, WrappedLogger

from microlib.observability.logging import LogPipeline

__all__ = ["capture_logs"]


@contextlib.contextmanager
def capture_logs(pipeline: LogPipeline) -> Iterator[list[dict[str, Any]]]:
    """Collect every event logged in the block, structlog's and stdlib's alike.

    Each entry is the event as it would be rendered: with ``level``,
    ``logger``, ``timestamp``, service fields, trace ids and contextvars,
    and with secrets already redacted. Level filtering applies as in
    production, so a change of level is observable.

    Args:
        pipeline: The service's log pipeline (``observability.logs``).

    Returns:
        The list the events are appended to, in order.
    """
    entries: list[dict[str, Any]] = []

    def capture(_: WrappedLogger, __: str, event_dict: EventDict) -> str:
        entries.append(dict(event_dict))
        return ""

    handler = logging.Handler()
    handler.setFormatter(pipeline.formatter(capture))
    handler.emit = handler.format  # type: ignore[method-assign,assignment]
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield entries
    finally:
        root.removeHandler(handler)
