"""microlib.jobs: background jobs and the leader-elected scheduler (a later issue)."""

from __future__ import annotations

__all__: list[str] = []
