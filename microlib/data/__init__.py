"""microlib.data: the database, transactions, migrations and cache.

``RedisCache`` lives in :mod:`microlib.data.redis_cache` (``microlib[redis]``).
The migration names are imported on first use: Alembic takes a noticeable
part of a second to import, and a running service rarely needs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from microlib.core._lazy import lazy_exports

if TYPE_CHECKING:
    from microlib.config.model import CacheSettings, DatabaseSettings
    from microlib.data.cache import Cache, MemoryCache, open_cache
    from microlib.data.cache_aside import CacheAside
    from microlib.data.database import Database
    from microlib.data.errors import map_db_errors
    from microlib.data.migrations import MigrationError, Migrations, Revision
    from microlib.data.seed import SeedFunction, run_seed
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
    "Revision",
    "SeedFunction",
    "Transaction",
    "TypedCache",
    "UnitOfWork",
    "map_db_errors",
    "open_cache",
    "run_seed",
]

# Each name is imported on first use: importing the package loads none of its modules.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "Cache": "microlib.data.cache",
        "CacheAside": "microlib.data.cache_aside",
        "CacheSettings": "microlib.config.model",
        "Database": "microlib.data.database",
        "DatabaseSettings": "microlib.config.model",
        "MemoryCache": "microlib.data.cache",
        "MigrationError": "microlib.data.migrations",
        "Migrations": "microlib.data.migrations",
        "Revision": "microlib.data.migrations",
        "SeedFunction": "microlib.data.seed",
        "Transaction": "microlib.data.transaction",
        "TypedCache": "microlib.data.typed_cache",
        "UnitOfWork": "microlib.data.unit_of_work",
        "map_db_errors": "microlib.data.errors",
        "open_cache": "microlib.data.cache",
        "run_seed": "microlib.data.seed",
    },
)
