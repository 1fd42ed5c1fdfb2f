"""Handlers of the ``pets`` operations of Pet store.

Written once by ``microlib codegen``; this file is yours to edit.
"""

from __future__ import annotations

from examples.petstore.gen.petstore import models
from examples.petstore.gen.petstore.handlers import PetsApi
from examples.petstore.services.shelter import Shelter
from microlib.http.openapi import Reply


class Pets(PetsApi):
    """Implements the ``pets`` operations over the shelter."""

    def __init__(self, shelter: Shelter) -> None:
        self.shelter = shelter

    async def list_pets(
        self,
        *,
        status: models.PetStatus | None = None,
        limit: int = 20,
    ) -> models.PetPage | Reply:
        """List pets, oldest first"""
        matching = [pet for pet in self.shelter.pets.values() if status is None or pet.status == status]
        return models.PetPage(items=matching[:limit])

    async def add_pet(
        self,
        *,
        body: models.NewPet,
    ) -> models.Pet | Reply:
        """Put a pet up for sale"""
        pet = self.shelter.add(body)
        return Reply(pet, status=201, headers={"location": f"/v1/pets/{pet.id}"})

    async def get_pet(
        self,
        *,
        pet_id: int,
    ) -> models.Pet | Reply:
        """Read one pet"""
        return self.shelter.pet(pet_id)

    async def delete_pet(
        self,
        *,
        pet_id: int,
    ) -> Reply | None:
        """Take a pet off sale"""
        self.shelter.pet(pet_id)
        del self.shelter.pets[pet_id]
        return None
