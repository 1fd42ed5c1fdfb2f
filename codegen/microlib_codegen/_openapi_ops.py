"""Read the operations of a bundled OpenAPI document into a small IR.

The IR says, per operation, which parameters exist with their style and
shape, which named schema validates each parameter location, the body and
each response; :mod:`microlib_codegen.openapi` renders it. Synthetic schemas
(parameter locations, inline bodies and responses) are added to the document
here, so the model generator emits one pydantic model for each of them.
Schemas are named by their key in ``components.schemas`` until the model
generator has said which class it gave each (:func:`resolve`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = [
    "METHODS",
    "BodySpec",
    "DocumentRefused",
    "OperationSpec",
    "ParamSpec",
    "collect_operations",
    "operation_id",
    "resolve",
]

# The operations a path item may hold, in the order OpenAPI lists them.
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Header parameters OpenAPI says SHALL be ignored (3.0.3 and 3.1, Parameter Object): content
# negotiation, the body's media type and the credentials are the request's own, not the operation's.
_OWN_HEADERS = {"accept", "content-type", "authorization"}
_DEFAULT_STYLE = {"path": "simple", "query": "form", "header": "simple", "cookie": "form"}
# What enforcing a security scheme at runtime takes (microlib.security.schemes).
_SCHEME_FIELDS = ("type", "scheme", "bearerFormat", "in", "name")
_LOCATION_SUFFIX = {
    "path": "PathParams",
    "query": "QueryParams",
    "header": "HeaderParams",
    "cookie": "CookieParams",
}


@dataclass(frozen=True)
class ParamSpec:
    """One parameter: where it is, how it is serialized, its scalar types."""

    name: str
    location: str
    arg: str
    required: bool
    style: str
    explode: bool
    shape: str
    scalar: str
    properties: tuple[tuple[str, str], ...]
    annotation: str
    default: str | None
    allow_empty: bool = False
    schema: Any = field(default=None, compare=False)


@dataclass(frozen=True)
class BodySpec:
    """The request body: required or not, the model of each media type, the fields of a form
    (url-encoded or multipart) body: name, shape and JSON type, and the media types a multipart
    field's part may have."""

    required: bool
    media: tuple[tuple[str, str | None], ...]
    annotation: str
    form: tuple[tuple[str, str, str], ...] = ()
    encoding: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass
class OperationSpec:
    """One operation of the document, ready to render."""

    operation_id: str
    method: str
    path: str
    tag: str
    summary: str
    params: list[ParamSpec] = field(default_factory=list)
    location_models: dict[str, str] = field(default_factory=dict)
    body: BodySpec | None = None
    responses: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    security: list[dict[str, list[str]]] | None = None
    security_schemes: dict[str, dict[str, str]] = field(default_factory=dict)
    # A webhook or callback: the service sends it (senders.py), it does not serve it.
    outgoing: bool = False
    # Body and response models of any JSON value (no schema, or `schema: {}`): the handler gets
    # and returns the value itself, not the RootModel.
    any_models: frozenset[str] = frozenset()

    @property
    def method_name(self) -> str:
        """The Python method name of the operation on the tag's Protocol."""
        return snake(self.operation_id)


def snake(name: str) -> str:
    """``listPets`` / ``X-Request-Tag`` -> ``list_pets`` / ``x_request_tag``."""
    s = re.sub(r"[^0-9a-zA-Z]+", "_", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s).strip("_").lower()
    if not s or s[0].isdigit():
        s = f"p_{s}"
    return s + "_" if s in _RESERVED else s


def pascal(name: str) -> str:
    """``list_pets`` / ``listPets`` -> ``ListPets``."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^0-9a-zA-Z]+", name) if part)


_RESERVED = frozenset(
    {"self", "body", "class", "def", "from", "import", "in", "is", "not", "or", "and", "global"}
)


Note = tuple[tuple[str, ...], str]
"""A remark on the document: the JSON path it is about, and what was done."""


class DocumentRefused(ValueError):
    """The document says something it may not: the JSON path where, and why."""

    def __init__(self, path: tuple[str | int, ...], reason: str) -> None:
        super().__init__(reason)
        self.path = path
        self.reason = reason


def collect_operations(doc: dict[str, Any]) -> tuple[list[OperationSpec], list[Note]]:
    """Collect every operation and add the synthetic schemas to ``doc``.

    Args:
        doc: A bundled document (see :func:`bundle`); modified in place.

    Returns:
        The operations in document order, and a note for each operationId
        derived from the method and path and each operation left out.

    Raises:
        DocumentRefused: An operation's security names an undeclared scheme.
    """
    schemas: dict[str, Any] = doc.setdefault("components", {}).setdefault("schemas", {})
    paths = doc.get("paths") or {}
    # (JSON path of the path item, its path or name, method, operation, path item)
    found: list[tuple[tuple[str, ...], str, str, Any, Any]] = []
    for path, item in paths.items():
        found += _item_operations(("paths", path), path, _deref(doc, item))
    # Webhooks (3.1) and callbacks: named `<webhook>` / `<callback>` plus the method when the
    # operation has no operationId.
    for name, item in (doc.get("webhooks") or {}).items():
        found += _item_operations(("webhooks", name), name, _deref(doc, item))
    for place, _path, method, raw, _item in list(found):
        for name, callback in (_deref(doc, raw.get("callbacks")) or {}).items():
            for expression, item in (_deref(doc, callback) or {}).items():
                where = (*place, method, "callbacks", name, expression)
                found += _item_operations(where, name, _deref(doc, item))
    # Names a document gives win over derived ones, wherever they are.
    taken = {raw["operationId"] for *_w, raw, _i in found if raw.get("operationId")}
    ops: list[OperationSpec] = []
    notes: list[Note] = []
    for place, path, method, raw, item in found:
        outgoing = place[0] == "webhooks" or "callbacks" in place
        op_id = raw.get("operationId")
        derived = not op_id
        if derived:
            # Taken even when the operation is skipped, so the others keep their names.
            wanted = method.lower() + pascal(path) if outgoing else operation_id(method, path)
            op_id = free_name(wanted, taken)
            taken.add(op_id)
        shared = [_deref(doc, p) for p in item.get("parameters", [])]
        own = [_deref(doc, p) for p in raw.get("parameters", [])]
        merged = {(p["name"], p["in"]): p for p in [*shared, *own]}
        for name, where in [key for key in merged if key[1] == "header" and key[0].lower() in _OWN_HEADERS]:
            del merged[name, where]
            reason = f"header parameter {name!r} ignored: OpenAPI leaves that header to the request itself"
            notes.append(((*place, method), reason))
        encoded = sorted(name for (name, _in), p in merged.items() if "schema" not in p)
        if encoded:
            # A parameter serialized as a media type (`content`) has no style to read it by.
            reason = f"parameter {encoded[0]!r} is described by `content`, not `schema`: operation skipped"
            notes.append(((*place, method), reason))
            continue
        if derived:
            notes.append(((*place, method), f"no operationId: named {op_id!r}"))
        op = OperationSpec(
            operation_id=op_id,
            method=method.upper(),
            path=path,
            tag=(raw.get("tags") or ["default"])[0],
            summary=_first_line(raw.get("summary") or raw.get("description")),
            security=None if outgoing else raw.get("security", doc.get("security")),
            outgoing=outgoing,
        )
        where = (*place, method, "security") if "security" in raw else ("security",)
        op.security_schemes = _schemes(doc, op.security, where)
        _params(doc, schemas, op, list(merged.values()))
        _body(doc, schemas, op, raw.get("requestBody"))
        _responses(doc, schemas, op, raw.get("responses") or {})
        ops.append(op)
    return ops, notes


def _item_operations(
    place: tuple[str, ...], path: str, item: Any
) -> list[tuple[tuple[str, ...], str, str, Any, Any]]:
    return [(place, path, m, item[m], item) for m in METHODS if isinstance(item, dict) and m in item]


def operation_id(method: str, path: str) -> str:
    """The name of an operation without ``operationId``: the method, then the
    path's words (``get /pets/{petId}`` → ``getPetsPetId``, ``/`` → ``getRoot``),
    as AsyncAPI operations are named and as openapi-python-client does."""
    return method.lower() + (pascal(path) or "Root")


def free_name(wanted: str, taken: set[str]) -> str:
    """``wanted``, or with the first number after it that makes it not ``taken``."""
    name, n = wanted, 1
    while name in taken:
        n += 1
        name = f"{wanted}{n}"
    return name


def resolve(op: OperationSpec, doc: dict[str, Any], names: Mapping[str, str]) -> OperationSpec | list[str]:
    """``op`` with each schema named by the class the model generator gave it.

    Args:
        op: An operation from :func:`collect_operations`.
        doc: The document it was collected from.
        names: ``components.schemas`` key -> generated class name.

    Returns:
        The operation, or the schema keys no class was generated for.
    """
    wanted = [*op.location_models.values(), *(m for _s, _m, m in op.responses if m)]
    wanted += [m for _c, m in op.body.media if m] if op.body else []
    wanted += [ref for p in op.params for ref in _refs(p.schema)]
    missing = sorted({key for key in wanted if key not in names})
    if missing:
        return missing
    schemas = doc.get("components", {}).get("schemas", {})
    plain = frozenset(names[key] for key in wanted if _is_any(_deref(doc, schemas.get(key))))
    body = None
    if op.body is not None:
        media = tuple((c, names[m] if m else None) for c, m in op.body.media)
        kinds = [
            ("Any" if m in plain else f"models.{m}") if m else ("str" if c.startswith("text/") else "bytes")
            for c, m in media
        ]
        body = replace(op.body, media=media, annotation=" | ".join(sorted(set(kinds), key=kinds.index)))
    return replace(
        op,
        params=[replace(p, annotation=annotation(doc, p.schema, names)) for p in op.params],
        location_models={loc: names[key] for loc, key in op.location_models.items()},
        body=body,
        responses=[(s, media, names[m] if m else None) for s, media, m in op.responses],
        any_models=plain,
    )


# Keywords that describe a schema without constraining its values.
_ANNOTATIONS = frozenset(
    {"title", "description", "example", "examples", "default", "deprecated", "readOnly", "writeOnly",
     "nullable", "$comment"}
)  # fmt: skip


def _is_any(schema: Any) -> bool:
    """Whether ``schema`` allows any JSON value (``{}``, or only annotations)."""
    return isinstance(schema, dict) and not set(schema) - _ANNOTATIONS


def _refs(schema: Any) -> list[str]:
    """The component schemas a parameter's annotation names."""
    if not isinstance(schema, dict):
        return []
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith(_COMPONENT):
        return [_key(ref)]
    return _refs(schema.get("items")) if _type_of(schema) == "array" else []


_COMPONENT = "#/components/schemas/"


def _key(ref: str) -> str:
    """The ``components.schemas`` key a local ``$ref`` names (JSON pointer unescaped)."""
    return ref.removeprefix(_COMPONENT).replace("~1", "/").replace("~0", "~")


def _schemes(doc: dict[str, Any], security: Any, where: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """The definition of each scheme an operation's security names, as far as the runtime enforces it.

    Only the fields that say where the credential is and how it is checked
    are kept, always in the same order, so the table is the same for the same
    document (``flows`` and ``openIdConnectUrl`` are for clients).
    """
    declared = (doc.get("components") or {}).get("securitySchemes") or {}
    found: dict[str, dict[str, str]] = {}
    for index, entry in enumerate(security or ()):
        for name in entry:
            scheme = _deref(doc, declared[name]) if name in declared else None
            if not isinstance(scheme, dict) or "type" not in scheme:
                raise DocumentRefused(
                    (*where, index), f"names {name!r}, which components.securitySchemes does not declare"
                )
            found[name] = {key: scheme[key] for key in _SCHEME_FIELDS if key in scheme}
    return found


def _first_line(text: Any) -> str:
    lines = str(text or "").strip().splitlines()
    return lines[0] if lines else ""


def _deref(doc: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and isinstance(node.get("$ref"), str):
        target: Any = doc
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _add_schema(schemas: dict[str, Any], name: str, schema: Any) -> str:
    # The document's own schemas keep their names; a synthetic one takes the next free name.
    name = free_name(name, set(schemas))
    schemas[name] = schema
    return name


def _params(doc: dict[str, Any], schemas: dict[str, Any], op: OperationSpec, params: list[Any]) -> None:
    base = pascal(op.operation_id)
    by_location: dict[str, dict[str, Any]] = {}
    args: set[str] = set()
    for p in params:
        location = p["in"]
        schema = p.get("schema") or {}
        resolved = _deref(doc, schema)
        shape = {"array": "array", "object": "object"}.get(_type_of(resolved), "primitive")
        if shape == "object" and "$ref" not in schema:
            schema = {
                "$ref": "#/components/schemas/" + _add_schema(schemas, base + pascal(p["name"]), schema)
            }
        key = p["name"].lower() if location == "header" else p["name"]
        loc = by_location.setdefault(location, {"type": "object", "properties": {}, "required": []})
        loc["properties"][key] = schema
        required = bool(p.get("required")) or location == "path"
        if required:
            loc["required"].append(key)
        arg = snake(p["name"])
        if arg in args:
            arg = f"{location}_{arg}"
        args.add(arg)
        items = _deref(doc, resolved.get("items") or {}) if shape == "array" else resolved
        props = (
            tuple((k, _type_of(_deref(doc, v))) for k, v in (resolved.get("properties") or {}).items())
            if shape == "object"
            else ()
        )
        default = resolved.get("default")
        op.params.append(
            ParamSpec(
                name=p["name"],
                location=location,
                arg=arg,
                required=required,
                style=p.get("style", _DEFAULT_STYLE[location]),
                explode=p.get("explode", p.get("style", _DEFAULT_STYLE[location]) == "form"),
                shape=shape,
                scalar=_type_of(items),
                properties=props,
                annotation="",
                schema=schema,
                default=None if default is None else repr(default),
                allow_empty=bool(p.get("allowEmptyValue")),
            )
        )
    for location, schema in by_location.items():
        if not schema["required"]:
            del schema["required"]
        if location != "header":
            schema["additionalProperties"] = False
        name = _add_schema(schemas, base + _LOCATION_SUFFIX[location], schema)
        op.location_models[location] = name


def _type_of(schema: Any) -> str:
    t = schema.get("type") if isinstance(schema, dict) else None
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), None)
    if t is None and isinstance(schema, dict) and "properties" in schema:
        return "object"
    return t if isinstance(t, str) else ""


def _model_for(schemas: dict[str, Any], schema: Any, name: str) -> str:
    ref = schema.get("$ref") if isinstance(schema, dict) else None
    if isinstance(ref, str) and ref.startswith(_COMPONENT) and len(schema) == 1:
        if not _is_enum(schemas.get(_key(ref))):
            return _key(ref)
    elif _is_enum(schema):
        ref = _COMPONENT + _add_schema(schemas, name + "Value", schema)
    else:
        return _add_schema(schemas, name, schema)
    # An enum's class is no pydantic model, and bodies are validated and written through one: a
    # RootModel of the enum (`PutSquareBody(RootModel[Mark])`).
    return _add_schema(schemas, name, {"$ref": ref})


def _is_enum(schema: Any) -> bool:
    """Whether the model generator makes ``schema`` an Enum class."""
    return isinstance(schema, dict) and "enum" in schema and _type_of(schema) != "object"


def _is_json(media: str) -> bool:
    base = _bare(media)
    return base == "application/json" or base.endswith("+json")


# Form media types, read field by field, and the suffix of their inline schema's model.
_FORMS = {"application/x-www-form-urlencoded": "Form", "multipart/form-data": "Multipart"}


def _body(doc: dict[str, Any], schemas: dict[str, Any], op: OperationSpec, raw: Any) -> None:
    if raw is None:
        return
    body = _deref(doc, raw)
    media: list[tuple[str, str | None]] = []
    form: dict[str, tuple[str, str]] = {}
    encoding: dict[str, tuple[str, ...]] = {}
    for content_type, content in (body.get("content") or {}).items():
        schema = content.get("schema")
        kind = _FORMS.get(_bare(content_type))
        if _is_json(content_type):
            # No schema is any JSON value, as `schema: {}` (not bytes: the body is still parsed).
            model = _model_for(schemas, {} if schema is None else schema, pascal(op.operation_id) + "Body")
            media.append((content_type, model))
        elif kind is not None and (properties := _form_properties(doc, schema)) is not None:
            fields = {name: _form_field(doc, field) for name, field in properties.items()}
            if kind == "Multipart":
                schema = _files_as_binary(schema, fields)
                encoding.update(_part_types(content.get("encoding") or {}))
            media.append((content_type, _model_for(schemas, schema, pascal(op.operation_id) + kind)))
            form.update(fields)
        else:
            media.append((content_type, None))
    # The annotation is written by `resolve`, once the models have their names.
    op.body = BodySpec(
        required=bool(body.get("required")),
        media=tuple(media),
        annotation="",
        form=tuple((name, shape, scalar) for name, (shape, scalar) in form.items()),
        encoding=tuple(encoding.items()),
    )


def _form_properties(doc: dict[str, Any], schema: Any) -> dict[str, Any] | None:
    """The fields of a form body's object schema: its properties and those of the schemas it
    combines (``allOf``, or the alternatives of ``oneOf``/``anyOf``, a field named in several
    read as the first declares it); None when the schema is no object.

    Ably's `application/x-www-form-urlencoded: {schema: {oneOf: [{properties: ...}, ...]}}`, or a
    form of `allOf: [{$ref: TokenRequest}, {properties: {mac: ...}}]`, is read field by field as
    the object it is; its model (the union, the composition) validates what was read.
    """
    resolved = _deref(doc, schema)
    if not isinstance(resolved, dict):
        return None
    is_object = _type_of(resolved) == "object"
    found = dict(resolved.get("properties") or {}) if is_object else {}
    for member in [m for key in ("allOf", "oneOf", "anyOf") for m in resolved.get(key) or []]:
        inner = _form_properties(doc, member)
        if inner is not None:
            is_object = True
            found.update({name: field for name, field in inner.items() if name not in found})
    return found if is_object else None


def _form_field(doc: dict[str, Any], schema: Any) -> tuple[str, str]:
    """A form body's field as the runtime reads it: shape and JSON type.

    OpenAPI's default encoding of a url-encoded form is a query string, each
    field ``style: form`` and exploded (an array is the name repeated); of a
    multipart form, a part per value. An object field is JSON (the default
    ``contentType`` of an object property). A file (``format: binary``, or
    in 3.1 a string with a ``contentMediaType`` and no ``contentEncoding``)
    has the type ``binary``.
    """
    resolved = _deref(doc, schema)
    shape = {"array": "array", "object": "object"}.get(_type_of(resolved), "primitive")
    items = _deref(doc, resolved.get("items") or {}) if shape == "array" else resolved
    return shape, "binary" if _is_file(items) else _type_of(items)


def _is_file(schema: Any) -> bool:
    if not isinstance(schema, dict) or _type_of(schema) != "string":
        return False
    return schema.get("format") == "binary" or (
        "contentMediaType" in schema and "contentEncoding" not in schema
    )


def _files_as_binary(schema: Any, fields: Mapping[str, tuple[str, str]]) -> Any:
    """An inline multipart schema whose 3.1 file fields (``contentMediaType``) say ``format: binary``,
    so their model fields are ``bytes`` (an :class:`UploadedFile`), not text."""
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(properties, dict):
        return schema
    changed = dict(properties)
    for name, (shape, scalar) in fields.items():
        field = properties.get(name)
        if scalar != "binary" or not isinstance(field, dict):
            continue
        if shape == "array" and isinstance(field.get("items"), dict) and "format" not in field["items"]:
            changed[name] = {**field, "items": {**field["items"], "format": "binary"}}
        elif shape == "primitive" and "format" not in field:
            changed[name] = {**field, "format": "binary"}
    return schema if changed == properties else {**schema, "properties": changed}


def _part_types(encoding: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """Field name -> the media types (ranges) its multipart part may have, from ``encoding``."""
    return {
        name: tuple(t.strip() for t in spec["contentType"].split(",") if t.strip())
        for name, spec in encoding.items()
        if isinstance(spec, dict) and isinstance(spec.get("contentType"), str)
    }


def _bare(media: str) -> str:
    return media.split(";", 1)[0].strip().lower()


# The ranges springdoc declares for every response a controller does not narrow with `produces`:
# a schema there is the JSON the service sends, as application/json.
_ANY = frozenset({"*/*", "application/*"})


def _responses(doc: dict[str, Any], schemas: dict[str, Any], op: OperationSpec, raw: dict[str, Any]) -> None:
    for status, value in raw.items():
        response = _deref(doc, value)
        content = response.get("content") or {}
        chosen = next(((m, c) for m, c in content.items() if _is_json(m)), None)
        if chosen is None:
            chosen = next(
                (("application/json", c) for m, c in content.items() if _bare(m) in _ANY and "schema" in c),
                None,
            )
        if chosen is not None:
            schema = chosen[1].get("schema")
            model = _model_for(
                schemas, {} if schema is None else schema, f"{pascal(op.operation_id)}Response{status}"
            )
            op.responses.append((str(status), chosen[0], model))
        else:
            op.responses.append((str(status), next(iter(content), None), None))


_SCALARS = {"integer": "int", "number": "float", "boolean": "bool", "string": "str"}


def _unwrapped(schema: dict[str, Any]) -> bool:
    """Whether the model generator makes ``schema`` a RootModel of a scalar or a list: not an
    object's model, not an enum (whose members a handler gets as they are)."""
    return _type_of(schema) in (*_SCALARS, "array") and "enum" not in schema


_FORMATS = {"date-time": "datetime.datetime", "date": "datetime.date", "uuid": "uuid.UUID"}


def _union(doc: dict[str, Any], schema: dict[str, Any], names: Mapping[str, str]) -> list[str]:
    """The annotations of a ``oneOf``/``anyOf`` of plain values (scalars, lists, their RootModels),
    each once; empty when the schema is no such union or a member is an object's model (a handler
    gets that member as its model, so the union's RootModel is what it gets)."""
    members = schema.get("oneOf") or schema.get("anyOf")
    if not isinstance(members, list) or _type_of(schema) or "enum" in schema:
        return []
    out: list[str] = []
    for member in members:
        typed = annotation(doc, member, names)
        if typed == "Any" or typed.startswith("models."):
            return []
        if typed not in out:
            out.append(typed)
    return out


def annotation(doc: dict[str, Any], schema: Any, names: Mapping[str, str]) -> str:
    """The Python type a handler receives for a parameter of this schema.

    Args:
        doc: The document, for ``$ref`` resolution.
        schema: The parameter's schema.
        names: ``components.schemas`` key -> generated class name.

    Returns:
        A type expression valid in the generated handlers module.
    """
    if not isinstance(schema, dict):
        return "Any"
    ref = schema.get("$ref")
    if isinstance(ref, str):
        if not ref.startswith(_COMPONENT):
            return "Any"
        target = doc.get("components", {}).get("schemas", {}).get(_key(ref))
        if isinstance(target, dict) and (
            set(target) == {"$ref"} or _unwrapped(target) or _union(doc, target, names)
        ):
            # Its class is a RootModel, and the handler gets the root (`coordinate: {type: integer}`
            # arrives as an int, not a models.Coordinate; `oneOf: [integer, string]` as int | str).
            return annotation(doc, target, names)
        return "models." + names[_key(ref)]
    members = _union(doc, schema, names)
    if members:
        return " | ".join(members)
    kind = _type_of(schema)
    if kind == "array":
        return f"list[{annotation(doc, schema.get('items') or {}, names)}]"
    if kind == "string" and schema.get("format") in _FORMATS:
        return _FORMATS[schema["format"]]
    if "enum" in schema and kind == "string":
        return "Literal[" + ", ".join(repr(v) for v in schema["enum"]) + "]"
    return _SCALARS.get(kind, "Any")
