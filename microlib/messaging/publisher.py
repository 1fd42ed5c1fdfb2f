"""The ``Publisher`` protocol: what generated, typed publishers send through."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from microlib.messaging.definition import ApplicationDefinition, OperationDefinition

__all__ = ["Publisher", "register_document"]


class Publisher(Protocol):
    """Sends the messages of an application's send operations.

    Generated publishers (one class per AsyncAPI document) wrap it with a
    typed method per send operation; the service's messaging concern
    provides it, publishing directly to the broker or, inside a database
    transaction, through the outbox.
    """

    async def publish(
        self,
        operation: OperationDefinition,
        payload: Any,
        *,
        parameters: Mapping[str, str | None] | None = None,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
        message_id: str | None = None,
        correlation_id: str | None = None,
    ) -> None:
        """Send ``payload`` on ``operation``'s channel; returns once the broker confirmed it.

        Args:
            operation: A send operation of a generated definition.
            payload: An instance of one of the operation's payload types.
            parameters: Values of the address's parameters; one not given
                (or None) is read from where the contract locates it in the
                message (the parameter's ``location``), if it does.
            key: The message key; derived from the operation's ``key`` path
                when None and the contract declares one.
            headers: Extra headers (the contract's typed headers, dumped).
            message_id: The message id; a new UUID when None.
            correlation_id: For replies and tracing across hops.
        """
        ...

    async def request(
        self,
        operation: OperationDefinition,
        payload: Any,
        *,
        parameters: Mapping[str, str | None] | None = None,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Send a request on an operation with a ``reply`` and await the reply's payload.

        Raises:
            microlib.core.errors.DeadlineExceeded: No reply within ``timeout``.
        """
        ...


def register_document(publisher: Publisher, application: ApplicationDefinition) -> None:
    """Tell ``publisher`` that it sends on ``application``'s operations.

    Generated publishers call it as they are built, so the service serves
    the document at ``/asyncapi.json`` even when it consumes nothing from
    it. A publisher without a ``documents`` mapping (a test double, a
    wrapper) ignores it.
    """
    documents = getattr(publisher, "documents", None)
    if isinstance(documents, dict):
        documents.setdefault(application.title, application)
