"""microlib.messaging: brokers, consumers and the outbox (a later issue)."""

from __future__ import annotations

__all__: list[str] = []
