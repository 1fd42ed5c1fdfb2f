"""How the jobs code connects to PostgreSQL with asyncpg: the URL's form and a pool's size.

In a module of its own so the store protocol, the stores, the lease and the
taskiq queue can all import it without importing one another.
"""

from __future__ import annotations

__all__ = ["POOL_SIZE", "asyncpg_dsn"]

POOL_SIZE = {"min_size": 1, "max_size": 4}
"""One connection at first, a few under load: asyncpg's default (10 at once, and at most)
for each pool of each queue's broker held about 45 connections a replica of two queues."""


def asyncpg_dsn(url: str) -> str:
    """``url`` as asyncpg takes it: SQLAlchemy's ``postgresql+asyncpg://`` is ``postgresql://``."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)
