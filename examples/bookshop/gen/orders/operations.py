# Generated from examples/bookshop/contracts/orders.yaml by microlib-codegen 0.1.0. DO NOT EDIT.
# source sha256: 9df5a8a2d906057d857c0ed7cbbb489dd607b36c155cae90803648afba3ae4a6
"""The operations of Bookshop orders 1.0.0, for ``microlib.http.OpenAPIApp``."""

from __future__ import annotations

from pathlib import Path

from microlib.http.openapi import Body, Operation, Parameter, Response

from . import models

SPEC_PATH = Path(__file__).with_name("openapi.json")
TITLE = 'Bookshop orders'
VERSION = '1.0.0'
PREFIX = '/api'
"""Where ``service.include(...)`` serves these operations: the path of the document's first server."""

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        operation_id='listOrders',
        method='GET',
        path='/orders',
        tag='orders',
        handler='list_orders',
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
        query_model=models.ListOrdersQueryParams,
        responses=(
            Response('200', 'application/json', models.ListOrdersResponse200),
            Response('400', 'application/problem+json', models.Problem),
        ),
        security=None,
    ),
    Operation(
        operation_id='createOrder',
        method='POST',
        path='/orders',
        tag='orders',
        handler='create_order',
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
            Response('404', 'application/problem+json', models.Problem),
        ),
        security=None,
    ),
    Operation(
        operation_id='getOrder',
        method='GET',
        path='/orders/{orderId}',
        tag='orders',
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
                scalar='string',
                properties={},
            ),
        ),
        path_model=models.GetOrderPathParams,
        responses=(
            Response('200', 'application/json', models.Order),
            Response('400', 'application/problem+json', models.Problem),
            Response('404', 'application/problem+json', models.Problem),
        ),
        security=None,
    ),
)
