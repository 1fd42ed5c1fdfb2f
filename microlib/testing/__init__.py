"""microlib.testing: run services in tests, in-process, on embedded defaults."""

from __future__ import annotations

from microlib.testing.logs import capture_logs
from microlib.testing.service import TestService

__all__ = ["TestService", "capture_logs"]
