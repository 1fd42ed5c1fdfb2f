"""The key prefix every cache implementation puts before its keys.

A module of its own, below both: :mod:`microlib.data.cache`'s factory imports
:mod:`microlib.data.redis_cache`, which would otherwise import it back.
"""

from __future__ import annotations

__all__ = ["make_prefix"]


def make_prefix(namespace: str, version: str) -> str:
    """The key prefix of a namespace and version: ``bookshop:1:``."""
    return f"{namespace}:{version}:"
