"""microlib.data: the database, transactions, migrations and cache."""

from __future__ import annotations

from microlib.data.database import Database
from microlib.data.errors import map_db_errors
from microlib.data.settings import CacheSettings, DatabaseSettings
from microlib.data.transaction import Transaction
from microlib.data.unit_of_work import UnitOfWork

__all__ = [
    "CacheSettings",
    "Database",
    "DatabaseSettings",
    "Transaction",
    "UnitOfWork",
    "map_db_errors",
]
