"""Validate JSON with pydantic-core the way JSON Schema would."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from pydantic import BaseModel, ValidationError

if TYPE_CHECKING:
    from pydantic_core import InitErrorDetails

__all__ = ["validate_json"]


def validate_json(model: type[BaseModel], raw: bytes) -> BaseModel:
    """Validate JSON as JSON Schema would: strict types, but ``4.0`` is an integer.

    pydantic's strict mode rejects a float for an ``int`` where JSON Schema
    accepts any number with a zero fraction. When those are the only errors
    the document is validated again in lax mode, which converts exactly
    them; strict mode keeps ``"4"`` from passing as a number.

    Args:
        model: The model to validate with.
        raw: The JSON document.

    Returns:
        The validated model.

    Raises:
        ValidationError: The document does not match.
    """
    # The model's validator itself: model_validate_json adds a frame and five keywords.
    validator = model.__pydantic_validator__
    try:
        return validator.validate_json(raw, strict=True)  # type: ignore[no-any-return]
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        real = [e for e in errors if not _whole_float(e)]
        if real and len(real) < len(errors):
            # Other errors too: report them, not the integers written `4.0`.
            raise _only(exc, real) from None
        if real:
            raise
    return validator.validate_json(raw)  # type: ignore[no-any-return]


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
