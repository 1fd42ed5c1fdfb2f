"""Form bodies (``application/x-www-form-urlencoded``, ``multipart/form-data``): read as the
document's schema declares them.

OpenAPI's default encoding of a url-encoded form is a query string: each
field ``style: form``, exploded (an array is its name repeated), an object
field as JSON text (the default ``contentType`` of an object property). In
a multipart form each value is a part (an array is its name repeated), an
object part is JSON, and a ``format: binary`` field is a file, handed on as
an :class:`UploadedFile` whose media type must be one its ``encoding``
accepts. Either way the fields are cast by their declared types as query
parameters are, so the body's model validates real values and a bad one is
named ``body.<field>``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from microlib.core.errors import FieldViolation
from microlib.http._openapi_model import Parameter
from microlib.http._params import CastError, cast, parse_location, parse_query

if TYPE_CHECKING:
    from microlib.http._multipart import Part

__all__ = ["FORM", "FORMS", "MULTIPART", "FormFields"]

FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
# The media types whose body is read field by field.
FORMS = frozenset({FORM, MULTIPART})


class FormFields:
    """How to read one operation's form body.

    Args:
        fields: Field name -> (shape, JSON type): ``primitive``, ``array``
            (of that type) or ``object`` (JSON text); the type ``binary``
            is a file.
        encoding: Field name -> the media types its multipart part may
            have (``image/*`` is a range), where the document's
            ``encoding`` names them.
    """

    def __init__(
        self, fields: Mapping[str, tuple[str, str]], encoding: Mapping[str, tuple[str, ...]] | None = None
    ) -> None:
        # An empty value is a value in a form (an empty text input), unlike in a query.
        self._read = [
            Parameter(name, "query", arg=name, shape=shape, scalar=scalar, allow_empty=True)  # type: ignore[arg-type]
            for name, (shape, scalar) in fields.items()
            if shape != "object"
        ]
        self._json = [name for name, (shape, _) in fields.items() if shape == "object"]
        self._fields = dict(fields)
        self._encoding = dict(encoding or {})

    def read(self, raw: bytes, content_type: str, violations: list[FieldViolation]) -> dict[str, Any]:
        """The body's fields as the model's input; what cannot be cast goes to ``violations``.

        A field the schema does not name is passed on as text (a file as an
        :class:`UploadedFile`), for the model to take or refuse
        (``additionalProperties``).

        Args:
            raw: The whole body.
            content_type: The request's ``Content-Type`` header.
            violations: Where what is wrong with a field is appended.

        Raises:
            InvalidArgument: A multipart body that cannot be split into parts.
        """
        if content_type.split(";", 1)[0].strip().lower() == MULTIPART:
            # The parts' reader loads with the first multipart body, not with every operation
            # that takes a body (most take JSON only).
            from microlib.http._multipart import split_parts

            return self._read_parts(split_parts(raw, content_type), violations)
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

    def _read_parts(self, parts: list[Part], violations: list[FieldViolation]) -> dict[str, Any]:
        sent: dict[str, list[Part]] = {}
        for part in parts:
            sent.setdefault(part.name, []).append(part)
        data: dict[str, Any] = {}
        for name, named in sent.items():
            shape, scalar = self._fields.get(name, ("", ""))
            accepted = self._encoding.get(name, ())
            try:
                if shape == "array":
                    data[name] = [
                        _part_value(part, scalar, accepted, f"body.{name}[{i}]")
                        for i, part in enumerate(named)
                    ]
                else:
                    data[name] = _part_value(
                        named[-1], "object" if shape == "object" else scalar, accepted, f"body.{name}"
                    )
            except CastError as exc:
                violations.append(exc.violation)
        return data


def _part_value(part: Part, kind: str, accepted: tuple[str, ...], field: str) -> Any:
    """One part as its field's value: a file, JSON (``kind`` ``object``), or text cast to ``kind``.

    A part of a field the schema does not name (``kind`` empty) is a file
    if it has a file name, else text.
    """
    is_file = kind == "binary" or (not kind and part.filename is not None)
    # RFC 7578: a part without a Content-Type is text/plain; a file is bytes of no known type.
    media = part.content_type or ("application/octet-stream" if is_file else "text/plain")
    if accepted and not any(_matches(media, pattern) for pattern in accepted):
        raise CastError(field, media, f"one of the media types {', '.join(accepted)}", rule="media_type")
    if is_file:
        from microlib.http._multipart import UploadedFile  # loaded: the part came from it

        return UploadedFile(part.data, part.filename, media)
    charset = part.charset or "utf-8"
    try:
        text = part.data.decode(charset)
    except (LookupError, UnicodeDecodeError):
        raise CastError(field, part.data[:40].decode("latin-1"), f"{charset} text", rule="charset") from None
    if kind != "object":
        return cast(text, kind, field)
    try:
        return json.loads(text)
    except ValueError:
        raise CastError(field, text, "JSON text", rule="json") from None


def _matches(media: str, pattern: str) -> bool:
    """Whether ``media`` is in the range ``pattern`` (``image/png``, ``image/*`` or ``*/*``)."""
    pattern = pattern.strip().lower()
    if pattern.endswith("/*"):
        return pattern == "*/*" or media.startswith(pattern[:-1])
    return media == pattern
