# Generated from openapi.yaml by microlib-codegen 0.1.0. DO NOT EDIT.
# source sha256: 49917a4b923a92efbfb2f159e6804d61d8240c6659e3208ab6db1e9912856f70
"""The operations of Pet Store 1.2.0, for ``microlib.http.OpenAPIApp``."""

from __future__ import annotations

from pathlib import Path

from microlib.http.openapi import Body, Operation, Parameter, Response

from . import models

SPEC_PATH = Path(__file__).with_name("openapi.json")
TITLE = 'Pet Store'
VERSION = '1.2.0'
PREFIX = ''
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
            Parameter(
                name='kind',
                location='query',
                arg='kind',
                required=False,
                style='form',
                explode=True,
                shape='array',
                scalar='string',
                properties={},
            ),
            Parameter(
                name='tags',
                location='query',
                arg='tags',
                required=False,
                style='form',
                explode=False,
                shape='array',
                scalar='string',
                properties={},
            ),
            Parameter(
                name='filter',
                location='query',
                arg='filter',
                required=False,
                style='deepObject',
                explode=True,
                shape='object',
                scalar='object',
                properties={'minAge': 'integer', 'name': 'string'},
            ),
            Parameter(
                name='X-Request-Tag',
                location='header',
                arg='x_request_tag',
                required=False,
                style='simple',
                explode=False,
                shape='primitive',
                scalar='string',
                properties={},
            ),
            Parameter(
                name='session',
                location='cookie',
                arg='session',
                required=False,
                style='form',
                explode=True,
                shape='primitive',
                scalar='string',
                properties={},
            ),
        ),
        cookie_model=models.ListPetsCookieParams,
        header_model=models.ListPetsHeaderParams,
        query_model=models.ListPetsQueryParams,
        responses=(
            Response('200', 'application/json', models.PetPage),
            Response('default', 'application/problem+json', models.Problem),
        ),
        security=[{'apiKey': []}],
        security_schemes={'apiKey': {'type': 'apiKey', 'in': 'header', 'name': 'X-API-Key'}},
    ),
    Operation(
        operation_id='createPet',
        method='POST',
        path='/pets',
        tag='pets',
        handler='create_pet',
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
            Response('default', 'application/problem+json', models.Problem),
        ),
        security=[{'apiKey': []}],
        security_schemes={'apiKey': {'type': 'apiKey', 'in': 'header', 'name': 'X-API-Key'}},
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
            Response('default', 'application/problem+json', models.Problem),
        ),
        security=[{'apiKey': []}],
        security_schemes={'apiKey': {'type': 'apiKey', 'in': 'header', 'name': 'X-API-Key'}},
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
            Parameter(
                name='X-Reasons',
                location='header',
                arg='x_reasons',
                required=False,
                style='simple',
                explode=False,
                shape='array',
                scalar='string',
                properties={},
            ),
        ),
        header_model=models.DeletePetHeaderParams,
        path_model=models.DeletePetPathParams,
        responses=(
            Response('204', None, None),
            Response('default', 'application/problem+json', models.Problem),
        ),
        security=[{'apiKey': []}],
        security_schemes={'apiKey': {'type': 'apiKey', 'in': 'header', 'name': 'X-API-Key'}},
    ),
    Operation(
        operation_id='getPetPhoto',
        method='GET',
        path='/pets/{petId}/photos/{size}',
        tag='pets',
        handler='get_pet_photo',
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
            Parameter(
                name='size',
                location='path',
                arg='size',
                required=True,
                style='label',
                explode=False,
                shape='primitive',
                scalar='string',
                properties={},
            ),
            Parameter(
                name='crop',
                location='query',
                arg='crop',
                required=False,
                style='pipeDelimited',
                explode=False,
                shape='array',
                scalar='integer',
                properties={},
            ),
        ),
        path_model=models.GetPetPhotoPathParams,
        query_model=models.GetPetPhotoQueryParams,
        responses=(
            Response('200', 'application/octet-stream', None),
            Response('default', 'application/problem+json', models.Problem),
        ),
        security=[{'apiKey': []}],
        security_schemes={'apiKey': {'type': 'apiKey', 'in': 'header', 'name': 'X-API-Key'}},
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
                'application/json': models.Order,
            },
        ),
        responses=(
            Response('201', 'application/json', models.Order),
            Response('default', 'application/problem+json', models.Problem),
        ),
        security=[{'apiKey': []}],
        security_schemes={'apiKey': {'type': 'apiKey', 'in': 'header', 'name': 'X-API-Key'}},
    ),
    Operation(
        operation_id='getInventory',
        method='GET',
        path='/store/inventory',
        tag='store',
        handler='get_inventory',
        parameters=(
            Parameter(
                name='skus',
                location='query',
                arg='skus',
                required=False,
                style='spaceDelimited',
                explode=False,
                shape='array',
                scalar='string',
                properties={},
            ),
        ),
        query_model=models.GetInventoryQueryParams,
        responses=(
            Response('200', 'application/json', models.GetInventoryResponse200),
            Response('default', 'application/problem+json', models.Problem),
        ),
        security=[],
    ),
)
