"""Names every broker derives the same way: a consumer's queue and its dead letters."""

from __future__ import annotations

from collections.abc import Mapping

from microlib.messaging.definition import OperationDefinition


def queue_name(operation: OperationDefinition, group: str) -> str:
    """Where one consumer group's copies of an operation's messages wait (``stock.reserveStock``)."""
    return f"{group}.{operation.name}"


def dead_letter_name(queue: str, suffix: str) -> str:
    """The dead-letter destination of ``queue`` (``stock.reserveStock.dlq``)."""
    return f"{queue}{suffix}"


def binding_group(operation: OperationDefinition) -> str | None:
    """The group id the operation's ``kafka`` binding names, if any."""
    # AsyncAPI's kafka binding gives groupId as a schema: {type: string, enum: [name]}.
    group = operation.bindings.get("kafka", {}).get("groupId")
    if isinstance(group, Mapping):
        values = group.get("enum") or [group.get("const")]
        group = values[0] if values else None
    return group if isinstance(group, str) and group else None
