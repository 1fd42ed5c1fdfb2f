# Generated from bookshop/v1/bookshop.proto by microlib-codegen 0.1.0. DO NOT EDIT.
"""The `bookshop.v1.BookshopService` service: servicer interface, client and registration."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import ClassVar, Protocol, cast

from microlib.core.context import CallContext
from microlib.core.errors import Unimplemented
from microlib.grpc.client import Client, Metadata
from microlib.contract.definition import HttpRule, MethodDefinition, MethodKind, ServiceDefinition

from ... import _codec, _descriptors
from ..._messages.bookshop.v1 import (
    Book,
    CreateBookRequest,
    GetBookRequest,
    ListBooksRequest,
    ListBooksResponse,
    StreamBooksRequest,
)

__all__ = ["BookshopService", "BookshopServiceClient"]


class BookshopService(Protocol):
    """The bookshop's catalog and orders."""

    # Set to DEFINITION below, which names this class. A value here, not a
    # bare annotation, so that mypy does not take the servicers the user
    # derives from this interface for abstract classes.
    __microlib_service__: ClassVar[ServiceDefinition] = cast("ServiceDefinition", None)

    async def get_book(self, request: GetBookRequest, ctx: CallContext) -> Book:
        """Returns one book by its id."""
        raise Unimplemented("bookshop.v1.BookshopService/GetBook is not implemented")

    async def list_books(self, request: ListBooksRequest, ctx: CallContext) -> ListBooksResponse:
        """Lists the books of one shelf, page by page."""
        raise Unimplemented("bookshop.v1.BookshopService/ListBooks is not implemented")

    async def create_book(self, request: CreateBookRequest, ctx: CallContext) -> Book:
        """Adds a book to the catalog."""
        raise Unimplemented("bookshop.v1.BookshopService/CreateBook is not implemented")

    def stream_books(self, request: StreamBooksRequest, ctx: CallContext) -> AsyncIterator[Book]:
        """Streams every book of a shelf as it is read from the catalog."""
        raise Unimplemented("bookshop.v1.BookshopService/StreamBooks is not implemented")


class BookshopServiceClient(Client):
    """Typed async client of `bookshop.v1.BookshopService`."""

    async def get_book(
        self,
        request: GetBookRequest,
        *,
        timeout: float | None = None,
        metadata: Metadata | None = None,
    ) -> Book:
        """Returns one book by its id."""
        return cast(
            "Book",
            await self._unary_unary(
                DEFINITION.methods["GetBook"], request, timeout=timeout, metadata=metadata
            ),
        )

    async def list_books(
        self,
        request: ListBooksRequest,
        *,
        timeout: float | None = None,
        metadata: Metadata | None = None,
    ) -> ListBooksResponse:
        """Lists the books of one shelf, page by page."""
        return cast(
            "ListBooksResponse",
            await self._unary_unary(
                DEFINITION.methods["ListBooks"], request, timeout=timeout, metadata=metadata
            ),
        )

    async def create_book(
        self,
        request: CreateBookRequest,
        *,
        timeout: float | None = None,
        metadata: Metadata | None = None,
    ) -> Book:
        """Adds a book to the catalog."""
        return cast(
            "Book",
            await self._unary_unary(
                DEFINITION.methods["CreateBook"], request, timeout=timeout, metadata=metadata
            ),
        )

    def stream_books(
        self,
        request: StreamBooksRequest,
        *,
        timeout: float | None = None,
        metadata: Metadata | None = None,
    ) -> AsyncIterator[Book]:
        """Streams every book of a shelf as it is read from the catalog."""
        return cast(
            "AsyncIterator[Book]",
            self._unary_stream(
                DEFINITION.methods["StreamBooks"], request, timeout=timeout, metadata=metadata
            ),
        )


DEFINITION = ServiceDefinition(
    full_name="bookshop.v1.BookshopService",
    methods={
        "GetBook": MethodDefinition(
            name="GetBook",
            python_name="get_book",
            kind=MethodKind.UNARY_UNARY,
            request_type=GetBookRequest,
            response_type=Book,
            decode_request=_codec.decode_bookshop__v1__GetBookRequest,
            encode_response=_codec.encode_bookshop__v1__Book,
            encode_request=_codec.encode_bookshop__v1__GetBookRequest,
            decode_response=_codec.decode_bookshop__v1__Book,
            validate_request=_codec.validate_bookshop__v1__GetBookRequest,
            http_rules=(HttpRule("GET", "/v1/books/{id}"),),
            options={},
        ),
        "ListBooks": MethodDefinition(
            name="ListBooks",
            python_name="list_books",
            kind=MethodKind.UNARY_UNARY,
            request_type=ListBooksRequest,
            response_type=ListBooksResponse,
            decode_request=_codec.decode_bookshop__v1__ListBooksRequest,
            encode_response=_codec.encode_bookshop__v1__ListBooksResponse,
            encode_request=_codec.encode_bookshop__v1__ListBooksRequest,
            decode_response=_codec.decode_bookshop__v1__ListBooksResponse,
            validate_request=_codec.validate_bookshop__v1__ListBooksRequest,
            http_rules=(HttpRule("GET", "/v1/shelves/{shelf}/books"),),
            options={},
        ),
        "CreateBook": MethodDefinition(
            name="CreateBook",
            python_name="create_book",
            kind=MethodKind.UNARY_UNARY,
            request_type=CreateBookRequest,
            response_type=Book,
            decode_request=_codec.decode_bookshop__v1__CreateBookRequest,
            encode_response=_codec.encode_bookshop__v1__Book,
            encode_request=_codec.encode_bookshop__v1__CreateBookRequest,
            decode_response=_codec.decode_bookshop__v1__Book,
            validate_request=_codec.validate_bookshop__v1__CreateBookRequest,
            http_rules=(HttpRule("POST", "/v1/shelves/{shelf}/books", body="book"),),
            options={},
        ),
        "StreamBooks": MethodDefinition(
            name="StreamBooks",
            python_name="stream_books",
            kind=MethodKind.UNARY_STREAM,
            request_type=StreamBooksRequest,
            response_type=Book,
            decode_request=_codec.decode_bookshop__v1__StreamBooksRequest,
            encode_response=_codec.encode_bookshop__v1__Book,
            encode_request=_codec.encode_bookshop__v1__StreamBooksRequest,
            decode_response=_codec.decode_bookshop__v1__Book,
            validate_request=_codec.validate_bookshop__v1__StreamBooksRequest,
            http_rules=(HttpRule("GET", "/v1/shelves/{shelf}/books:stream"),),
            options={},
        ),
    },
    servicer_protocol=BookshopService,
    file_descriptor_set=_descriptors.file_descriptor_set("bookshop/v1/bookshop.proto"),
    openapi_document=Path(_descriptors.__file__).with_name("openapi.json"),
)
BookshopService.__microlib_service__ = DEFINITION
BookshopServiceClient.__microlib_service__ = DEFINITION
