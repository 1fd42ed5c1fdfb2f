"""The pet store's state: pets and orders, in memory (one process, one event loop)."""

from __future__ import annotations

import itertools

from examples.petstore.gen.petstore import models
from microlib.core.errors import NotFound


class Shelter:
    """The pets for sale and the orders placed, with their ids."""

    def __init__(self) -> None:
        self.pets: dict[int, models.Pet] = {}
        self.orders: dict[int, models.Order] = {}
        self._pet_ids = itertools.count(1)
        self._order_ids = itertools.count(1)

    def add(self, pet: models.NewPet) -> models.Pet:
        tags = [tag.root for tag in pet.tags] if isinstance(pet.tags, list) else []
        added = models.Pet(
            id=next(self._pet_ids),
            name=pet.name,
            category=pet.category,
            tags=tags,
            status=models.PetStatus.AVAILABLE,
        )
        self.pets[added.id] = added
        return added

    def pet(self, pet_id: int) -> models.Pet:
        try:
            return self.pets[pet_id]
        except KeyError:
            raise NotFound(f"no pet {pet_id}", reason="PET_NOT_FOUND") from None

    def order(self, pet_id: int) -> models.Order:
        placed = models.Order(id=next(self._order_ids), petId=pet_id, status=models.Status.PLACED)
        self.orders[placed.id] = placed
        return placed
