"""microlib.http."""

from __future__ import annotations

from microlib.http.client import TracedTransport, traced_client

__all__ = ["TracedTransport", "traced_client"]
