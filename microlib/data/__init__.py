"""microlib.data: the database, transactions, migrations and cache."""

from __future__ import annotations

from microlib.data.cache import Cache, MemoryCache, open_cache
from microlib.data.cache_aside import CacheAside
from microlib.data.database import Database
from microlib.data.errors import map_db_errors
from microlib.data.migrations import MigrationError, Migrations
from microlib.data.settings import CacheSettings, DatabaseSettings
from microlib.data.transaction import Transaction
from microlib.data.typed_cache import TypedCache
from microlib.data.unit_of_work import UnitOfWork

__all__ = [
    "Cache",
    "CacheAside",
    "CacheSettings",
    "Database",
    "DatabaseSettings",
    "MemoryCache",
    "MigrationError",
    "Migrations",
    "Transaction",
    "TypedCache",
    "UnitOfWork",
    "map_db_errors",
    "open_cache",
]
