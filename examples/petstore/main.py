"""The pet store example: OpenAPI-first only.

``make run EXAMPLE=examples.petstore.main:service`` serves it on embedded
defaults: the operations of ``contracts/petstore.yaml`` under ``/v1`` (the
document's server), its document at ``/v1/openapi.json`` and Swagger UI at
``/v1/docs``; probes and metrics as every microlib service.
"""

from __future__ import annotations

from examples.petstore.services.pets import Pets
from examples.petstore.services.shelter import Shelter
from examples.petstore.services.store import Store
from microlib import Service


def create_service() -> Service:
    """The pet store, wired: a new one on each call (each test starts its own)."""
    service = Service("petstore", version="1.0.0")
    shelter = Shelter()
    service.include(Pets(shelter))
    service.include(Store(shelter))
    return service


service = create_service()
