# Generated from openapi.yaml by microlib-codegen 0.1.0. DO NOT EDIT.
# source sha256: 3f267fb8fbc3fa5b758a444a9acbc6a9876e5ed5295806204610675439a2e85f
"""The operations of Library 2.0.0, for ``microlib.http.OpenAPIApp``."""

from __future__ import annotations

from pathlib import Path

from microlib.http.openapi import Body, Operation, Parameter, Response

from . import models

SPEC_PATH = Path(__file__).with_name("openapi.json")
TITLE = 'Library'
VERSION = '2.0.0'
PREFIX = ''
"""Where ``service.include(...)`` serves these operations: the path of the document's first server."""

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        operation_id='searchBooks',
        method='GET',
        path='/books',
        tag='books',
        handler='search_books',
        parameters=(
            Parameter(
                name='q',
                location='query',
                arg='q',
                required=True,
                style='form',
                explode=True,
                shape='primitive',
                scalar='string',
                properties={},
            ),
            Parameter(
                name='genre',
                location='query',
                arg='genre',
                required=False,
                style='form',
                explode=True,
                shape='primitive',
                scalar='string',
                properties={},
            ),
            Parameter(
                name='year',
                location='query',
                arg='year',
                required=False,
                style='form',
                explode=False,
                shape='array',
                scalar='integer',
                properties={},
            ),
            Parameter(
                name='available',
                location='query',
                arg='available',
                required=False,
                style='form',
                explode=True,
                shape='primitive',
                scalar='boolean',
                properties={},
            ),
            Parameter(
                name='Accept-Language',
                location='header',
                arg='accept_language',
                required=False,
                style='simple',
                explode=False,
                shape='primitive',
                scalar='string',
                properties={},
            ),
        ),
        header_model=models.SearchBooksHeaderParams,
        query_model=models.SearchBooksQueryParams,
        responses=(
            Response('200', 'application/json', models.SearchBooksResponse200),
        ),
        security=None,
    ),
    Operation(
        operation_id='addBook',
        method='POST',
        path='/books',
        tag='books',
        handler='add_book',
        parameters=(
        ),
        body=Body(
            required=True,
            media={
                'application/json': models.Book,
            },
        ),
        responses=(
            Response('201', 'application/json', models.Book),
        ),
        security=None,
    ),
    Operation(
        operation_id='getBook',
        method='GET',
        path='/books/{isbn}',
        tag='books',
        handler='get_book',
        parameters=(
            Parameter(
                name='isbn',
                location='path',
                arg='isbn',
                required=True,
                style='simple',
                explode=False,
                shape='primitive',
                scalar='string',
                properties={},
            ),
            Parameter(
                name='fields',
                location='query',
                arg='fields',
                required=False,
                style='form',
                explode=True,
                shape='array',
                scalar='string',
                properties={},
            ),
        ),
        path_model=models.GetBookPathParams,
        query_model=models.GetBookQueryParams,
        responses=(
            Response('200', 'application/json', models.Book),
            Response('404', 'application/problem+json', models.GetBookResponse404),
        ),
        security=None,
    ),
    Operation(
        operation_id='renewLoan',
        method='PUT',
        path='/loans/{loanId}{matrix}',
        tag='loans',
        handler='renew_loan',
        parameters=(
            Parameter(
                name='loanId',
                location='path',
                arg='loan_id',
                required=True,
                style='simple',
                explode=False,
                shape='primitive',
                scalar='string',
                properties={},
            ),
            Parameter(
                name='matrix',
                location='path',
                arg='matrix',
                required=True,
                style='matrix',
                explode=True,
                shape='object',
                scalar='object',
                properties={'days': 'integer', 'express': 'boolean'},
            ),
            Parameter(
                name='member',
                location='cookie',
                arg='member',
                required=True,
                style='form',
                explode=True,
                shape='primitive',
                scalar='integer',
                properties={},
            ),
        ),
        cookie_model=models.RenewLoanCookieParams,
        path_model=models.RenewLoanPathParams,
        body=Body(
            required=False,
            media={
                'application/json': models.Renewal,
            },
        ),
        responses=(
            Response('200', 'application/json', models.Loan),
        ),
        security=None,
    ),
)
