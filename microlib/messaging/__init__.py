"""microlib.messaging."""

from __future__ import annotations
