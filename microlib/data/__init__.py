"""microlib.data: the database, migrations and cache (issue 8)."""

from __future__ import annotations

__all__: list[str] = []
