"""microlib.data: the database, transactions, migrations and cache.

``RedisCache`` lives in :mod:`microlib.data.redis_cache` (``microlib[redis]``).
The migration names are imported on first use: Alembic takes a noticeable
part of a second to import, and a running service rarely needs it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from microlib.config.model import CacheSettings, DatabaseSettings
from microlib.data.cache import Cache, MemoryCache, open_cache
from microlib.data.cache_aside import CacheAside
from microlib.data.database import Database
from microlib.data.errors import map_db_errors
from microlib.data.seed import SeedFunction, run_seed
from microlib.data.transaction import Transaction
from microlib.data.typed_cache import TypedCache
from microlib.data.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from microlib.data.migrations import MigrationError, Migrations, Revision

__all__ = [
    "Cache",
    "CacheAside",
    "CacheSettings",
    "Database",
    "DatabaseSettings",
    "MemoryCache",
    "MigrationError",
    "Migrations",
    "Revision",
    "SeedFunction",
    "Transaction",
    "TypedCache",
    "UnitOfWork",
    "map_db_errors",
    "open_cache",
    "run_seed",
]

_LAZY = {"MigrationError", "Migrations", "Revision"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module("microlib.data.migrations"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
