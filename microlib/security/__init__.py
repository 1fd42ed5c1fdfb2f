"""microlib.security: authentication, authorization and secrets."""

from __future__ import annotations

__all__: list[str] = []
