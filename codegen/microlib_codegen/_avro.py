"""Avro schemas -> the JSON Schemas the model generator reads.

An Avro message's payload is one record; it becomes a pydantic model, and
each record and enum it defines a model of its own, named after the type's
name without its namespace (``com.example.Address`` is ``Address``; a
different type of the same name elsewhere in the document is ``Address2``).
A type defined alike by several messages is one model.

=========================  ======================================
Avro                       model field
=========================  ======================================
null, boolean, string      ``None``, ``bool``, ``str``
int, long                  ``int`` (32, 64 bits checked on encoding)
float, double              ``float``
bytes, fixed               ``bytes`` (a fixed of its size)
record, enum               a model, a ``StrEnum``
array, map                 ``list[T]``, ``dict[str, T]``
union (``["null", T]``)    ``T | None`` (``A | B``)
date, time-millis/micros   ``date``, ``time``
timestamp-millis/micros    ``AwareDatetime`` (UTC)
local-timestamp-*          ``NaiveDatetime``
decimal, uuid              ``Decimal``, ``UUID``
=========================  ======================================

A field's ``default`` is the model field's default; a field without one is
required. Another logical type is its underlying type, as the Avro
specification says. The AsyncAPI JSON Schema checks each Avro type's shape
first (names, symbols, fields); a mistake it leaves (an unknown type name,
a type used before it is defined, a field or a type defined twice, a union
in a union, a decimal without precision, a payload that is no record) is an
error here, naming the file, line and path of the construct.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from microlib_codegen._asyncapi_ir import Where

__all__ = ["AvroTypes"]

_PRIMITIVES: dict[str, dict[str, Any]] = {
    "null": {"type": "null"},
    "boolean": {"type": "boolean"},
    # No bounds: the generator would make a bounded int in a union or a list a model of its own.
    # The runtime checks 32 and 64 bits when it encodes (microlib.messaging.avro).
    "int": {"type": "integer"},
    "long": {"type": "integer"},
    "float": {"type": "number"},
    "double": {"type": "number"},
    "bytes": {"type": "string", "format": "binary"},
    "string": {"type": "string"},
}
# The logical types fastavro reads into Python values, by underlying type; others read as that type.
_LOGICAL: dict[tuple[str, str], dict[str, Any]] = {
    ("int", "date"): {"type": "string", "format": "date"},
    ("int", "time-millis"): {"type": "string", "format": "time"},
    ("long", "time-micros"): {"type": "string", "format": "time"},
    ("long", "timestamp-millis"): {"type": "string", "format": "date-time"},
    ("long", "timestamp-micros"): {"type": "string", "format": "date-time"},
    ("long", "local-timestamp-millis"): {"type": "string", "format": "date-time-local"},
    ("long", "local-timestamp-micros"): {"type": "string", "format": "date-time-local"},
    ("string", "uuid"): {"type": "string", "format": "uuid"},
    ("bytes", "decimal"): {"type": "string", "format": "decimal"},
    ("fixed", "decimal"): {"type": "string", "format": "decimal"},
}
_REF = "#/components/schemas/"


class AvroTypes:
    """The models of a document's Avro payloads.

    Args:
        free: A model name not taken yet, from the one wanted (and takes it).
        schemas: The named JSON Schemas the model generator reads; each model is added there.
        error: Reports a mistake at a place in the document.
    """

    def __init__(
        self, free: Callable[[str], str], schemas: dict[str, Any], error: Callable[[Where, str], None]
    ) -> None:
        self._free = free
        self._schemas = schemas
        self._error = error
        # A named type's definition as written (and its namespace) -> its model: one model per type.
        self._models: dict[str, str] = {}

    def payload(self, schema: Any, where: Where) -> str | None:
        """The model of the Avro record ``schema`` at ``where``; None after reporting why there is none."""
        if not (isinstance(schema, dict) and schema.get("type") in ("record", "error")):
            kind = (
                schema.get("type")
                if isinstance(schema, dict)
                else "union"
                if isinstance(schema, list)
                else schema
            )
            self._error(where, f"an Avro payload must be a record (the message's model), not {kind!r}")
            return None
        reader = _Schema(self)
        converted = reader.type(schema, where, "")
        return None if reader.failed else str(converted["$ref"][len(_REF) :])

    def _model(self, node: dict[str, Any], namespace: str, simple: str) -> tuple[str, bool]:
        """The model of the named type ``node``, and whether it is new (its schema still to add)."""
        key = json.dumps([namespace, node], sort_keys=True)
        if key in self._models:
            return self._models[key], False
        model = self._models[key] = self._free(simple)
        return model, True


class _Schema:
    """One payload schema's types, read in order (a named type is defined before it is used).

    The document has passed the AsyncAPI JSON Schema, whose Avro schema checks the shape of each
    type (names, symbols, a fixed's size, a record's fields, an array's items, a map's values);
    what it leaves to codegen is reported here."""

    def __init__(self, types: AvroTypes) -> None:
        self.types = types
        self.named: dict[str, dict[str, Any]] = {}
        self.failed = False

    def error(self, where: Where, reason: str) -> dict[str, Any]:
        self.failed = True
        self.types._error(where, reason)
        return {}

    def type(self, node: Any, where: Where, namespace: str) -> dict[str, Any]:
        if isinstance(node, list):
            return self.union(node, where, namespace)
        if not isinstance(node, dict):
            return self.reference(str(node), where, namespace)
        kind, logical = node.get("type"), node.get("logicalType")
        known = _LOGICAL.get((str(kind), str(logical)))
        if known is not None:
            if logical == "decimal" and not isinstance(node.get("precision"), int):
                return self.error((*where, "precision"), "a decimal needs an integer precision")
            schema = dict(known)
        elif kind in ("record", "error"):
            return self.record(node, where, namespace)
        elif kind == "enum":
            return self.enum(node, where, namespace)
        elif kind == "fixed":
            size = node.get("size")
            schema = {"type": "string", "format": "binary", "minLength": size, "maxLength": size}
        elif kind == "array":
            return {"type": "array", "items": self.type(node.get("items"), (*where, "items"), namespace)}
        elif kind == "map":
            values = self.type(node.get("values"), (*where, "values"), namespace)
            return {"type": "object", "additionalProperties": values}
        else:  # a primitive or a name written as {"type": ...}
            return self.type(kind, (*where, "type"), namespace)
        if kind == "fixed":
            self.define(node, where, namespace, schema)
        return schema

    def reference(self, name: str, where: Where, namespace: str) -> dict[str, Any]:
        if name in _PRIMITIVES:
            return dict(_PRIMITIVES[name])
        full = name if "." in name or not namespace else f"{namespace}.{name}"
        found = self.named.get(full, self.named.get(name))
        if found is None:
            known = ", ".join([*_PRIMITIVES, *sorted(self.named)])
            return self.error(
                where,
                f"unknown Avro type {name!r} (known here: {known}; a named type is defined before its use)",
            )
        return dict(found)

    def union(self, node: list[Any], where: Where, namespace: str) -> dict[str, Any]:
        branches = []
        for i, branch in enumerate(node):
            if isinstance(branch, list):
                return self.error((*where, i), "a union may not hold a union")
            branches.append(self.type(branch, (*where, i), namespace))
        # ["null", T] reads as T | None.
        nulls = [b for b in branches if b == {"type": "null"}]
        return {"anyOf": [*[b for b in branches if b not in nulls], *nulls[:1]]}

    def define(self, node: dict[str, Any], where: Where, namespace: str, schema: dict[str, Any]) -> str:
        """Name ``node``'s type (its full name, and the namespace its own types inherit)."""
        name = str(node.get("name"))
        space = name.rsplit(".", 1)[0] if "." in name else str(node.get("namespace", namespace) or "")
        full = name if "." in name or not space else f"{space}.{name}"
        if full in self.named:
            self.error((*where, "name"), f"the Avro type {full} is defined twice")
        self.named[full] = schema
        return space

    def record(self, node: dict[str, Any], where: Where, namespace: str) -> dict[str, Any]:
        model, new = self.types._model(node, namespace, str(node.get("name")).rsplit(".", 1)[-1])
        ref = {"$ref": f"{_REF}{model}"}
        # Known by its name from here on: a field may refer to its own record.
        space = self.define(node, where, namespace, ref)
        properties: dict[str, Any] = {}
        required = []
        for i, field in enumerate(node.get("fields") or []):
            at = (*where, "fields", i)
            name = str(field.get("name"))
            if name in properties:
                self.error((*at, "name"), f"the record {node.get('name')} has two fields {name!r}")
                continue
            schema = self.type(field.get("type"), (*at, "type"), space)
            if isinstance(field.get("doc"), str):
                schema["description"] = field["doc"]
            if "default" in field:
                schema["default"] = field["default"]
            else:
                required.append(name)
            properties[name] = schema
        definition: dict[str, Any] = {"type": "object", "additionalProperties": False}
        definition["properties"] = properties
        if required:
            definition["required"] = required
        if isinstance(node.get("doc"), str):
            definition["description"] = node["doc"]
        if new:
            self.types._schemas[model] = definition
        return dict(ref)

    def enum(self, node: dict[str, Any], where: Where, namespace: str) -> dict[str, Any]:
        model, new = self.types._model(node, namespace, str(node.get("name")).rsplit(".", 1)[-1])
        if new:
            definition: dict[str, Any] = {"type": "string", "enum": node.get("symbols")}
            if isinstance(node.get("doc"), str):
                definition["description"] = node["doc"]
            self.types._schemas[model] = definition
        schema = {"$ref": f"{_REF}{model}"}
        self.define(node, where, namespace, schema)
        return dict(schema)
