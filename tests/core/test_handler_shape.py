"""A handler the framework cannot call fails where it is included, not at each call.

Before this check a plain `def`, a coroutine where a stream is iterated or a
misnamed parameter started the service, and every call then failed with a
TypeError logged as an internal error.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from examples.bookshop.catalog import Catalog
from examples.bookshop.services.bookshop_jobs import BookshopJobs
from examples.bookshop.services.bookshop_service import BookshopServiceServicer
from examples.bookshop.services.events_handlers import EventsHandlers
from examples.bookshop.services.orders import Orders
from microlib import Service
from microlib.core.errors import ContractMismatch


class PlainDef(BookshopServiceServicer):
    def get_book(self, request: Any, ctx: Any) -> Any:  # type: ignore[override]
        return None


class NoContext(BookshopServiceServicer):
    async def get_book(self, request: Any) -> Any:  # type: ignore[override]
        return None


class CoroutineStream(BookshopServiceServicer):
    async def stream_books(self, request: Any, ctx: Any) -> Any:  # type: ignore[override]
        return []


class PlainStream(BookshopServiceServicer):
    """A plain function returning an AsyncIterator is a stream too: accepted."""

    def stream_books(self, request: Any, ctx: Any) -> AsyncIterator[Any]:  # type: ignore[override]
        return super().stream_books(request, ctx)


class MisnamedParameter(Orders):
    async def get_order(self, *, id: str) -> Any:  # type: ignore[override]
        return None


class PlainDefOperation(Orders):
    def get_order(self, *, order_id: str) -> Any:  # type: ignore[override]
        return None


class PlainDefJob(BookshopJobs):
    def confirm_order(self, payload: Any, ctx: Any) -> None:  # type: ignore[override]
        return None


class GeneratorConsumer(EventsHandlers):
    async def reserve_stock(self, payload: Any, ctx: Any) -> Any:  # type: ignore[override]
        yield


@pytest.mark.parametrize(
    ("handler", "message"),
    [
        (
            PlainDef(Catalog()),
            "servicer PlainDef for bookshop.v1.BookshopService: get_book (rpc GetBook): "
            "must be `async def` returning once, not a plain `def`",
        ),
        (
            NoContext(Catalog()),
            "servicer NoContext for bookshop.v1.BookshopService: get_book (rpc GetBook): "
            "cannot be called with (request, ctx): its parameters are (request: 'Any') -> 'Any'",
        ),
        (
            CoroutineStream(Catalog()),
            "servicer CoroutineStream for bookshop.v1.BookshopService: stream_books (rpc StreamBooks): "
            "must be an async generator (`async def` with `yield`) or return an AsyncIterator, "
            "not `async def` returning once",
        ),
        (
            MisnamedParameter(Catalog(), None, None),  # type: ignore[arg-type]
            "Bookshop orders: MisnamedParameter.get_order (getOrder): "
            "cannot be called with (order_id=): its parameters are (*, id: 'str') -> 'Any'",
        ),
        (
            PlainDefOperation(Catalog(), None, None),  # type: ignore[arg-type]
            "Bookshop orders: PlainDefOperation.get_order (getOrder): "
            "must be `async def` returning once, not a plain `def`",
        ),
        (
            PlainDefJob(Catalog()),
            "job handlers PlainDefJob for bookshop.jobs: confirm_order (job confirm_order, "
            "examples/bookshop/contracts/jobs.yaml:8): must be `async def` returning once, not a plain `def`",
        ),
        (
            GeneratorConsumer(),
            "consumer GeneratorConsumer of Bookshop events 0.1.0: reserve_stock (operation reserveStock): "
            "must be `async def` returning once, not an async generator",
        ),
    ],
    ids=lambda value: type(value).__name__ if not isinstance(value, str) else "",
)
def test_a_handler_the_framework_cannot_call_is_refused_where_it_is_included(
    handler: object, message: str
) -> None:
    with pytest.raises(ContractMismatch) as raised:
        Service("broken").include(handler)
    assert str(raised.value) == message


def test_a_plain_function_returning_a_stream_is_accepted() -> None:
    Service("fine").include(PlainStream(Catalog()))


@pytest.mark.parametrize("cls", [BookshopServiceServicer, Orders, BookshopJobs, EventsHandlers])
def test_a_class_given_for_an_instance_says_so(cls: type) -> None:
    """It was `_ProtocolMeta implements no generated servicer interface ...; pass definition=`."""
    with pytest.raises(ContractMismatch) as raised:
        Service("broken").include(cls)
    name = cls.__qualname__
    assert str(raised.value) == (
        f"service.include({name}) was given the class: include an instance, service.include({name}())"
    )


def test_an_object_that_implements_no_interface_says_what_to_include() -> None:
    """Not a gRPC error (`pass definition= explicitly`, or the grpc extra to install)."""
    with pytest.raises(ContractMismatch) as raised:
        Service("broken").include(Catalog())
    assert str(raised.value) == (
        "Catalog implements no generated interface: include an instance of a class deriving from one "
        "that `microlib codegen` generated (a servicer, the handlers of an OpenAPI tag, a consumer or "
        "job handlers)"
    )
