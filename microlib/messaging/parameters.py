"""Checking a channel address's parameter values against the contract.

A channel's parameters declare what their values may be: in AsyncAPI 3 an
``enum`` (and nothing else that constrains), in 2.x a ``schema``. Generated
code passes the constraints as :attr:`OperationDefinition.parameter_schemas`
(only the parameters that have some); the publisher refuses a value they
refuse before sending, and the consumer dead-letters a delivery whose
address holds one, as it does an invalid payload.

A parameter may also declare its ``location`` in the message
(:attr:`OperationDefinition.parameter_locations`): the publisher takes a
value not given from there, and either door refuses an address whose value
differs from the one the message carries.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

from microlib.core.errors import FieldViolation
from microlib.messaging.codec import located, refused
from microlib.messaging.definition import OperationDefinition

__all__ = ["check_parameters", "located_parameters"]


def located_parameters(
    operation: OperationDefinition, given: Mapping[str, str | None], headers: Mapping[str, str], payload: Any
) -> dict[str, str]:
    """``given`` (None for not given) with each missing value the contract locates in the message
    taken from there."""
    values = {name: value for name, value in given.items() if value is not None}
    for name, where in operation.parameter_locations.items():
        if name not in values and (found := located(where, headers, payload)) is not None:
            values[name] = found
    return values


def check_parameters(
    operation: OperationDefinition, values: Mapping[str, str], headers: Mapping[str, str], payload: Any
) -> None:
    """Check ``values``, an address's parameter values, against the operation's schemas,
    and against the message (``headers``, ``payload``) where the contract locates them.

    Raises:
        InvalidArgument: naming each bad value (``parameters.region``),
            reason ``INVALID_PARAMETERS``.
    """
    violations = [
        FieldViolation(f"parameters.{name}", problem, rule)
        for name, schema in operation.parameter_schemas.items()
        if name in values
        for problem, rule in _problems(schema, values[name])
    ]
    for name, where in operation.parameter_locations.items():
        found = located(where, headers, payload)
        if name in values and found is not None and found != values[name]:
            problem = f"{values[name]!r} differs from the message's {found!r} (at {where})"
            violations.append(FieldViolation(f"parameters.{name}", problem, "location"))
    if violations:
        raise refused(f"address of operation {operation.name}", "INVALID_PARAMETERS", violations)


def _problems(schema: Mapping[str, Any], text: str) -> list[tuple[str, str]]:
    """What is wrong with ``text`` (an address segment, always text) for ``schema``."""
    problems: list[tuple[str, str]] = []
    value: Any = text
    kind = schema.get("type")
    if kind in ("integer", "number"):
        value = _number(text, integer=kind == "integer")
        if value is None:
            return [(f"{text!r} is not {'an integer' if kind == 'integer' else 'a number'}", "type")]
    enum = schema.get("enum")
    # A contract's enum may hold numbers (2.x integer schemas): compared by their text.
    if enum is not None and text not in {str(v) for v in enum}:
        allowed = ", ".join(repr(str(v)) for v in enum)
        problems.append((f"{text!r} is not one of {allowed}", "enum"))
    if "const" in schema and text != str(schema["const"]):
        problems.append((f"{text!r} is not {str(schema['const'])!r}", "const"))
    pattern = schema.get("pattern")
    if pattern is not None and _compiled(pattern).search(text) is None:
        problems.append((f"{text!r} does not match {pattern!r}", "pattern"))
    if "minLength" in schema and len(text) < schema["minLength"]:
        problems.append((f"{text!r} is shorter than {schema['minLength']} characters", "minLength"))
    if "maxLength" in schema and len(text) > schema["maxLength"]:
        problems.append((f"{text!r} is longer than {schema['maxLength']} characters", "maxLength"))
    numeric = not isinstance(value, str)  # bounds apply to numbers only, as in JSON Schema
    if numeric and "minimum" in schema and value < schema["minimum"]:
        problems.append((f"{text} is less than {schema['minimum']}", "minimum"))
    if numeric and "maximum" in schema and value > schema["maximum"]:
        problems.append((f"{text} is greater than {schema['maximum']}", "maximum"))
    return problems


# A number as JSON writes one: int() and float() also take " 7", "1_000", "nan" and other digits.
_INTEGER = re.compile(r"-?[0-9]+")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")


def _number(text: str, *, integer: bool) -> float | int | None:
    if not (_INTEGER if integer else _NUMBER).fullmatch(text):
        return None
    return int(text) if integer else float(text)


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)
