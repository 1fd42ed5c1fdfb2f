"""Handlers of the ``store`` operations of Pet store.

Written once by ``microlib codegen``; this file is yours to edit.
"""

from __future__ import annotations

from collections import Counter

from examples.petstore.gen.petstore import models
from examples.petstore.gen.petstore.handlers import StoreApi
from examples.petstore.services.shelter import Shelter
from microlib.core.errors import FailedPrecondition, NotFound
from microlib.http.openapi import Reply


class Store(StoreApi):
    """Implements the ``store`` operations over the shelter."""

    def __init__(self, shelter: Shelter) -> None:
        self.shelter = shelter

    async def get_inventory(
        self,
    ) -> models.GetInventoryResponse200 | Reply:
        """How many pets there are of each status"""
        counts = Counter(pet.status.value for pet in self.shelter.pets.values())
        return models.GetInventoryResponse200(
            {status.value: counts[status.value] for status in models.PetStatus}
        )

    async def place_order(
        self,
        *,
        body: models.NewOrder,
    ) -> models.Order | Reply:
        """Order a pet that is available"""
        pet = self.shelter.pet(body.petId)
        if pet.status is not models.PetStatus.AVAILABLE:
            raise FailedPrecondition(
                f"pet {pet.id} is {pet.status.value}, not available", reason="PET_NOT_AVAILABLE"
            )
        self.shelter.pets[pet.id] = pet.model_copy(update={"status": models.PetStatus.PENDING})
        return Reply(self.shelter.order(pet.id), status=201)

    async def get_order(
        self,
        *,
        order_id: int,
    ) -> models.Order | Reply:
        """Read one order"""
        try:
            return self.shelter.orders[order_id]
        except KeyError:
            raise NotFound(f"no order {order_id}", reason="ORDER_NOT_FOUND") from None
