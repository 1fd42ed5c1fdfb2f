"""microlib.testing: the public test harness."""

from __future__ import annotations

from microlib.testing.logs import capture_logs

__all__ = ["capture_logs"]
