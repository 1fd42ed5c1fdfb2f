# Generated from examples/petstore/contracts/petstore.yaml by microlib-codegen 0.1.0. DO NOT EDIT.
# source sha256: fdc4529a543b23880a72f1b739441f9c911948c8f50b7c93986fc68ec09085d5
"""The operations of Pet store 1.0.0, for ``microlib.http.OpenAPIApp``."""

from __future__ import annotations

from pathlib import Path

from microlib.http.openapi import Body, Operation, Parameter, Response

from . import models

SPEC_PATH = Path(__file__).with_name("openapi.json")
TITLE = 'Pet store'
VERSION = '1.0.0'
PREFIX = '/v1'
"""Where ``service.include(...)`` serves these operations: the path of the document's first server."""

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        operation_id='listPets',
        method='GET',
        path='/pets',
        tag='pets',
        handler='list_pets',
        parameters=(
            Parameter(
                name='status',
                location='query',
                arg='status',
                required=False,
                style='form',
                explode=True,
                shape='primitive',
                scalar='string',
                properties={},
            ),
            Parameter(
                name='limit',
                location='query',
                arg='limit',
                required=False,
                style='form',
                explode=True,
                shape='primitive',
                scalar='integer',
                properties={},
            ),
        ),
        query_model=models.ListPetsQueryParams,
        responses=(
            Response('200', 'application/json', models.PetPage),
        ),
        security=None,
    ),
    Operation(
        operation_id='addPet',
        method='POST',
        path='/pets',
        tag='pets',
        handler='add_pet',
        parameters=(
        ),
        body=Body(
            required=True,
            media={
                'application/json': models.NewPet,
            },
        ),
        responses=(
            Response('201', 'application/json', models.Pet),
            Response('400', 'application/problem+json', models.Problem),
        ),
        security=None,
    ),
    Operation(
        operation_id='getPet',
        method='GET',
        path='/pets/{petId}',
        tag='pets',
        handler='get_pet',
        parameters=(
            Parameter(
                name='petId',
                location='path',
                arg='pet_id',
                required=True,
                style='simple',
                explode=False,
                shape='primitive',
                scalar='integer',
                properties={},
            ),
        ),
        path_model=models.GetPetPathParams,
        responses=(
            Response('200', 'application/json', models.Pet),
            Response('404', 'application/problem+json', models.Problem),
        ),
        security=None,
    ),
    Operation(
        operation_id='deletePet',
        method='DELETE',
        path='/pets/{petId}',
        tag='pets',
        handler='delete_pet',
        parameters=(
            Parameter(
                name='petId',
                location='path',
                arg='pet_id',
                required=True,
                style='simple',
                explode=False,
                shape='primitive',
                scalar='integer',
                properties={},
            ),
        ),
        path_model=models.DeletePetPathParams,
        responses=(
            Response('204', None, None),
            Response('404', 'application/problem+json', models.Problem),
        ),
        security=None,
    ),
    Operation(
        operation_id='getInventory',
        method='GET',
        path='/store/inventory',
        tag='store',
        handler='get_inventory',
        parameters=(
        ),
        responses=(
            Response('200', 'application/json', models.GetInventoryResponse200),
        ),
        security=None,
    ),
    Operation(
        operation_id='placeOrder',
        method='POST',
        path='/store/orders',
        tag='store',
        handler='place_order',
        parameters=(
        ),
        body=Body(
            required=True,
            media={
                'application/json': models.NewOrder,
            },
        ),
        responses=(
            Response('201', 'application/json', models.Order),
            Response('400', 'application/problem+json', models.Problem),
        ),
        security=None,
    ),
    Operation(
        operation_id='getOrder',
        method='GET',
        path='/store/orders/{orderId}',
        tag='store',
        handler='get_order',
        parameters=(
            Parameter(
                name='orderId',
                location='path',
                arg='order_id',
                required=True,
                style='simple',
                explode=False,
                shape='primitive',
                scalar='integer',
                properties={},
            ),
        ),
        path_model=models.GetOrderPathParams,
        responses=(
            Response('200', 'application/json', models.Order),
            Response('404', 'application/problem+json', models.Problem),
        ),
        security=None,
    ),
)
