"""Errors in the shape an OpenAPI document declares for them.

A document may declare its error responses as ``application/json`` with a
schema of its own, where microlib answers ``application/problem+json``: flat
(``{"code": 404, "message": "..."}``) or nested, as the common API guidelines
write them (Google's ``{"error": {"code", "message", "status", "details"}}``,
Microsoft's ``{"error": {"code", "message", "target", "details": [...]}}``,
JSON:API's ``{"errors": [{"status", "title", "detail", "source": {"pointer"}}]}``).
When the response an operation declares for an error's status (exact, ``4XX``,
then ``default``) has such a schema, the error is written in it, filled
property by property, at any depth, by name (case, ``_`` and ``-`` ignored)
and JSON type:

========================================================  ========  ==========================
property                                                  type      value
========================================================  ========  ==========================
message, detail, error, msg, description, errorMessage   string    the error's message
code, status, statusCode, errorCode                      integer   the HTTP status
code, errorCode                                          string    the code (``NOT_FOUND``)
status                                                    string    the HTTP status as text (1)
title                                                    string    the status phrase
type, documentationUrl, docUrl, moreInfo                 string    the problem type URN
reason                                                   string    the reason, else the code
correlationId, requestId, traceId                         string    the correlation id
a ``const`` or a one-value ``enum``                      any       that value
an object                                                 object    filled the same way, inside
a oneOf or anyOf of objects                               object    the first that can be filled
the first array of objects                                array     one item per violation
========================================================  ========  ==========================

(1) ``"404"``, as GitHub's ``basic-error`` and JSON:API write it; the code (``NOT_FOUND``) where
the schema says so: an ``enum`` listing no digits, a ``pattern`` refusing them, or an integer
``code`` or ``statusCode`` beside it that holds the HTTP status already (Google's
``{"code": 404, "status": "NOT_FOUND"}``).

In an item of that array, the violation comes first: field, name, path,
pointer, location, loc, param, parameter, target (string) the field; message,
description, detail, msg, error (string) the description; rule, code, reason
(string) the rule; the other names as above. When the object holding the array
has no property for the message (JSON:API's ``errors``), an error without
violations is one item of its own, filled from the error. A schema with no such
array (``{"code", "message"}``) gets the violations in its message instead
(``invalid request to listPets: query.limit: Input should be a valid integer``).

A property's ``x-microlib-error`` names its value where the name does not say
it (``state: {type: string, x-microlib-error: http-status}`` for ``"400"``):
``message``, ``http-status`` (integer, or its digits as a string), ``code``,
``title``, ``type``, ``reason``, ``correlation-id``, ``field``, ``description``,
``rule``, ``violations`` (the array), or ``none`` (left out).

The mapping is decided once, when the app is built. A required property
nothing fills is an :class:`ErrorShapeError` naming its schema path, raised
there (and by ``microlib codegen``): never a body the document does not allow.
A schema that is not an object, or a response declared as
``application/problem+json`` (already microlib's own format), leaves the error
as problem+json; so does a body the model then refuses (an ``enum`` that does
not list the code).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from microlib.core.errors import Error, FieldViolation, InvalidContract
from microlib.http.errors import SHAPES_SCOPE_KEY, is_error_status, is_problem_media

if TYPE_CHECKING:
    from microlib.http._openapi_model import Response

__all__ = [
    "EXTENSION",
    "SCOPE_KEY",
    "ErrorShape",
    "ErrorShapeError",
    "ErrorShapes",
    "check_error_schema",
    "scope_shape",
    "shared_shape",
]

EXTENSION = "x-microlib-error"


@dataclass(frozen=True, slots=True)
class _Source:
    error: Error
    status: int
    message: str
    correlation_id: str
    violation: FieldViolation | None = None


# What fills one declared scalar, from the error being written; None leaves it out.
Fill = Callable[[_Source], Any]
# Where a node is in the document: keys of objects, indexes of arrays.
DocumentPath = tuple[str | int, ...]


class ErrorShapeError(InvalidContract):
    """A declared error schema requires a property microlib cannot fill.

    Raised when an ``OpenAPIApp`` is built (``microlib run`` prints it as one line naming where
    the app was built) and by ``microlib codegen``.

    Args:
        path: The schema path of the property (``error.details[].severity``).
        reason: Why it cannot be filled.
        declared: The document path of the property's schema where it is written, when a ``$ref``
            was followed to reach it (``("components", "schemas", "Error", "properties",
            "severity")``): the place to edit, which ``path`` alone does not name in a schema
            shared by many responses.
    """

    def __init__(self, path: str, reason: str, declared: DocumentPath | None = None) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
        self.declared = declared


def _canonical(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "")


def _message(s: _Source) -> str:
    return s.message


def _code(s: _Source) -> str:
    return s.error.code.name


def _field(s: _Source) -> str | None:
    return s.violation.field if s.violation else None


def _description(s: _Source) -> str:
    return s.violation.description if s.violation else s.message


def _rule(s: _Source) -> str:
    return s.violation.rule if s.violation else s.error.code.name


def _status(s: _Source) -> int:
    return s.status


def _status_text(s: _Source) -> str:
    return str(s.status)


def _phrase(status: int) -> str:
    return "Client Closed Request" if status == 499 else HTTPStatus(status).phrase


@dataclass(frozen=True, slots=True)
class _Const:
    """The one value a property allows (compared by value: equal schemas give equal shapes)."""

    value: Any

    def __call__(self, _: _Source) -> Any:
        return self.value


_EXTENSIONS: Mapping[str, Fill] = {
    "message": _message,
    "code": _code,
    "title": lambda s: _phrase(s.status),
    "type": lambda s: f"urn:microlib:problem:{s.error.code.name.lower().replace('_', '-')}",
    "reason": lambda s: s.error.reason or s.error.code.name,
    "correlation-id": lambda s: s.correlation_id,
    "field": _field,
    "description": _description,
    "rule": _rule,
}
_STRING: Mapping[str, Fill] = {
    **dict.fromkeys(
        ("message", "detail", "error", "msg", "description", "errormessage", "errordescription"), _message
    ),
    **dict.fromkeys(("code", "errorcode"), _code),
    # A string `status` is decided per schema (_Planner.string_status): the HTTP status as text, or
    # the code where the schema says so.
    **{name: _EXTENSIONS[name] for name in ("title", "type", "reason")},
    # A link to what the error means (GitHub's `documentation_url`, Stripe's `doc_url`, Twilio's
    # `more_info`): RFC 9457's `type` is that identifier ("when dereferenced, it SHOULD provide
    # human-readable documentation for the problem type").
    **dict.fromkeys(("documentationurl", "docurl", "moreinfo"), _EXTENSIONS["type"]),
    **dict.fromkeys(("correlationid", "requestid", "traceid"), _EXTENSIONS["correlation-id"]),
}
# Functions, never lambdas made per schema: operations declaring the same schema get equal
# shapes, which a 405 or an unknown path's 404 needs (shared_shape).
_INTEGER: Mapping[str, Fill] = dict.fromkeys(
    ("code", "status", "statuscode", "errorcode", "httpstatus"), _status
)
# In an item of the violations array, the violation's own values come first.
_ITEM: Mapping[str, Fill] = {
    **dict.fromkeys(
        ("field", "name", "path", "pointer", "location", "loc", "param", "parameter", "target"), _field
    ),
    **dict.fromkeys(("message", "description", "detail", "msg", "error"), _description),
    **dict.fromkeys(("rule", "code", "reason"), _rule),
}


@dataclass(frozen=True, slots=True)
class _Node:
    """How one JSON value is written: a scalar, an object, or the violations array."""

    fill: Fill | None = None
    properties: tuple[tuple[str, _Node], ...] = ()
    item: _Node | None = None
    # The array: sent empty when required; one item of the error's own when the object holding
    # it has no property for the message.
    required: bool = False
    per_error: bool = False

    def render(self, source: _Source) -> Any:
        if self.fill is not None:
            return self.fill(source)
        if self.item is not None:
            if source.error.violations and source.violation is None:
                return [self.item.render(replace(source, violation=v)) for v in source.error.violations]
            if self.per_error:
                return [self.item.render(source)]
            return [] if self.required else None
        body = {}
        for name, node in self.properties:
            value = node.render(source)
            if value is not None and value != {}:
                body[name] = value
        return body


_UNFILLED = (
    f"required, and nothing microlib knows of an error fills it (name what does with {EXTENSION}, "
    "or do not require it)"
)
# A schema with the document path it is written at, once a `$ref` was followed to it (None
# before: the caller's own schema, which the caller names).
_Located = tuple[Mapping[str, Any], DocumentPath | None]


def _under(at: DocumentPath | None, *parts: str | int) -> DocumentPath | None:
    return None if at is None else (*at, *parts)


class _Planner:
    """Walks a JSON schema (``$ref`` to ``#/$defs/`` or ``#/components/schemas/``) into a _Node."""

    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root
        # The object schemas being planned, outermost first: one that holds itself (an error's
        # `inner: {$ref: ErrorMessage}`) is filled once, its own copy inside left out.
        self.planning: list[Mapping[str, Any]] = []

    def deref(self, schema: Mapping[str, Any], at: DocumentPath | None = None) -> _Located:
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            target: Any = self.root
            parts: list[str | int] = []
            for raw in ref[2:].split("/"):
                part = raw.replace("~1", "/").replace("~0", "~")
                key = int(part) if isinstance(target, list) else part
                target = target[key]
                parts.append(key)
            return self.deref(target, tuple(parts))
        return schema, at

    def types(self, schema: Mapping[str, Any]) -> set[str]:
        """The JSON types a property schema allows (through ``$ref``, ``anyOf`` and ``oneOf``)."""
        schema, _ = self.deref(schema)
        kinds = schema.get("type")
        found = {kinds} if isinstance(kinds, str) else set(kinds or ())
        if "properties" in schema:
            found.add("object")
        for member in [*schema.get("anyOf", ()), *schema.get("oneOf", ())]:
            found |= self.types(member)
        return found

    def objects(self, schema: Mapping[str, Any], at: DocumentPath | None) -> list[_Located]:
        """The objects with properties ``schema`` may be: itself, else each ``anyOf`` or ``oneOf``
        member that is one (``X | null`` is X; GitHub's ``oneOf: [validation-error, basic-error]``
        is both), in the order written."""
        schema, at = self.deref(schema, at)
        if isinstance(schema.get("properties"), dict):
            return [(schema, at)]
        return [
            found
            for key in ("anyOf", "oneOf")
            for i, member in enumerate(schema.get(key, ()))
            for found in self.objects(member, _under(at, key, i))
        ]

    def items(self, schema: Mapping[str, Any], at: DocumentPath | None) -> list[_Located]:
        schema, at = self.deref(schema, at)
        for member, where in (
            (schema, at),
            *((m, _under(at, "anyOf", i)) for i, m in enumerate(schema.get("anyOf", ()))),
        ):
            member, where = self.deref(member, where)
            if isinstance(member.get("items"), dict):
                return self.objects(member["items"], _under(where, "items"))
        return []

    def first(self, objects: list[_Located], path: str, *, in_item: bool, listed: list[bool]) -> _Node:
        """The node of the first of ``objects`` microlib can write (the first refusal when none)."""
        refused: ErrorShapeError | None = None
        for schema, at in objects:
            trial = list(listed)
            self.planning.append(schema)
            try:
                node = self.plan(schema, at, path, in_item=in_item, listed=trial)
            except ErrorShapeError as exc:
                refused = refused or exc
                continue
            finally:
                self.planning.pop()
            if node.properties or len(objects) == 1:
                listed[0] = trial[0]
                return node
        if refused is not None:
            raise refused
        return _Node()

    def plan(
        self,
        schema: Mapping[str, Any],
        at: DocumentPath | None,
        path: str,
        *,
        in_item: bool,
        listed: list[bool],
    ) -> _Node:
        """The node of an object schema; ``listed`` holds whether a violations array was placed
        (only the first array of objects lists them)."""
        properties: list[tuple[str, _Node]] = []
        required = set(schema.get("required", ()))
        # Google's `{code: 404, status: "NOT_FOUND"}`: an integer beside it holds the HTTP status.
        numbered = any(
            _canonical(name) in _INTEGER and kinds & {"integer", "number"} and "string" not in kinds
            for name, prop in schema["properties"].items()
            for kinds in (self.types(prop),)
        )
        for name, prop in schema["properties"].items():
            where = f"{path}.{name}" if path else name
            node = self.property(
                name,
                prop,
                _under(at, "properties", name),
                where,
                in_item=in_item,
                listed=listed,
                required=name in required,
                numbered=numbered,
            )
            if node is not None:
                properties.append((name, node))
            elif name in required:
                raise ErrorShapeError(where, _UNFILLED, _under(at, "properties", name))
        has_message = any(node.fill in (_message, _description) for _, node in properties)
        done = []
        for name, node in properties:
            if node.item is not None:
                node = replace(node, required=name in required, per_error=not has_message)
            done.append((name, node))
        return _Node(properties=tuple(done))

    def property(
        self,
        name: str,
        prop: Mapping[str, Any],
        at: DocumentPath | None,
        where: str,
        *,
        in_item: bool,
        listed: list[bool],
        required: bool,
        numbered: bool = False,
    ) -> _Node | None:
        prop, at = self.deref(prop, at)
        kinds = self.types(prop)
        key = _canonical(name)
        named = prop.get(EXTENSION)
        if named is not None:
            return self.extension(str(named), kinds, prop, at, where, in_item=in_item, listed=listed)
        allowed = [prop["const"]] if "const" in prop else prop.get("enum")
        if isinstance(allowed, list) and len(allowed) == 1:
            # One value allowed (`"@type": {const: ...}`, `kind: {enum: [error]}`): that value.
            return _Node(fill=_Const(allowed[0]))
        fill = (
            ((_ITEM.get(key) if in_item else None) or _STRING.get(key)) if "string" in kinds else None
        ) or (_INTEGER.get(key) if kinds & {"integer", "number"} else None)
        if fill is None and key == "status" and "string" in kinds:
            fill = _string_status(prop, numbered)
        if fill is not None:
            return _Node(fill=fill)
        if "array" in kinds and not in_item and not listed[0]:
            items = self.items(prop, at)
            if items:
                try:
                    item: _Node | None = self.first(items, f"{where}[]", in_item=True, listed=listed)
                except ErrorShapeError:
                    if required:
                        raise
                    # An optional array whose items cannot be written is left out.
                    item = None
                if item is not None:
                    listed[0] = True
                    return _Node(item=item)
            return None
        nested = self.objects(prop, at) if "object" in kinds else []
        nested = [found for found in nested if not any(found[0] is open_ for open_ in self.planning)]
        if nested:
            node = self.first(nested, where, in_item=in_item, listed=listed)
            return node if node.properties else None
        return None

    def extension(
        self,
        named: str,
        kinds: set[str],
        prop: Mapping[str, Any],
        at: DocumentPath | None,
        where: str,
        *,
        in_item: bool,
        listed: list[bool],
    ) -> _Node | None:
        if named == "none":
            return None
        if named == "http-status":
            return _Node(fill=_status_text if "string" in kinds else _status)
        if named == "violations":
            items = self.items(prop, at)
            if not items or in_item or listed[0]:
                raise ErrorShapeError(where, f"{EXTENSION}: violations needs the first array of objects", at)
            listed[0] = True
            return _Node(item=self.first(items, f"{where}[]", in_item=True, listed=listed))
        if named not in _EXTENSIONS:
            known = ", ".join(sorted([*_EXTENSIONS, "http-status", "violations", "none"]))
            raise ErrorShapeError(where, f"{EXTENSION}: {named!r} is none of {known}", at)
        return _Node(fill=_EXTENSIONS[named])


def _string_status(prop: Mapping[str, Any], numbered: bool) -> Fill:
    """What fills a string ``status``: the HTTP status as text (GitHub's basic-error, JSON:API's
    error object), unless its ``enum`` or ``pattern`` refuses that, or an integer beside it holds
    the HTTP status already (Google's ``{code: 404, status: "NOT_FOUND"}``): then the code."""
    allowed = prop.get("enum")
    if isinstance(allowed, list):
        return _status_text if any(isinstance(v, str) and v.isdigit() for v in allowed) else _code
    pattern = prop.get("pattern")
    if isinstance(pattern, str):
        try:
            return _status_text if re.search(pattern, "400") else _code
        except re.error:
            pass
    return _code if numbered else _status_text


def _lists_violations(node: _Node) -> bool:
    """Whether ``node`` writes the violations array somewhere, at any depth."""
    return node.item is not None or any(_lists_violations(child) for _, child in node.properties)


def _plan(schema: Mapping[str, Any], root: Mapping[str, Any] | None = None) -> _Node | None:
    """How errors are written in ``schema`` (refs resolved in ``root``, default ``schema``);
    None when it is not an object."""
    planner = _Planner(root if root is not None else schema)
    tops = planner.objects(schema, None)
    return planner.first(tops, "", in_item=False, listed=[False]) if tops else None


def check_error_schema(schema: Mapping[str, Any], document: Mapping[str, Any]) -> None:
    """Check that microlib can write its errors in ``schema``, an error response's JSON schema.

    ``microlib codegen`` runs it on each error response a document declares, so that a schema
    the app would refuse at start is refused when generating already.

    Args:
        schema: The response's schema, as the document writes it.
        document: The whole document, which its ``$ref``s point into.

    Raises:
        ErrorShapeError: A required property nothing fills (or an ``x-microlib-error`` naming
            no value microlib has), with its schema path.
    """
    _plan(schema, document)


@dataclass(frozen=True, slots=True)
class ErrorShape:
    """How errors are written in one declared schema.

    Args:
        model: The declared schema's model, which checks each body written.
        media: The declared media type.
        node: What fills each property, at every depth.
    """

    model: type[BaseModel]
    media: str
    node: _Node
    lists_violations: bool = False

    @classmethod
    def of(cls, model: type[BaseModel], media: str) -> ErrorShape | None:
        """The shape of ``model``, or None when errors are not written in it.

        Raises:
            ErrorShapeError: The schema requires a property nothing fills.
        """
        if is_problem_media(media):
            return None
        node = _plan(model.model_json_schema())
        return None if node is None else cls(model, media, node, _lists_violations(node))

    def render(self, error: Error, status: int, message: str, correlation_id: str) -> bytes | None:
        """The body for ``error``, or None when the declared schema refuses it."""
        if error.violations and not self.lists_violations:
            # No array to list them in (`{code, message}`): the message names each field instead,
            # or a refusal would not say what to fix.
            named = "; ".join(f"{v.field}: {v.description}" for v in error.violations)
            message = f"{message}: {named}"
        body = self.node.render(_Source(error, status, message, correlation_id))
        try:
            self.model.model_validate(body)
        except ValidationError:
            return None
        return json.dumps(body, separators=(",", ":")).encode()


class ErrorShapes:
    """The shapes one operation declares for its errors, by status.

    Args:
        responses: The operation's documented responses.
        operation: Names the operation in an :class:`ErrorShapeError`.

    Raises:
        ErrorShapeError: A declared error schema requires a property nothing fills.
    """

    def __init__(self, responses: Sequence[Response], operation: str = "") -> None:
        self._declared: dict[str, ErrorShape | None] = {}
        for response in responses:
            if is_error_status(response.status):
                shape = None
                if response.model is not None and response.media is not None:
                    try:
                        shape = _shape_of(response.model, response.media)
                    except ErrorShapeError as exc:
                        where = f"{operation}: " if operation else ""
                        raise ErrorShapeError(
                            f"{where}responses.{response.status}.content.{response.media}.schema.{exc.path}",
                            exc.reason,
                        ) from None
                self._declared[response.status.upper()] = shape
        # Asked for every request the operation serves: decided once.
        self._any = any(self._declared.values())

    def __bool__(self) -> bool:
        return self._any

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


SCOPE_KEY = SHAPES_SCOPE_KEY
"""Where an operation that declares error shapes leaves them in its request's ASGI scope
(:data:`microlib.http.errors.SHAPES_SCOPE_KEY`)."""


def scope_shape(scope: Mapping[str, Any], status: int) -> ErrorShape | None:
    """The shape the operation serving ``scope`` declares for ``status``, if any."""
    shapes: ErrorShapes | None = scope.get(SCOPE_KEY)
    return shapes.shape(status) if shapes is not None else None


def shared_shape(shapes: Sequence[ErrorShapes], status: int) -> ErrorShape | None:
    """The shape every one of ``shapes`` declares for ``status``, if they agree: for the
    errors of a path (405) or of an app (404 for an unknown path) rather than an operation."""
    found = {s.shape(status) for s in shapes}
    return found.pop() if len(found) == 1 else None
