"""microlib.testing: run services in tests, in-process, on embedded defaults."""

from __future__ import annotations

from microlib.testing.jobs import JobsHarness
from microlib.testing.logs import capture_logs
from microlib.testing.messages import Messages, Published
from microlib.testing.service import TestService
from microlib.testing.spans import Spans

__all__ = ["JobsHarness", "Messages", "Published", "Spans", "TestService", "capture_logs"]
