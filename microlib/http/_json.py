"""Validate JSON with pydantic-core the way JSON Schema would."""

from __future__ import annotations

from pydantic import BaseModel, ValidationError

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
    try:
        return model.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        if not all(
            e["type"] == "int_type" and isinstance(e["input"], float) and e["input"].is_integer()
            for e in errors
        ):
            raise
    return model.model_validate_json(raw)
