"""Validate JSON with pydantic-core the way JSON Schema would."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Protocol, cast

from pydantic import ValidationError

from microlib.core._violations import document_violations

if TYPE_CHECKING:
    from pydantic_core import InitErrorDetails

    from microlib.core._formats import FormatPlan
    from microlib.core.errors import FieldViolation

__all__ = ["contract_json", "validate_json"]

_DECODED = object()


class Validator(Protocol):
    """pydantic-core's validator: a model's ``__pydantic_validator__``, a ``TypeAdapter``'s ``validator``."""

    def validate_json(self, input: bytes, *, strict: bool | None = None) -> Any: ...


def validate_json(validator: Validator, raw: bytes) -> Any:
    """Validate JSON as JSON Schema would: strict types, but ``4.0`` is an integer.

    One rule for every door a contract's JSON comes through: an HTTP body or
    response, a message's payload.

    pydantic's strict mode rejects a float for an ``int`` where JSON Schema
    accepts any number with a zero fraction. When those are the only errors
    the document is validated again in lax mode, which converts exactly
    them; strict mode keeps ``"4"`` from passing as a number.

    Args:
        validator: The model's (or type's) validator: ``Model.__pydantic_validator__``
            (calling it directly saves ``model_validate_json``'s frame and keywords).
        raw: The JSON document.

    Returns:
        The validated value.

    Raises:
        ValidationError: The document does not match.
    """
    try:
        return validator.validate_json(raw, strict=True)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        real = [e for e in errors if not _whole_float(e)]
        if real and len(real) < len(errors):
            # Other errors too: report them, not the integers written `4.0`.
            raise _only(exc, real) from None
        if real:
            raise
    return validator.validate_json(raw)


def contract_json(
    validator: Validator, plan: FormatPlan | None, raw: bytes, root: str, document: Any = _DECODED
) -> tuple[Any, list[FieldViolation]]:
    """Validate a JSON document as its contract means it, on every door (an HTTP body or
    response, a message's payload, a job's): :func:`validate_json`, then the string formats
    of ``plan``, each bad field reported once, named under ``root``.

    Args:
        validator: The model's validator.
        plan: The model's format plan (``format_plan(model)``), None when it has none.
        raw: The JSON document.
        root: The document's name in violations (``body``, ``payload``).
        document: ``raw`` decoded, when the caller holds it (the formats walk it).

    Returns:
        The validated value and no violations; or the violations, the value then unusable.
    """
    try:
        value = validate_json(validator, raw)
    except ValidationError as exc:
        found = document_violations(exc, raw if document is _DECODED else document, root)
        if plan is not None:
            found += plan.refused_json_violations(raw, root, found)
        return None, found
    if plan is None:
        return value, []
    return value, plan.violations(json.loads(raw) if document is _DECODED else document, root)


def _whole_float(error: Any) -> bool:
    return bool(
        error["type"] == "int_type" and isinstance(error["input"], float) and error["input"].is_integer()
    )


def _only(exc: ValidationError, errors: list[Any]) -> ValidationError:
    kept = ("type", "loc", "input", "ctx")
    try:
        details = [cast("InitErrorDetails", {k: e[k] for k in kept if k in e}) for e in errors]
        return ValidationError.from_exception_data(exc.title, details)
    except (KeyError, TypeError, ValueError):
        # An error type of a custom validator cannot be rebuilt: the original, whole.
        return exc
