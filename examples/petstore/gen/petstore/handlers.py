# Generated from examples/petstore/contracts/petstore.yaml by microlib-codegen 0.1.0. DO NOT EDIT.
# source sha256: fdc4529a543b23880a72f1b739441f9c911948c8f50b7c93986fc68ec09085d5
"""Typed handler interfaces of Pet store 1.0.0, one Protocol per tag.

Implement them in your own package (``microlib codegen`` writes a stub per
tag once); a method's keyword arguments are the validated parameters and
``body``, and it returns the response model or a ``Reply``.
"""

from __future__ import annotations

from types import ModuleType
from typing import ClassVar, Protocol, cast

from microlib.http.openapi import Reply

from . import models, operations

__all__ = ['PetsApi', 'StoreApi']



class PetsApi(Protocol):
    """Operations tagged ``pets``."""

    # What service.include(...) reads: the document's operations (set below) and this tag.
    __microlib_openapi__: ClassVar[ModuleType] = cast("ModuleType", None)
    __microlib_openapi_tag__: ClassVar[str] = 'pets'

    async def list_pets(
        self,
        *,
        status: models.PetStatus | None = None,
        limit: int = 20,
    ) -> models.PetPage | Reply:
        """List pets, oldest first"""
        ...

    async def add_pet(
        self,
        *,
        body: models.NewPet,
    ) -> models.Pet | Reply:
        """Put a pet up for sale"""
        ...

    async def get_pet(
        self,
        *,
        pet_id: int,
    ) -> models.Pet | Reply:
        """Read one pet"""
        ...

    async def delete_pet(
        self,
        *,
        pet_id: int,
    ) -> Reply | None:
        """Take a pet off sale"""
        ...


class StoreApi(Protocol):
    """Operations tagged ``store``."""

    # What service.include(...) reads: the document's operations (set below) and this tag.
    __microlib_openapi__: ClassVar[ModuleType] = cast("ModuleType", None)
    __microlib_openapi_tag__: ClassVar[str] = 'store'

    async def get_inventory(
        self,
    ) -> models.GetInventoryResponse200 | Reply:
        """How many pets there are of each status"""
        ...

    async def place_order(
        self,
        *,
        body: models.NewOrder,
    ) -> models.Order | Reply:
        """Order a pet that is available"""
        ...

    async def get_order(
        self,
        *,
        order_id: int,
    ) -> models.Order | Reply:
        """Read one order"""
        ...

PetsApi.__microlib_openapi__ = operations
StoreApi.__microlib_openapi__ = operations
