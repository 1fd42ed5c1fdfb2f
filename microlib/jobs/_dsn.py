"""The form of a PostgreSQL URL asyncpg takes, in a module of its own so the
store protocol, the stores and the lease can all import it without importing
one another."""

from __future__ import annotations

__all__ = ["asyncpg_dsn"]


def asyncpg_dsn(url: str) -> str:
    """``url`` as asyncpg takes it: SQLAlchemy's ``postgresql+asyncpg://`` is ``postgresql://``."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)
