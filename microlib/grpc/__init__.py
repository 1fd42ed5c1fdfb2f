"""microlib.grpc."""

from __future__ import annotations
