"""An in-memory implementation of the Pet Store document (3.1)."""

from __future__ import annotations

import datetime
import uuid
from typing import Literal

from microlib.core.errors import NotFound
from microlib.http.openapi import Reply
from tests.http.gen.store31 import models
from tests.http.gen.store31.handlers import PetsApi, StoreApi

_EPOCH = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


class Pets(PetsApi):
    """Pets kept in a dict; every call is recorded in ``calls``."""

    def __init__(self) -> None:
        self.pets: dict[int, models.Pet] = {}
        self.calls: list[tuple[str, dict[str, object]]] = []

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
        """List the stored pets, recording the arguments."""
        self.calls.append(
            (
                "listPets",
                {
                    "limit": limit,
                    "kind": kind,
                    "tags": tags,
                    "filter": filter,
                    "x_request_tag": x_request_tag,
                    "session": session,
                },
            )
        )
        items = list(self.pets.values())[:limit]
        return Reply(models.PetPage(items=items, next=None), headers={"X-Total": str(len(self.pets))})

    async def create_pet(self, *, body: models.NewPet) -> models.Pet | Reply:
        """Store a pet under the next id."""
        pet = models.Pet(id=len(self.pets) + 1, pet=body, createdAt=_EPOCH)
        self.pets[pet.id] = pet
        return Reply(pet, status=201)

    async def get_pet(self, *, pet_id: int) -> models.Pet | Reply:
        """One pet, or NotFound."""
        if pet_id not in self.pets:
            raise NotFound(f"no pet {pet_id}")
        return self.pets[pet_id]

    async def delete_pet(self, *, pet_id: int, x_reasons: list[str] | None = None) -> Reply | None:
        """Delete a pet."""
        self.calls.append(("deletePet", {"pet_id": pet_id, "x_reasons": x_reasons}))
        self.pets.pop(pet_id, None)
        return Reply(status=204)

    async def get_pet_photo(
        self, *, pet_id: int, size: Literal["small", "large"], crop: list[int] | None = None
    ) -> bytes | Reply:
        """Bytes naming the arguments."""
        return f"{pet_id}:{size}:{crop}".encode()


class Store(StoreApi):
    """Orders kept in a list."""

    def __init__(self) -> None:
        self.orders: list[models.Order] = []

    async def place_order(self, *, body: models.Order) -> models.Order | Reply:
        """Accept an order."""
        order = body.model_copy(
            update={"id": uuid.UUID(int=len(self.orders) + 1), "status": models.OrderStatus.PLACED}
        )
        self.orders.append(order)
        return Reply(order, status=201)

    async def get_inventory(self, *, skus: list[str] | None = None) -> models.GetInventoryResponse200 | Reply:
        """Stock of each SKU asked for."""
        return models.GetInventoryResponse200(dict.fromkeys(skus or ["ABC-0001"], 3))
