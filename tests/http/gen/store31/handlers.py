# Generated from openapi.yaml by microlib-codegen 0.1.0. DO NOT EDIT.
# source sha256: 49917a4b923a92efbfb2f159e6804d61d8240c6659e3208ab6db1e9912856f70
"""Typed handler interfaces of Pet Store 1.2.0, one Protocol per tag.

Implement them in your own package (``microlib codegen`` writes a stub per
tag once); a method's keyword arguments are the validated parameters and
``body``, and it returns the response model or a ``Reply``.
"""

from __future__ import annotations

from types import ModuleType
from typing import ClassVar, Literal, Protocol, cast

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
        limit: int = 20,
        kind: list[models.PetKind] | None = None,
        tags: list[str] | None = None,
        filter: models.ListPetsFilter | None = None,
        x_request_tag: str | None = None,
        session: str | None = None,
    ) -> models.PetPage | Reply:
        """List pets, filtered and paged"""
        ...

    async def create_pet(
        self,
        *,
        body: models.NewPet,
    ) -> models.Pet | Reply:
        """POST /pets"""
        ...

    async def get_pet(
        self,
        *,
        pet_id: int,
    ) -> models.Pet | Reply:
        """GET /pets/{petId}"""
        ...

    async def delete_pet(
        self,
        *,
        pet_id: int,
        x_reasons: list[str] | None = None,
    ) -> Reply | None:
        """DELETE /pets/{petId}"""
        ...

    async def get_pet_photo(
        self,
        *,
        pet_id: int,
        size: Literal['small', 'large'],
        crop: list[int] | None = None,
    ) -> bytes | Reply:
        """GET /pets/{petId}/photos/{size}"""
        ...


class StoreApi(Protocol):
    """Operations tagged ``store``."""

    # What service.include(...) reads: the document's operations (set below) and this tag.
    __microlib_openapi__: ClassVar[ModuleType] = cast("ModuleType", None)
    __microlib_openapi_tag__: ClassVar[str] = 'store'

    async def place_order(
        self,
        *,
        body: models.Order,
    ) -> models.Order | Reply:
        """POST /store/orders"""
        ...

    async def get_inventory(
        self,
        *,
        skus: list[str] | None = None,
    ) -> models.GetInventoryResponse200 | Reply:
        """GET /store/inventory"""
        ...

PetsApi.__microlib_openapi__ = operations
StoreApi.__microlib_openapi__ = operations
