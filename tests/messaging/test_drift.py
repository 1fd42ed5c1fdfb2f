"""The start-up drift check of a consumer against its AsyncAPI document."""

from __future__ import annotations

import types
from typing import ClassVar, Protocol, cast

import pytest
from pydantic import BaseModel

from microlib.core.errors import Unimplemented
from microlib.messaging import (
    Action,
    ApplicationDefinition,
    MessageContext,
    MessageDefinition,
    OperationDefinition,
    check_consumer,
    json_decoder,
    json_encoder,
)


class OrderPlaced(BaseModel):
    order_id: str


class OrderCancelled(BaseModel):
    order_id: str
    reason: str


def _message(model: type[BaseModel]) -> MessageDefinition:
    return MessageDefinition(model.__name__, model, json_decoder(model, model.__name__), json_encoder(model))


class OrdersConsumer(Protocol):
    """As generated: one handler per receive operation, each raising Unimplemented."""

    __microlib_asyncapi__: ClassVar[ApplicationDefinition] = cast("ApplicationDefinition", None)

    async def on_order(self, payload: OrderPlaced | OrderCancelled, ctx: MessageContext) -> None:
        raise Unimplemented("onOrder is not implemented")

    async def on_audit(self, payload: OrderPlaced, ctx: MessageContext) -> None:
        raise Unimplemented("onAudit is not implemented")


def _operation(name: str, python_name: str, action: Action, *models: type[BaseModel]) -> OperationDefinition:
    return OperationDefinition(
        name, python_name, action, name, f"orders.{name}", tuple(map(_message, models))
    )


DEFINITION = ApplicationDefinition(
    title="Orders",
    version="1.0.0",
    asyncapi="3.0.0",
    operations={
        "onOrder": _operation("onOrder", "on_order", Action.RECEIVE, OrderPlaced, OrderCancelled),
        "onAudit": _operation("onAudit", "on_audit", Action.RECEIVE, OrderPlaced),
        "placeOrder": _operation("placeOrder", "place_order", Action.SEND, OrderPlaced),
    },
    consumer_protocol=OrdersConsumer,
    document={},
)


class Complete(OrdersConsumer):
    async def on_order(self, payload: OrderCancelled | OrderPlaced, ctx: MessageContext) -> None:
        return None

    async def on_audit(self, payload: OrderPlaced, ctx: MessageContext) -> None:
        return None

    async def helper(self, order_id: str) -> None:
        return None


def test_a_consumer_with_every_handler_passes() -> None:
    """Every receive operation handled with its payload types (a union in any order): no error."""
    check_consumer(DEFINITION, Complete())


def test_missing_inherited_changed_and_removed_handlers_are_named() -> None:
    """Each problem is named with its handler and operation, in one TypeError."""

    class Drifted(OrdersConsumer):
        async def on_order(self, payload: OrderPlaced, ctx: MessageContext) -> None:
            return None

        async def on_shipment(self, payload: OrderPlaced, ctx: MessageContext) -> None:
            return None

    with pytest.raises(TypeError) as caught:
        check_consumer(DEFINITION, Drifted())
    assert str(caught.value) == (
        "consumer test_missing_inherited_changed_and_removed_handlers_are_named.<locals>.Drifted of Orders "
        "1.0.0: on_order (operation onOrder): payload is annotated OrderPlaced, the contract carries "
        "OrderCancelled | OrderPlaced; on_audit is missing (operation onAudit); on_shipment handles no "
        "receive operation any more (removed or renamed in the contract)"
    )


def test_an_object_without_the_interface_lacks_every_handler() -> None:
    """A consumer not derived from the interface is checked by its attributes alone."""

    class Plain:
        async def on_audit(self, payload: OrderPlaced, ctx: MessageContext) -> None:
            return None

    with pytest.raises(TypeError, match=r"on_order is missing \(operation onOrder\)$"):
        check_consumer(DEFINITION, Plain())


def test_annotations_that_do_not_resolve_are_left_to_mypy() -> None:
    """A handler whose annotations name types unknown at run time is not refused for them."""

    class Unresolved(Complete):
        async def on_audit(self, payload: NotDefinedAnywhere, ctx: MessageContext) -> None:  # type: ignore[name-defined]  # noqa: F821
            return None

    check_consumer(DEFINITION, Unresolved())


models = types.ModuleType("models")
"""A generated models module after the contract renamed a message: ``models.OrderPlaced`` is gone."""


def test_an_annotation_naming_a_type_the_models_no_longer_have_is_drift() -> None:
    """A handler annotated with a generated type that regeneration removed is drift, named in one
    line like the others, not an AttributeError out of the annotations."""

    class Stale(Complete):
        async def on_audit(self, payload: models.OrderPlaced, ctx: MessageContext) -> None:  # type: ignore[name-defined]
            return None

    with pytest.raises(TypeError) as caught:
        check_consumer(DEFINITION, Stale())
    assert str(caught.value).endswith(
        "on_audit (operation onAudit): payload is annotated models.OrderPlaced, which no longer exists "
        "(module 'models' has no attribute 'OrderPlaced'), the contract carries OrderPlaced"
    )


def test_a_handler_that_cannot_take_payload_and_context_is_refused() -> None:
    """A handler the runtime could not call with (payload, ctx) is named with its parameters;
    one without annotations is accepted."""

    class Unannotated(Complete):
        async def on_order(self, payload, ctx):  # type: ignore[no-untyped-def]
            return None

    check_consumer(DEFINITION, Unannotated())

    class Narrow(Complete):
        async def on_audit(self) -> None:
            return None

    with pytest.raises(
        TypeError, match=r"on_audit \(operation onAudit\): cannot be called with \(payload, ctx\): "
    ):
        check_consumer(DEFINITION, Narrow())
