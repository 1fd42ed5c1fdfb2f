"""An OpenAPI 3.1 document for the HTTP-transcoded methods of a contract.

Every ``google.api.http`` binding becomes an operation: path parameters for
the template's variables, the body as the rule says (path-bound fields left
out of it), query parameters for the remaining fields, the response (or its
``response_body`` field; NDJSON and SSE for server streams) and a
problem+json ``default`` response. Schemas follow the proto3 JSON mapping
the transcoder speaks: lowerCamelCase names, 64-bit integers as strings,
enums by name, formats for well-known types; ``required`` from
``field_behavior = REQUIRED``, ``readOnly`` from ``OUTPUT_ONLY`` and
``deprecated`` from ``deprecated = true`` (on a field, a method or its service); every
rule the server enforces (REQUIRED, ``buf.validate``) as JSON Schema
keywords, or in words where there is none (:mod:`._schema_rules`).
The output is deterministic: same contract, same bytes.
"""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

from microlib_codegen._http_rules import carries_http_body, field_path
from microlib_codegen._schema_rules import constrain, is_required, must_send
from microlib_codegen.model import (
    Contract,
    Field,
    FieldKind,
    HttpBinding,
    MessageType,
    Method,
    Service,
    TypeRef,
)

__all__ = ["openapi_document"]

_VARIABLE = re.compile(r"\{([^}=]+)(?:=([^}]*))?\}")
_PROBLEM = "#/components/responses/Problem"
_OPENAPI_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
_INT32 = {"type": "integer", "format": "int32", "minimum": -(2**31), "maximum": 2**31 - 1}
_UINT32 = {"type": "integer", "format": "int64", "minimum": 0, "maximum": 2**32 - 1}
# 64-bit integers are strings in JSON. A response may hold any of them (19 or 20 digits); a
# request's pattern keeps to digits that always fit (a longer one may be out of range).
_INT64 = {"type": "string", "format": "int64", "pattern": "^-?[0-9]{1,19}$"}
_UINT64 = {"type": "string", "format": "uint64", "pattern": "^[0-9]{1,20}$"}
# A request may also write a 64-bit integer as a JSON number (proto3 JSON).
_INPUT_64 = {
    "int64": {**_INT64, "type": ["string", "integer"], "pattern": "^-?[0-9]{1,18}$"}
    | {"minimum": -(2**63), "maximum": 2**63 - 1},
    "uint64": {**_UINT64, "type": ["string", "integer"], "pattern": "^[0-9]{1,19}$"}
    | {"minimum": 0, "maximum": 2**64 - 1},
}
_ENUM_NUMBER = {"type": "integer", "format": "int32", "minimum": -(2**31), "maximum": 2**31 - 1}
# The largest float32 as proto3 JSON writes it (shortest round-trip form),
# a hair above the exact value: responses carrying it must validate.
_FLOAT_MAX = 3.4028235e38
_SCALARS: dict[str, dict[str, Any]] = {
    **dict.fromkeys(("int32", "sint32", "sfixed32"), _INT32),
    **dict.fromkeys(("uint32", "fixed32"), _UINT32),
    **dict.fromkeys(("int64", "sint64", "sfixed64"), _INT64),
    **dict.fromkeys(("uint64", "fixed64"), _UINT64),
    "float": {"type": "number", "format": "float", "minimum": -_FLOAT_MAX, "maximum": _FLOAT_MAX},
    "double": {"type": "number", "format": "double"},
    "bool": {"type": "boolean"},
    "string": {"type": "string"},
    "bytes": {"type": "string", "format": "byte", "contentEncoding": "base64"},
}
# Map keys are JSON object keys: the text of the key type.
_KEY_NAMES: dict[str, dict[str, Any]] = {
    "bool": {"enum": ["true", "false"]},
    **{s: {"pattern": "^-?[0-9]{1,9}$"} for s in ("int32", "sint32", "sfixed32")},
    **{s: {"pattern": "^[0-9]{1,9}$"} for s in ("uint32", "fixed32")},
    **{s: {"pattern": "^-?[0-9]{1,18}$"} for s in ("int64", "sint64", "sfixed64")},
    **{s: {"pattern": "^[0-9]{1,19}$"} for s in ("uint64", "fixed64")},
}
_WRAPPED = {
    "Bool": "bool", "Int32": "int32", "Int64": "int64", "UInt32": "uint32", "UInt64": "uint64",
    "Float": "float", "Double": "double", "String": "string", "Bytes": "bytes",
}  # fmt: skip
_MASK_SEGMENT = r"([a-z][a-zA-Z0-9]*|\*)"
_MASK_PATH = rf"{_MASK_SEGMENT}(\.{_MASK_SEGMENT})*"
_WELL_KNOWN: dict[str, dict[str, Any]] = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {"type": "string", "pattern": r"^-?[0-9]{1,11}(\.[0-9]{1,9})?s$"},
    "google.protobuf.FieldMask": {
        "type": "string",
        # lowerCamelCase paths, "*" as AIP-161's wildcard; microlib.contract.protojson
        # enforces the same pattern on input.
        "pattern": rf"^({_MASK_PATH}(,{_MASK_PATH})*)?$",
    },
    "google.protobuf.Struct": {"type": "object", "additionalProperties": True},
    "google.protobuf.Value": {},
    "google.protobuf.ListValue": {"type": "array"},
    "google.protobuf.Empty": {"type": "object", "additionalProperties": False},
    # An empty Any is {} in protobuf's JSON mapping (json_format reads and
    # writes it so); any other needs its "@type".
    "google.protobuf.Any": {
        "type": "object",
        "properties": {"@type": {"type": "string"}},
        "anyOf": [{"required": ["@type"]}, {"maxProperties": 0}],
        "additionalProperties": True,
    },
    **{
        f"google.protobuf.{name}Value": {**_SCALARS[scalar], "type": [_SCALARS[scalar]["type"], "null"]}
        for name, scalar in _WRAPPED.items()
    },
}
# A request's 64-bit wrapper, as a request's 64-bit field: a JSON number too, and digits that fit.
_WELL_KNOWN_INPUT: dict[str, dict[str, Any]] = {
    f"google.protobuf.{name}Value": {**_INPUT_64[scalar], "type": ["string", "integer", "null"]}
    for name, scalar in (("Int64", "int64"), ("UInt64", "uint64"))
}
# Messages whose JSON form is text: a query parameter can carry them.
_TEXT = ("google.protobuf.Timestamp", "google.protobuf.Duration", "google.protobuf.FieldMask")


def openapi_document(contract: Contract) -> str | None:
    """The OpenAPI 3.1 JSON text for ``contract``'s HTTP bindings, or None without any."""
    services = sorted(
        (s for s in contract.services if any(m.http for m in s.methods)), key=lambda s: s.full_name
    )
    if not services:
        return None
    builder = _Builder(contract)
    for service in services:
        for method in service.methods:
            for index, binding in enumerate(method.http):
                # OpenAPI 3.1 has no place for custom HTTP methods (`custom: {kind: "LOCK"}`).
                if binding.method.lower() in _OPENAPI_METHODS:
                    builder.operation(service, method, binding, index)
    title = services[0].full_name if len(services) == 1 else ", ".join(s.full_name for s in services)
    version = services[0].package.rsplit(".", 1)[-1]
    document = {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version if re.fullmatch(r"v\d+\w*", version) else "0",
            **({"description": services[0].doc} if len(services) == 1 and services[0].doc else {}),
        },
        "tags": [{"name": s.full_name, **({"description": s.doc} if s.doc else {})} for s in services],
        "paths": dict(sorted(builder.paths.items())),
        "components": {
            "schemas": {**dict(sorted(builder.schemas.items())), "Problem": _problem_schema()},
            "responses": {
                "Problem": {
                    "description": "An error (RFC 9457 problem details).",
                    "content": {
                        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                    },
                }
            },
        },
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


class _Builder:
    """Builds the paths and the component schemas.

    The rules the server enforces are checked on requests only (a servicer's
    response is not validated), so a message with rules has two schemas when
    requests use it: ``<name>-Input``, with the rules, and ``<name>`` (the
    names pydantic and FastAPI give such pairs).
    """

    def __init__(self, contract: Contract) -> None:
        self.contract = contract
        self.paths: dict[str, dict[str, Any]] = {}
        self.schemas: dict[str, Any] = {}
        self._inputs = self._with_rules()

    def _with_rules(self) -> frozenset[str]:
        """The messages whose request schema differs: own rules, or a field of such a message."""
        messages = self.contract.messages
        found = {
            name for name, m in messages.items() if m.required_oneofs or any(_has_rules(f) for f in m.fields)
        }
        changed = True
        while changed:
            changed = False
            for name, m in messages.items():
                if name not in found and any(
                    f.type is not None and f.type.full_name in found for f in m.fields
                ):
                    found.add(name)
                    changed = True
        return frozenset(found)

    def operation(self, service: Service, method: Method, binding: HttpBinding, index: int) -> None:
        request = self.contract.messages[method.input.full_name]
        variables = [v.split(".") for v, _ in _VARIABLE.findall(binding.path)]
        path, segments = _openapi_path(binding.path)
        parameters = [
            self._path_parameter(request, field.split("."), name, pattern)
            for name, field, pattern in segments
        ]
        bound = {tuple(v) for v in variables}
        op: dict[str, Any] = {
            "operationId": f"{service.name}_{method.name}" + (f"_{index + 1}" if index else ""),
            "tags": [service.full_name],
        }
        if method.doc:
            op["summary"] = method.doc.split("\n", 1)[0]
            op["description"] = method.doc
        if method.deprecated:
            op["deprecated"] = True
        if binding.body != "*":
            body = self._body_path(request, binding)
            parameters.extend(
                self._query(request, (), bound, {body} if body else set(), frozenset(), required=True)
            )
        if parameters:
            op["parameters"] = parameters
        if binding.body and carries_http_body(self.contract.messages, request, binding.body):
            # Any media type, as the client sends it (OpenAPI 3.1: raw content needs no schema).
            op["requestBody"] = {"required": True, "content": {"*/*": {}}}
        elif binding.body:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": self._body(request, binding, bound)}},
            }
        op["responses"] = {"200": self._response(method, binding), "default": {"$ref": _PROBLEM}}
        self.paths.setdefault(path, {})[binding.method.lower()] = op

    def _path_parameter(
        self, request: MessageType, names: list[str], name: str, pattern: str
    ) -> dict[str, Any]:
        field = self._walk(request, names)
        dotted = ".".join(names)
        # A segment of a field (`{name=shelves/*}`) is not the field: its rules are the field's whole value's.
        whole = pattern in ("", dotted)
        schema = {"type": "string"}
        if field is not None:
            schema = (
                self._field_schema(field, request=True) if whole else self._type_schema(field, request=True)
            )
        rules = schema.pop("description", "")
        parameter: dict[str, Any] = {"name": name, "in": "path", "required": True, "schema": schema}
        doc = _joined(field.doc, rules) if field is not None else ""
        if pattern == dotted:
            doc = f"{doc}\n\nThe field `{dotted}`.".strip()
        elif pattern:
            doc = f"{doc}\n\nA segment of `{dotted}` (`{pattern}`).".strip()
        if doc:
            parameter["description"] = doc
        return parameter

    def _walk(self, message: MessageType, names: list[str]) -> Field | None:
        field = None
        for name in names:
            field = next((f for f in message.fields if name in (f.name, f.json_name)), None)
            if field is None:
                return None
            if field.type is not None and field.type.full_name in self.contract.messages:
                message = self.contract.messages[field.type.full_name]
        return field

    def _query(
        self,
        message: MessageType,
        prefix: tuple[tuple[str, str], ...],
        bound: set[tuple[str, ...]],
        skip: set[tuple[str, ...]],
        seen: frozenset[str],
        *,
        required: bool,
    ) -> list[dict[str, Any]]:
        """Query parameters for the fields neither the path nor the body binds.

        ``prefix`` holds ``(proto name, JSON name)`` pairs of the enclosing fields;
        ``skip`` the field path the body binds; ``required`` says whether every
        enclosing field is REQUIRED (a REQUIRED field is a required parameter then).
        """
        found: list[dict[str, Any]] = []
        for f in message.fields:
            names = (*(p for p, _ in prefix), f.name)
            if names in skip or names in bound or f.output_only:
                continue
            ref = f.type
            if f.map_key is not None:
                if _text_value(f):
                    found.append(_marked(f, self._map_parameter(f, prefix)))
                continue
            if (
                f.kind is FieldKind.MESSAGE
                and ref is not None
                and ref.well_known is None
                and ref.full_name not in _TEXT
            ):
                inner = self.contract.messages.get(ref.full_name)
                if f.repeated or inner is None or ref.full_name in seen or ref.package == "google.protobuf":
                    continue
                nested = (*prefix, (f.name, f.json_name))
                found.extend(
                    self._query(
                        inner,
                        nested,
                        bound,
                        skip,
                        seen | {message.ref.full_name},
                        required=required and is_required(f),
                    )
                )
                continue
            parameter: dict[str, Any] = {
                "name": ".".join((*(j for _, j in prefix), f.json_name)),
                "in": "query",
                "schema": self._field_schema(f, request=True),
            }
            if required and must_send(f, parameter["schema"]):
                parameter["required"] = True
            if f.repeated:
                parameter["explode"] = True
            description = _joined(f.doc, parameter["schema"].pop("description", ""))
            if description:
                parameter["description"] = description
            found.append(_marked(f, parameter))
        return found

    def _map_parameter(self, f: Field, prefix: tuple[tuple[str, str], ...]) -> dict[str, Any]:
        """A map field as the query sets it: an entry per parameter, ``labels[genre]=novel``, which
        is OpenAPI's deepObject style (grpc-gateway's reading of ``field[key]=value``)."""
        parameter: dict[str, Any] = {
            "name": ".".join((*(j for _, j in prefix), f.json_name)),
            "in": "query",
            "style": "deepObject",
            "explode": True,
            "schema": self._field_schema(f, request=True),
        }
        values = parameter["schema"]["additionalProperties"]
        if isinstance(values.get("type"), list):
            # A wrapper's null (unset in a JSON body) has no text in a query: `labels[k]=null` is text.
            values["type"] = [t for t in values["type"] if t != "null"]
            if len(values["type"]) == 1:
                values["type"] = values["type"][0]
        description = _joined(f.doc, parameter["schema"].pop("description", ""))
        if description:
            parameter["description"] = description
        return parameter

    def _body_chain(self, request: MessageType, binding: HttpBinding) -> list[Field]:
        """The fields down to the one ``body`` binds (a dotted path to a nested field, as
        grpc-gateway allows); empty for none or ``*``."""
        if binding.body in ("", "*"):
            return []
        chain = field_path(self.contract.messages, request, binding.body)
        assert chain is not None, "bindings are checked when the contract is read"
        return chain

    def _body_path(self, request: MessageType, binding: HttpBinding) -> tuple[str, ...]:
        return tuple(f.name for f in self._body_chain(request, binding))

    def _body(
        self, request: MessageType, binding: HttpBinding, bound: set[tuple[str, ...]]
    ) -> dict[str, Any]:
        if binding.body == "*":
            return self._without(request, {names[0] for names in bound if len(names) == 1})
        chain = self._body_chain(request, binding)
        field, path, depth = chain[-1], tuple(f.name for f in chain), len(chain)
        inside = {names[depth] for names in bound if len(names) == depth + 1 and names[:depth] == path}
        if (
            field.kind is FieldKind.MESSAGE
            and field.type is not None
            and field.type.full_name in self.contract.messages
            and inside
            and not field.repeated
        ):
            return self._without(self.contract.messages[field.type.full_name], inside)
        return self._field_schema(field, request=True)

    def _without(self, message: MessageType, names: set[str]) -> dict[str, Any]:
        """The message's schema without the path-bound fields ``names``."""
        if not names:
            return self._ref(message.ref, request=True)
        schema = self._message_schema(message, request=True)
        props = schema["properties"]
        for f in message.fields:
            if f.name in names:
                props.pop(f.json_name, None)
        required = [r for r in schema.get("required", []) if r in props]
        schema.pop("required", None)
        return {**schema, **({"required": required} if required else {})}

    def _response(self, method: Method, binding: HttpBinding) -> dict[str, Any]:
        response = self.contract.messages[method.output.full_name]
        if carries_http_body(self.contract.messages, response, binding.response_body):
            what = "The chunks of one body" if method.server_streaming else "OK"
            return {
                "description": f"{what}: the media type and bytes the google.api.HttpBody carries.",
                "content": {"*/*": {}},
            }
        if binding.response_body not in ("", "*"):
            field = next(f for f in response.fields if f.name == binding.response_body)
            schema = self._field_schema(field, request=False)
        else:
            schema = self._ref(method.output, request=False)
        if method.server_streaming:
            return {
                "description": "A stream of messages: one JSON document per line, or Server-Sent Events.",
                "content": {
                    "application/x-ndjson": {"schema": {"type": "string"}, "x-item-schema": schema},
                    "text/event-stream": {"schema": {"type": "string"}, "x-item-schema": schema},
                },
            }
        return {"description": "OK", "content": {"application/json": {"schema": schema}}}

    def _ref(self, ref: TypeRef, *, request: bool) -> dict[str, Any]:
        if ref.full_name in _WELL_KNOWN:
            if request and ref.full_name in _WELL_KNOWN_INPUT:
                return dict(_WELL_KNOWN_INPUT[ref.full_name])
            return dict(_WELL_KNOWN[ref.full_name])
        request = request and ref.full_name in self._inputs
        name = f"{ref.full_name}-Input" if request else ref.full_name
        if name not in self.schemas:
            self.schemas[name] = {}
            if ref.kind is FieldKind.ENUM:
                self.schemas[name] = self._enum_schema(ref)
            else:
                self.schemas[name] = self._message_schema(
                    self.contract.messages[ref.full_name], request=request
                )
        return {"$ref": f"#/components/schemas/{name}"}

    def _enum_schema(self, ref: TypeRef) -> dict[str, Any]:
        enum = self.contract.enums[ref.full_name]
        # Open enums (proto3 JSON): a number is read too, and one no name has is kept and written back.
        names = {"type": "string", "enum": [name for name, _ in enum.values]}
        schema: dict[str, Any] = {"anyOf": [names, _ENUM_NUMBER]}
        if enum.doc:
            schema["description"] = enum.doc
        return schema

    def _message_schema(self, message: MessageType, *, request: bool) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "object"}
        if message.doc:
            schema["description"] = message.doc
        properties: dict[str, Any] = {}
        for f in message.fields:
            prop = self._field_schema(f, request=request)
            description = _joined(f.doc, prop.get("description", ""))
            if description:
                prop = {**prop, "description": description}
            if f.output_only:
                prop = {**prop, "readOnly": True}
            if f.deprecated:
                prop = {**prop, "deprecated": True}
            properties[f.json_name] = prop
        schema["properties"] = properties
        # Unknown fields are rejected (transcoding.unknown_fields = "reject").
        schema["additionalProperties"] = False
        # Fields REQUIRED are always written (microlib.contract.protojson), so responses have them too.
        required = [
            f.json_name
            for f in message.fields
            if (must_send(f, properties[f.json_name]) if request else f.required)
        ]
        if required:
            schema["required"] = required
        if request:
            # proto3 JSON reads null as "not set": a field that need not be sent may be null.
            for f in message.fields:
                if f.json_name not in required and not _holds_null(f):
                    properties[f.json_name] = _nullable(properties[f.json_name])
        groups = _oneof_rules(message) if request else []
        if groups:
            schema.update(groups[0] if len(groups) == 1 else {"allOf": groups})
        return schema

    def _field_schema(self, f: Field, *, request: bool) -> dict[str, Any]:
        schema = self._type_schema(f, request=request)
        return constrain(schema, f) if request else schema

    def _type_schema(self, f: Field, *, request: bool) -> dict[str, Any]:
        if f.kind is FieldKind.SCALAR or f.type is None:
            value = dict(_input_scalar(f.scalar) if request else _SCALARS[f.scalar])
        else:
            value = self._ref(f.type, request=request)
        return _shaped(f, value)


def _oneof_rules(message: MessageType) -> list[dict[str, Any]]:
    """What a request says of ``message``'s oneofs: at most one member of each (the transcoder
    refuses two, as json_format does), and at least one of a oneof ``buf.validate`` requires."""
    members: dict[str, list[str]] = {}
    for f in message.fields:
        if f.oneof is not None:
            members.setdefault(f.oneof, []).append(f.json_name)
    # A null member is unset (json_format does not count it either): two members both set and
    # neither null are refused.
    rules: list[dict[str, Any]] = [
        {"not": {"anyOf": [_both_set(pair) for pair in itertools.combinations(names, 2)]}}
        for names in members.values()
        if len(names) > 1
    ]
    rules += [
        {"anyOf": [{"required": [name]} for name in members[oneof]]} for oneof in message.required_oneofs
    ]
    return rules


def _both_set(names: tuple[str, ...]) -> dict[str, Any]:
    return {"required": list(names), "properties": {name: {"not": {"type": "null"}} for name in names}}


def _text_value(f: Field) -> bool:
    """Whether a value of ``f`` can come from a query's text: a scalar, an enum, a wrapper, or a
    message whose JSON form is a string (what the transcoder reads; other messages only in a body)."""
    ref = f.type
    if f.kind is not FieldKind.MESSAGE or ref is None:
        return True
    return ref.well_known is not None or ref.full_name in _TEXT


def _marked(f: Field, parameter: dict[str, Any]) -> dict[str, Any]:
    """``parameter``, the query parameter of ``f``, marked deprecated when ``f`` is."""
    if f.deprecated:
        parameter["deprecated"] = True
    return parameter


def _shaped(f: Field, value: dict[str, Any]) -> dict[str, Any]:
    """The schema of field ``f`` whose values have the schema ``value`` (a map, a list, or one)."""
    if f.map_key is not None:
        schema: dict[str, Any] = {"type": "object", "additionalProperties": value}
        if f.map_key in _KEY_NAMES:
            schema["propertyNames"] = _KEY_NAMES[f.map_key]
        return schema
    if f.repeated:
        return {"type": "array", "items": value}
    return value


def _has_rules(f: Field) -> bool:
    """Whether a request's schema of ``f`` differs from the response's: rules, must be sent,
    or may be null (a field that need not be sent)."""
    plain = _shaped(f, dict(_SCALARS[f.scalar]) if f.kind is FieldKind.SCALAR else {"$ref": "#"})
    constrained = constrain(plain, f)
    sent = must_send(f, constrained)
    written_otherwise = f.kind is FieldKind.ENUM or (
        f.kind is FieldKind.SCALAR and _input_scalar(f.scalar) != _SCALARS[f.scalar]
    )
    return constrained != plain or sent != f.required or not (sent or _holds_null(f)) or written_otherwise


def _input_scalar(scalar: str) -> dict[str, Any]:
    """A scalar's schema in a request: 64-bit integers may be JSON numbers too."""
    schema = _SCALARS[scalar]
    return _INPUT_64.get(schema.get("format", ""), schema) if schema.get("type") == "string" else schema


def _holds_null(f: Field) -> bool:
    """A ``google.protobuf.Value`` field, where null is a value (its schema already allows it)."""
    return f.type is not None and f.type.full_name == "google.protobuf.Value" and not f.repeated


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` that also allows null."""
    kind = schema.get("type")
    if isinstance(kind, str | list):
        kinds = [kind] if isinstance(kind, str) else kind
        out = {**schema, "type": kinds if "null" in kinds else [*kinds, "null"]}
        if "enum" in schema:
            out["enum"] = [*schema["enum"], None]
        return out
    notes: dict[str, Any] = {k: schema[k] for k in ("description", "readOnly", "deprecated") if k in schema}
    inner = {k: v for k, v in schema.items() if k not in notes}
    if not inner:
        return schema
    return {"anyOf": [inner, {"type": "null"}], **notes}


def _openapi_path(template: str) -> tuple[str, list[tuple[str, str, str]]]:
    """An OpenAPI path for a rule's template, and its parameters.

    OpenAPI path parameters cannot span segments, and ``/v1/{name=shelves/*}``
    and ``/v1/{name=shelves/*/books/*}`` must stay two paths, so a variable
    with a sub-template is written out: its literals stay, each wildcard
    becomes a parameter named after the literal before it
    (``/v1/shelves/{shelves}/books/{books}``); the transcoder rebuilds the
    field from the whole matched text.

    Returns:
        The path and ``(parameter name, field path, sub-template)`` triples.
    """
    params: list[tuple[str, str, str]] = []

    def unique(name: str) -> str:
        # A path names each parameter once: `{a=x/*}/y/{b=x/*}` has `{x}` and `{x_2}`.
        taken = {p[0] for p in params}
        n = 1
        while (found := name if n == 1 else f"{name}_{n}") in taken:
            n += 1
        return found

    def expand(found: re.Match[str]) -> str:
        field, sub = found.group(1), found.group(2)
        if not sub or sub in ("*", "**"):
            # Dots in parameter names break URI template tools: `{book.id}` → `{book_id}`.
            name = unique(field.replace(".", "_"))
            params.append((name, field, "" if name == field else field))
            return "{" + name + "}"
        parts = sub.split("/")
        out = []
        for i, part in enumerate(parts):
            if part in ("*", "**"):
                name = parts[i - 1] if i and parts[i - 1] not in ("*", "**") else f"{field}_{i}"
                name = unique(name)
                params.append((name, field, sub))
                out.append("{" + name + "}")
            else:
                out.append(part)
        return "/".join(out)

    return _VARIABLE.sub(expand, template), params


def _joined(*texts: str) -> str:
    return "\n\n".join(t for t in texts if t)


def _problem_schema() -> dict[str, Any]:
    text = {"type": "string"}
    return {
        "type": "object",
        "description": "RFC 9457 problem details with the canonical error code and field violations.",
        "properties": {
            "type": text,
            "title": text,
            "status": {"type": "integer"},
            "detail": text,
            "code": text,
            "reason": text,
            "domain": text,
            "metadata": {"type": "object", "additionalProperties": text},
            "violations": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"field": text, "description": text, "rule": text},
                    "required": ["field", "description"],
                },
            },
            "correlation_id": text,
        },
        "required": ["type", "title", "status", "code", "detail"],
    }
