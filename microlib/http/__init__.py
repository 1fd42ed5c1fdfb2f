"""microlib.http."""

from __future__ import annotations
