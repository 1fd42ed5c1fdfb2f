"""Read the messages of a bundled AsyncAPI document: names, payload and header models.

Payload and header schemas become named schemas of a synthetic OpenAPI 3.1
document the model generator reads: a ``$ref`` to a component schema is
that component's model (one type wherever it is used), an inline schema a
model named after its message, the headers a message trait gives one model
named after the trait. A protobuf payload naming a message of the proto
contracts generated with it is that message. Message traits are applied
(2.6: each trait is a JSON Merge Patch over the message; 3.x: the message's
own fields win over its traits', later traits over earlier ones).

An Avro payload (``schemaFormat: application/vnd.apache.avro...``) is a
record: its models come from :mod:`._avro`, and the message keeps the
schema for the runtime's codec. What microlib cannot generate code for (a
non-JSON content type of a JSON Schema payload, Avro's JSON encoding, a
protobuf message of no contract) is skipped with a warning naming file,
line and reason.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from typing import Any

from microlib_codegen._asyncapi_ir import MessageSpec, Where
from microlib_codegen._avro import AvroTypes
from microlib_codegen._bundle import Bundled
from microlib_codegen._openapi_ops import pascal

__all__ = ["AVRO_CONTENT_TYPE", "DocumentReader", "merge_patch", "schema_kind"]

AVRO_CONTENT_TYPE = "application/vnd.apache.avro"

_PROTO_PACKAGE = re.compile(r"^\s*package\s+([\w.]+)\s*;", re.MULTILINE)
_PROTO_MESSAGE = re.compile(r"^\s*message\s+(\w+)", re.MULTILINE)


def schema_kind(schema_format: str | None) -> str:
    """``json``, ``protobuf``, ``avro`` or ``other`` for a message's ``schemaFormat``
    (``application/vnd.apache.avro;version=1.9.0``, and its ``+json`` and ``+yaml``, are Avro)."""
    if schema_format is None:
        return "json"
    base = schema_format.split(";", 1)[0].strip().lower()
    if base.startswith(
        ("application/vnd.aai.asyncapi", "application/schema+", "application/vnd.oai.openapi")
    ):
        return "json"
    if base == "application/vnd.google.protobuf":
        return "protobuf"
    if base in (AVRO_CONTENT_TYPE, f"{AVRO_CONTENT_TYPE}+json", f"{AVRO_CONTENT_TYPE}+yaml"):
        return "avro"
    return "other"


def _is_json(media: str) -> bool:
    base = media.split(";", 1)[0].strip().lower()
    return base == "application/json" or base.endswith("+json")


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON Merge Patch: ``patch`` applied to ``target`` (neither is changed)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


class DocumentReader:
    """A bundled document's navigation (refs, traits, problems) and its messages and models.

    Args:
        bundled: The document, validated against its schema.
        proto_messages: Full names of the proto messages generated in the
            same run (a protobuf payload must name one of them).
    """

    def __init__(self, bundled: Bundled, proto_messages: Mapping[str, str]) -> None:
        self.bundled = bundled
        self.doc = bundled.document
        self.v3 = str(self.doc["asyncapi"]).startswith("3.")
        self.proto = proto_messages
        self.warnings: list[str] = []
        self.errors: list[str] = []
        self.schemas: dict[str, Any] = {}
        # Where each of those schemas is written, for the lines of what the models leave out.
        self.origins: dict[str, Where] = {}
        self.taken: set[str] = set()
        self.renamed: dict[str, str] = {}
        self.messages: dict[Where, MessageSpec | None] = {}
        self.headers: dict[str, str] = {}
        self.avro = AvroTypes(self._free, self.schemas, self._error)
        components = (self.doc.get("components") or {}).get("schemas") or {}
        for name in components:
            self.renamed[name] = self._free(pascal(name) or "Schema")
        for name, schema in components.items():
            where: Where = ("components", "schemas", name)
            if isinstance(schema, dict) and "schemaFormat" in schema and "type" not in schema:
                kind = schema_kind(schema["schemaFormat"])
                if kind == "avro":
                    continue  # the models of the messages that use it
                if kind != "json":
                    self._warn(where, f"schemaFormat {schema['schemaFormat']} is not JSON Schema: no model")
                    continue
                schema, where = schema.get("schema", {}), (*where, "schema")
            self.schemas[self.renamed[name]] = self._convert(schema, 0)
            self.origins[self.renamed[name]] = where

    def _warn(self, where: Where, reason: str) -> None:
        self.warnings.append(self.bundled.located(where, reason))

    def _error(self, where: Where, reason: str) -> None:
        self.errors.append(self.bundled.located(where, reason))

    def _free(self, wanted: str) -> str:
        name, n = wanted, 2
        while name in self.taken:
            name, n = f"{wanted}{n}", n + 1
        self.taken.add(name)
        return name

    def _pointer(self, ref: str) -> tuple[Any, Where]:
        node: Any = self.doc
        path: Where = ()
        for raw in ref.removeprefix("#").split("/")[1:]:
            node, path = self._deref(node, path)
            part = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, list):
                node, path = node[int(part)], (*path, int(part))
            else:
                node, path = node[part], (*path, part)
        return node, path

    def _deref(self, node: Any, path: Where) -> tuple[Any, Where]:
        seen: set[str] = set()
        while isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"] not in seen:
            seen.add(node["$ref"])
            node, path = self._pointer(node["$ref"])
        return node, path

    def _convert(self, schema: Any, depth: int) -> Any:
        """A schema as the OpenAPI 3.1 model generator reads it: refs renamed,
        AsyncAPI's string ``discriminator`` made an object, other refs inlined."""
        if isinstance(schema, list):
            return [self._convert(item, depth) for item in schema]
        if not isinstance(schema, dict):
            return schema
        ref = schema.get("$ref")
        if isinstance(ref, str):
            prefix = "#/components/schemas/"
            if ref.startswith(prefix) and ref[len(prefix) :] in self.renamed:
                return {**schema, "$ref": prefix + self.renamed[ref[len(prefix) :]]}
            if depth < 32:
                return self._convert(self._deref(schema, ())[0], depth + 1)
        out = {key: self._convert(value, depth) for key, value in schema.items()}
        if isinstance(schema.get("discriminator"), str):
            out["discriminator"] = {"propertyName": schema["discriminator"]}
        return out

    def _with_traits(self, obj: dict[str, Any], path: Where) -> dict[str, Any]:
        base = {k: v for k, v in obj.items() if k != "traits"}
        traits = [self._deref(t, (*path, "traits", i))[0] for i, t in enumerate(obj.get("traits") or [])]
        merged: dict[str, Any] = {} if self.v3 else base
        for trait in traits:
            merged = self._merge(merged, trait)
        return self._merge(merged, base) if self.v3 else merged

    def _merge(self, target: Any, patch: Any) -> Any:
        # Refs are followed where two objects meet, so a trait's headers and
        # the message's own are merged as schemas, not as {"$ref": ...}.
        if isinstance(target, dict) and isinstance(patch, dict):
            target, patch = self._deref(target, ())[0], self._deref(patch, ())[0]
            out = dict(target)
            for key, value in patch.items():
                out[key] = self._merge(out.get(key), value) if value is not None else None
            return {k: v for k, v in out.items() if v is not None}
        return merge_patch(target, patch)

    def _messages(self, found: list[tuple[Any, Where]], operation: str) -> list[MessageSpec]:
        out = []
        for raw, where in found:
            message, path = self._deref(raw, where)
            if path not in self.messages:
                self.messages[path] = (
                    self._message(message, path, operation) if isinstance(message, dict) else None
                )
            spec = self.messages[path]
            if spec is not None and spec not in out:
                out.append(spec)
        return out

    def _message_name(self, message: dict[str, Any], path: Where, operation: str) -> str:
        """Its id: ``messageId`` (2.x), else ``name``, else the key it is
        defined under (``components.messages.X``, 3.x ``channels.c.messages.X``,
        in whichever file, or a file of messages' top-level ``X``), else after
        its operation."""
        for key in ("messageId", "name"):
            if isinstance(message.get(key), str):
                return str(message[key])
        defined = self.bundled.origin(path)[1]
        if len(defined) >= 2 and defined[-2] == "messages" and isinstance(defined[-1], str):
            return defined[-1]
        # No document defines a message at its top: this one is in a file of messages.
        if len(defined) == 1 and isinstance(defined[0], str):
            return defined[0]
        # Anonymous: named after its operation (the n-th of a oneOf: MessageN).
        return f"{operation}Message{path[-1] + 1 if isinstance(path[-1], int) else ''}"

    def _message(self, raw: dict[str, Any], path: Where, operation: str) -> MessageSpec | None:
        message = self._with_traits(raw, path)
        name = self._message_name(message, path, operation)
        payload = message.get("payload", {})
        payload_at: Where = (*path, "payload")
        schema_format = message.get("schemaFormat")
        if self.v3 and isinstance(payload, dict):
            multi, multi_at = self._deref(payload, payload_at)
            # A multi-format schema, written here or (Avro) a component's.
            if (
                isinstance(multi, dict)
                and "schemaFormat" in multi
                and "type" not in multi
                and (multi is payload or schema_kind(str(multi["schemaFormat"])) == "avro")
            ):
                schema_format, payload, payload_at = (
                    multi["schemaFormat"],
                    multi.get("schema", {}),
                    (*multi_at, "schema"),
                )
        kind = schema_kind(schema_format if isinstance(schema_format, str) else None)
        correlation = self._deref(message.get("correlationId"), ())[0]
        location = correlation.get("location") if isinstance(correlation, dict) else None
        headers, required = self._headers(raw, message, name, path)
        if kind == "protobuf":
            full = self._proto_name(payload)
            if full is None:
                self._warn(
                    (*path, "payload"),
                    f"message {name}: the protobuf payload names no message of the proto contracts "
                    "generated with it (declare its `package`, and put its .proto among the contracts): "
                    "message skipped",
                )
                return None
            return MessageSpec(
                name,
                full,
                True,
                headers,
                required,
                str(message.get("contentType") or "application/x-protobuf"),
                location,
            )
        if kind == "avro":
            return self._avro_message(message, path, name, (payload, payload_at), headers, required, location)
        if kind == "other":
            self._warn(
                (*path, "payload"),
                f"message {name}: schemaFormat {schema_format} is not supported "
                "(JSON Schema, AsyncAPI, OpenAPI, Avro or protobuf): message skipped",
            )
            return None
        content_type = str(
            message.get("contentType") or self.doc.get("defaultContentType") or "application/json"
        )
        if not _is_json(content_type):
            self._warn(
                (*path, "contentType"),
                f"message {name}: content type {content_type} is not JSON: message skipped",
            )
            return None
        model = self._model(payload, payload_at, name, f"{name}Payload")
        return MessageSpec(name, model, False, headers, required, content_type, location)

    def _avro_message(
        self,
        message: dict[str, Any],
        path: Where,
        name: str,
        payload: tuple[Any, Where],
        headers: str | None,
        required: bool,
        location: str | None,
    ) -> MessageSpec | None:
        """An Avro message: binary encoding, whatever the document's default content type."""
        schema, at = self._deref(*payload)
        content_type = message.get("contentType")
        if isinstance(content_type, str) and _is_json(content_type):
            self._warn(
                (*path, "contentType"),
                f"message {name}: content type {content_type} with an Avro schema is Avro's JSON encoding, "
                "which microlib does not read (the binary encoding is): message skipped",
            )
            return None
        model = self.avro.payload(schema, at)
        if model is None:
            return None
        content = content_type if isinstance(content_type, str) else AVRO_CONTENT_TYPE
        return MessageSpec(name, model, False, headers, required, content, location, schema)

    def _headers(
        self, raw: dict[str, Any], message: dict[str, Any], name: str, path: Where
    ) -> tuple[str | None, bool]:
        headers = message.get("headers")
        if headers is None:
            return None, False
        # Headers a trait gives are named after it, and one model each.
        label = f"{name}Headers"
        if raw.get("headers") is None:
            for i, trait in enumerate(raw.get("traits") or []):
                found, where = self._deref(trait, (*path, "traits", i))
                if isinstance(found, dict) and found.get("headers") is not None:
                    trait_name = str(self.bundled.origin(where)[1][-1])
                    label = trait_name if trait_name.lower().endswith("headers") else f"{trait_name}Headers"
        if self.v3 and isinstance(headers, dict) and "schemaFormat" in headers and "type" not in headers:
            if schema_kind(headers["schemaFormat"]) != "json":
                self._warn(
                    (*path, "headers"),
                    f"message {name}: headers schemaFormat {headers['schemaFormat']} is not JSON Schema: "
                    "headers untyped",
                )
                return None, False
            headers = headers.get("schema", {})
        resolved = self._deref(headers, ())[0]
        required = isinstance(resolved, dict) and bool(resolved.get("required"))
        converted = self._convert(headers, 0)
        same = json.dumps(converted, sort_keys=True)
        if same not in self.headers:
            self.headers[same] = self._model(headers, (*path, "headers"), label, label)
        return self.headers[same], required

    def _model(self, schema: Any, where: Where, name: str, fallback: str) -> str:
        """The model of ``schema``, written at ``where``: a component schema it refers to, else
        a new one named ``name`` (``fallback`` when that is taken, then numbered)."""
        ref = schema.get("$ref") if isinstance(schema, dict) else None
        prefix = "#/components/schemas/"
        if (
            isinstance(ref, str)
            and ref.startswith(prefix)
            and len(schema) == 1
            and ref[len(prefix) :] in self.renamed
        ):
            model = self.renamed[ref[len(prefix) :]]
            if model in self.schemas:
                return model
        wanted = pascal(name) or "Message"
        model = self._free(wanted if wanted not in self.taken else pascal(fallback))
        self.schemas[model] = self._convert(schema, 0)
        self.origins[model] = where
        return model

    def _proto_name(self, payload: Any) -> str | None:
        if not isinstance(payload, str):
            return None
        package = _PROTO_PACKAGE.search(payload)
        message = _PROTO_MESSAGE.search(payload)
        if message is None:
            return None
        full = f"{package.group(1)}.{message.group(1)}" if package else message.group(1)
        return full if full in self.proto else None
