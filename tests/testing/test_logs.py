"""capture_logs: events as rendered, after microlib's processors."""

from __future__ import annotations

import io
import logging

import structlog

from microlib.config.model import Settings
from microlib.observability import Observability, ServiceIdentity
from microlib.observability.processors import REDACTED
from microlib.testing import capture_logs


def test_capture_logs_sees_processed_events() -> None:
    """Captured events have service fields and redaction applied, and respect levels."""
    settings = Settings.model_validate({"logging": {"format": "json"}})
    obs = Observability(settings, ServiceIdentity("orders"), log_stream=io.StringIO())
    try:
        with capture_logs(obs.logs) as events:
            structlog.get_logger("demo").info("paid", authorization="Bearer x")
            structlog.get_logger("demo").debug("not at info")
            logging.getLogger("demo.stdlib").warning("from stdlib")
        assert [e["event"] for e in events] == ["paid", "from stdlib"]
        assert events[0]["service"] == "orders"
        assert events[0]["authorization"] == REDACTED
        assert events[0]["level"] == "info"
    finally:
        root = logging.getLogger()
        root.removeHandler(obs.logs.handler)
        root.setLevel(logging.WARNING)
        structlog.reset_defaults()
