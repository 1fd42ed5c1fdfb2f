"""Turn pydantic validation errors into FieldViolations with request paths.

Parameters are named by location and declared name (``query.limit``,
``header.X-Trace``); body errors by their JSON path (``body.items[2].sku``,
see :mod:`microlib.core._violations`, which messaging shares).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from microlib.core._violations import described, document_path, document_violations
from microlib.core.errors import FieldViolation

__all__ = ["body_violations", "param_violations"]


def body_violations(exc: ValidationError, raw: bytes | Any) -> list[FieldViolation]:
    """Violations of a request body, named by JSON path under ``body``.

    Args:
        exc: The error pydantic raised.
        raw: The body as received (bytes of JSON) or already decoded.

    Returns:
        One violation per distinct error (see :func:`document_violations`).
    """
    return document_violations(exc, raw, "body")


def param_violations(
    exc: ValidationError, location: str, names: Mapping[str, str], data: Mapping[str, Any]
) -> list[FieldViolation]:
    """Violations of one parameter location's model.

    Args:
        exc: The error pydantic raised.
        location: ``path``, ``query``, ``header`` or ``cookie``.
        names: Model key (alias) -> the parameter's declared name.
        data: The location's values as validated, to tell a property or an index in
            ``loc`` from a union member's tag (``path.id``, not ``path.id.int``).

    Returns:
        One violation per error.
    """
    out = []
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        head = names.get(str(loc[0]), str(loc[0])) if loc else ""
        rest = document_path(loc[1:], data.get(str(loc[0]))) if loc else ""
        field = f"{location}.{head}{rest}"
        if error["type"] == "extra_forbidden":
            description = f"Unknown {location} parameter"
        else:
            description = described(error)
        out.append(FieldViolation(field, description, error["type"]))
    return out
