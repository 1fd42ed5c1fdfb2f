"""Names every broker derives the same way: a consumer's queue and its dead letters."""

from __future__ import annotations

from microlib.messaging.definition import OperationDefinition


def queue_name(operation: OperationDefinition, group: str) -> str:
    """Where one consumer group's copies of an operation's messages wait (``stock.reserveStock``)."""
    return f"{group}.{operation.name}"


def dead_letter_name(queue: str, suffix: str) -> str:
    """The dead-letter destination of ``queue`` (``stock.reserveStock.dlq``)."""
    return f"{queue}{suffix}"
