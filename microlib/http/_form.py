"""Form bodies (``application/x-www-form-urlencoded``): read as the document's schema declares them.

OpenAPI's default encoding of a form body is a query string: each field
``style: form``, exploded (an array is its name repeated), an object field
as JSON text (the default ``contentType`` of an object property). The
fields are cast by their declared types as query parameters are, so the
body's model validates real values and a bad one is named ``body.<field>``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus

from microlib.core.errors import FieldViolation
from microlib.http._params import parse_location, parse_query

__all__ = ["FORM", "FormFields"]

FORM = "application/x-www-form-urlencoded"


class FormFields:
    """How to read one operation's form body.

    Args:
        fields: Field name -> (shape, JSON type): ``primitive``, ``array``
            (of that type) or ``object`` (JSON text).
    """

    def __init__(self, fields: Mapping[str, tuple[str, str]]) -> None:
        # Imported here: microlib.http.openapi imports the operation endpoint, which reads forms.
        from microlib.http.openapi import Parameter

        # An empty value is a value in a form (an empty text input), unlike in a query.
        self._read = [
            Parameter(name, "query", arg=name, shape=shape, scalar=scalar, allow_empty=True)  # type: ignore[arg-type]
            for name, (shape, scalar) in fields.items()
            if shape != "object"
        ]
        self._json = [name for name, (shape, _) in fields.items() if shape == "object"]

    def read(self, raw: bytes, violations: list[FieldViolation]) -> dict[str, Any]:
        """The body's fields as the model's input; what cannot be cast goes to ``violations``.

        A field the schema does not name is passed on as text, for the model
        to take or refuse (``additionalProperties``).
        """
        sent = parse_query(raw)
        used: set[str] = set()
        data = parse_location("body", self._read, sent, violations, used)
        for name in self._json:
            values = sent.get(name)
            if values is None:
                continue
            used.add(name)
            text = unquote_plus(values[-1])
            try:
                data[name] = json.loads(text)
            except ValueError:
                violations.append(
                    FieldViolation(f"body.{name}", f"Input should be JSON text (received {text!r})", "json")
                )
        for name, values in sent.items():
            if name not in used:
                data[name] = unquote_plus(values[-1])
        return data
