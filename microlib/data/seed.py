"""Seed data: a user function run in one transaction by ``microlib db seed``."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

    from microlib.data.database import Database

__all__ = ["SeedFunction", "load_seed", "run_seed"]

SeedFunction = Callable[["AsyncSession"], Awaitable[Any]]
"""``async def seed(session)``: writes the rows every environment needs.

It runs each time ``microlib db seed`` does, so it must be idempotent:
``await session.merge(Model(id=1, ...))`` inserts or updates by primary
key, and a check-then-insert is safe because it runs in one transaction.
"""


def load_seed(target: str) -> SeedFunction:
    """Import ``package.module:function``.

    Raises:
        ValueError: naming what could not be found.
    """
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"seed {target!r} must look like 'package.module:function'")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ValueError(f"seed {target!r}: cannot import module {module_name!r} ({exc})") from None
    function = getattr(module, attribute, None)
    if not callable(function):
        raise ValueError(f"seed {target!r}: module {module_name!r} has no function {attribute!r}")
    seed: SeedFunction = function
    return seed


async def run_seed(database: Database, seed: SeedFunction) -> None:
    """Run ``seed`` in one transaction: all of its rows, or none.

    Raises:
        microlib.core.errors.Error: database errors, mapped.
    """
    async with database.transaction() as session:
        await seed(session)
