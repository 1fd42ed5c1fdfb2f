"""Errors in the shape an OpenAPI document declares for them.

A document may declare its error responses as ``application/json`` with a
schema of its own (``{"code": 404, "message": "..."}``), where microlib
answers ``application/problem+json``. When the response an operation
declares for an error's status (exact, ``4XX``, then ``default``) has such a
schema, the error is written in it, filled property by property, by name
(case, ``_`` and ``-`` ignored) and JSON type:

========================================================  ========  ==========================
property                                                  type      value
========================================================  ========  ==========================
message, detail, error, msg, description, errorMessage   string    the error's message
code, status, statusCode, errorCode                      integer   the HTTP status
code, status, errorCode                                  string    the code (``NOT_FOUND``)
title                                                    string    the status phrase
type                                                     string    the problem type URN
reason                                                   string    the reason, else the code
correlationId, requestId, traceId                         string    the correlation id
the first array of objects                                array     one item per violation
========================================================  ========  ==========================

and in each violation item: field, name, path, pointer, location, param,
parameter (string) the field; message, description, detail, msg, error
(string) the description; rule, code, type, reason (string) the rule.

The mapping is decided once, when the app is built. A declared schema with a
required property the mapping cannot fill, one that is not an object, a
response declared as ``application/problem+json`` (already microlib's own
format), or a body the model then refuses (an ``enum`` it does not list)
leave the error as problem+json.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from microlib.core.errors import Error, FieldViolation

if TYPE_CHECKING:
    from microlib.http.openapi import Response

__all__ = ["ErrorShape", "ErrorShapes", "shared_shape"]

# What fills one declared property, from the error being written.
Fill = Callable[["_Source"], Any]


@dataclass(frozen=True, slots=True)
class _Source:
    error: Error
    status: int
    message: str
    correlation_id: str


def _canonical(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "")


_STRING: Mapping[str, Fill] = {
    **dict.fromkeys(
        ("message", "detail", "error", "msg", "description", "errormessage", "errordescription"),
        lambda s: s.message,
    ),
    **dict.fromkeys(("code", "status", "errorcode"), lambda s: s.error.code.name),
    "title": lambda s: _phrase(s.status),
    "type": lambda s: f"urn:microlib:problem:{s.error.code.name.lower().replace('_', '-')}",
    "reason": lambda s: s.error.reason or s.error.code.name,
    **dict.fromkeys(("correlationid", "requestid", "traceid"), lambda s: s.correlation_id),
}
_INTEGER: Mapping[str, Fill] = dict.fromkeys(
    ("code", "status", "statuscode", "errorcode", "httpstatus"), lambda s: s.status
)
_ITEM: Mapping[str, Callable[[FieldViolation], str]] = {
    **dict.fromkeys(
        ("field", "name", "path", "pointer", "location", "loc", "param", "parameter"), lambda v: v.field
    ),
    **dict.fromkeys(("message", "description", "detail", "msg", "error"), lambda v: v.description),
    **dict.fromkeys(("rule", "code", "type", "reason"), lambda v: v.rule),
}


def _phrase(status: int) -> str:
    return "Client Closed Request" if status == 499 else HTTPStatus(status).phrase


def _types(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> set[str]:
    """The JSON types a property schema allows (through ``$ref`` and ``anyOf``)."""
    schema = _deref(schema, defs)
    kinds = schema.get("type")
    found = {kinds} if isinstance(kinds, str) else set(kinds or ())
    for member in [*schema.get("anyOf", ()), *schema.get("oneOf", ())]:
        found |= _types(member, defs)
    return found


def _deref(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return _deref(defs[ref[len("#/$defs/") :]], defs)
    return schema


def _object(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """``schema`` if it is an object with properties (``X | null`` included)."""
    schema = _deref(schema, defs)
    if isinstance(schema.get("properties"), dict):
        return schema
    members = [_object(m, defs) for m in schema.get("anyOf", ())]
    found = [m for m in members if m is not None]
    return found[0] if len(found) == 1 else None


@dataclass(frozen=True, slots=True)
class ErrorShape:
    """How errors are written in one declared schema.

    Args:
        model: The declared schema's model, which checks each body written.
        media: The declared media type.
        fields: Property -> what fills it.
        violations: The array property that lists the violations, and item
            property -> what fills it; None when there is none.
        listed: Whether that array is required (sent empty when there are
            no violations, else left out).
    """

    model: type[BaseModel]
    media: str
    fields: tuple[tuple[str, Fill], ...]
    violations: tuple[str, tuple[tuple[str, Callable[[FieldViolation], str]], ...]] | None
    listed: bool = False

    @classmethod
    def of(cls, model: type[BaseModel], media: str) -> ErrorShape | None:
        """The shape of ``model``, or None when errors cannot be written in it."""
        if media.split(";", 1)[0].strip().lower() == "application/problem+json":
            return None
        schema = model.model_json_schema()
        defs = schema.get("$defs", {})
        top = _object(schema, defs)
        if top is None:
            return None
        fields: list[tuple[str, Fill]] = []
        violations = None
        for name, prop in top["properties"].items():
            kinds = _types(prop, defs)
            key = _canonical(name)
            fill = (_STRING.get(key) if "string" in kinds else None) or (
                _INTEGER.get(key) if kinds & {"integer", "number"} else None
            )
            if fill is not None:
                fields.append((name, fill))
            elif violations is None and "array" in kinds:
                violations = _items(name, _deref(prop, defs), defs)
        required = set(top.get("required", ()))
        filled = {name for name, _f in fields} | ({violations[0]} if violations else set())
        if required - filled:
            return None
        return cls(model, media, tuple(fields), violations, bool(violations and violations[0] in required))

    def render(self, error: Error, status: int, message: str, correlation_id: str) -> bytes | None:
        """The body for ``error``, or None when the declared schema refuses it."""
        source = _Source(error, status, message, correlation_id)
        body: dict[str, Any] = {name: fill(source) for name, fill in self.fields}
        if self.violations is not None and (error.violations or self.listed):
            name, item = self.violations
            body[name] = [{prop: fill(v) for prop, fill in item} for v in error.violations]
        try:
            self.model.model_validate(body)
        except ValidationError:
            return None
        return json.dumps(body, separators=(",", ":")).encode()


def _items(
    name: str, prop: Mapping[str, Any], defs: Mapping[str, Any]
) -> tuple[str, tuple[tuple[str, Callable[[FieldViolation], str]], ...]] | None:
    arrays = [m for m in (prop, *prop.get("anyOf", ())) if "items" in _deref(m, defs)]
    items = _object(_deref(arrays[0], defs)["items"], defs) if arrays else None
    if items is None:
        return None
    fill = {
        prop_name: _ITEM[_canonical(prop_name)]
        for prop_name, schema in items["properties"].items()
        if _canonical(prop_name) in _ITEM and "string" in _types(schema, defs)
    }
    if set(items.get("required", ())) - set(fill):
        return None
    return name, tuple(fill.items())


class ErrorShapes:
    """The shapes one operation declares for its errors, by status.

    Args:
        responses: The operation's documented responses.
    """

    def __init__(self, responses: Sequence[Response]) -> None:
        self._declared: dict[str, ErrorShape | None] = {}
        for response in responses:
            if response.status == "default" or response.status[0] in "45":
                shape = None
                if response.model is not None and response.media is not None:
                    shape = _shape_of(response.model, response.media)
                self._declared[response.status.upper()] = shape

    def __bool__(self) -> bool:
        return any(self._declared.values())

    def shape(self, status: int) -> ErrorShape | None:
        """The shape declared for ``status`` (exact, then its class, then ``default``)."""
        for key in (str(status), f"{str(status)[0]}XX", "DEFAULT"):
            if key in self._declared:
                return self._declared[key]
        return None


@functools.cache
def _shape_of(model: type[BaseModel], media: str) -> ErrorShape | None:
    """:meth:`ErrorShape.of`, once per model: operations mostly share their error models,
    and writing a model's JSON Schema is the costly part of reading its shape."""
    return ErrorShape.of(model, media)


def shared_shape(shapes: Sequence[ErrorShapes], status: int) -> ErrorShape | None:
    """The shape every one of ``shapes`` declares for ``status``, if they agree: for the
    errors of a path (405) or of an app (404 for an unknown path) rather than an operation."""
    found = {s.shape(status) for s in shapes}
    return found.pop() if len(found) == 1 else None
