"""Read the operations of a bundled OpenAPI document into a small IR.

The IR says, per operation, which parameters exist with their style and
shape, which named schema validates each parameter location, the body and
each response; :mod:`microlib_codegen.openapi` renders it. Synthetic schemas
(parameter locations, inline bodies and responses) are added to the document
here, so the model generator emits one pydantic model for each of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["BodySpec", "OperationSpec", "ParamSpec", "collect_operations"]

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_DEFAULT_STYLE = {"path": "simple", "query": "form", "header": "simple", "cookie": "form"}
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


@dataclass(frozen=True)
class BodySpec:
    """The request body: required or not, and the model of each media type."""

    required: bool
    media: tuple[tuple[str, str | None], ...]
    annotation: str


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
    security_schemes: dict[str, str] = field(default_factory=dict)

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


def collect_operations(doc: dict[str, Any]) -> list[OperationSpec]:
    """Collect every operation and add the synthetic schemas to ``doc``.

    Args:
        doc: A bundled document (see :func:`bundle`); modified in place.

    Returns:
        The operations in document order.

    Raises:
        ValueError: An operation has no operationId, or a synthetic model name
            clashes with a schema of the document.
    """
    schemas: dict[str, Any] = doc.setdefault("components", {}).setdefault("schemas", {})
    ops: list[OperationSpec] = []
    for path, item in (doc.get("paths") or {}).items():
        shared = [_deref(doc, p) for p in item.get("parameters", [])]
        for method in _METHODS:
            raw = item.get(method)
            if raw is None:
                continue
            where = f"paths.{path}.{method}"
            op_id = raw.get("operationId")
            if not op_id:
                raise ValueError(f"{where}: every operation needs an operationId")
            own = [_deref(doc, p) for p in raw.get("parameters", [])]
            merged = {(p["name"], p["in"]): p for p in [*shared, *own]}
            op = OperationSpec(
                operation_id=op_id,
                method=method.upper(),
                path=path,
                tag=(raw.get("tags") or ["default"])[0],
                summary=_first_line(raw.get("summary") or raw.get("description")),
                security=raw.get("security", doc.get("security")),
            )
            op.security_schemes = _scheme_types(doc, op.security, where)
            _params(doc, schemas, op, list(merged.values()))
            _body(doc, schemas, op, raw.get("requestBody"))
            _responses(doc, schemas, op, raw.get("responses") or {})
            ops.append(op)
    return ops


def _scheme_types(doc: dict[str, Any], security: Any, where: str) -> dict[str, str]:
    """The ``type`` of each scheme an operation's security names (scopes vs roles at runtime)."""
    declared = (doc.get("components") or {}).get("securitySchemes") or {}
    found: dict[str, str] = {}
    for index, entry in enumerate(security or ()):
        for name in entry:
            scheme = _deref(doc, declared[name]) if name in declared else None
            if not isinstance(scheme, dict) or "type" not in scheme:
                raise ValueError(
                    f"{where}: security[{index}] names {name!r}, "
                    "which components.securitySchemes does not declare"
                )
            found[name] = scheme["type"]
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


def _add_schema(schemas: dict[str, Any], name: str, schema: Any, where: str) -> str:
    if name in schemas:
        raise ValueError(f"{where}: generated model name {name!r} clashes with components.schemas.{name}")
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
                "$ref": "#/components/schemas/"
                + _add_schema(schemas, base + pascal(p["name"]), schema, op.path)
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
                annotation=annotation(doc, schema),
                default=None if default is None else repr(default),
                allow_empty=bool(p.get("allowEmptyValue")),
            )
        )
    for location, schema in by_location.items():
        if not schema["required"]:
            del schema["required"]
        if location != "header":
            schema["additionalProperties"] = False
        name = _add_schema(schemas, base + _LOCATION_SUFFIX[location], schema, op.path)
        op.location_models[location] = name


def _type_of(schema: Any) -> str:
    t = schema.get("type") if isinstance(schema, dict) else None
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), None)
    if t is None and isinstance(schema, dict) and "properties" in schema:
        return "object"
    return t if isinstance(t, str) else ""


def _model_for(schemas: dict[str, Any], schema: Any, name: str, where: str) -> str:
    ref = schema.get("$ref") if isinstance(schema, dict) else None
    if isinstance(ref, str) and ref.startswith("#/components/schemas/") and len(schema) == 1:
        return ref.rsplit("/", 1)[-1]
    return _add_schema(schemas, name, schema, where)


def _is_json(media: str) -> bool:
    base = media.split(";", 1)[0].strip().lower()
    return base == "application/json" or base.endswith("+json")


def _body(doc: dict[str, Any], schemas: dict[str, Any], op: OperationSpec, raw: Any) -> None:
    if raw is None:
        return
    body = _deref(doc, raw)
    media: list[tuple[str, str | None]] = []
    annotations: list[str] = []
    for content_type, content in (body.get("content") or {}).items():
        schema = content.get("schema")
        if _is_json(content_type) and schema is not None:
            model = _model_for(schemas, schema, pascal(op.operation_id) + "Body", op.path)
            media.append((content_type, model))
            annotations.append(f"models.{model}")
        else:
            media.append((content_type, None))
            annotations.append("str" if content_type.startswith("text/") else "bytes")
    unique = sorted(set(annotations), key=annotations.index)
    op.body = BodySpec(required=bool(body.get("required")), media=tuple(media), annotation=" | ".join(unique))


def _responses(doc: dict[str, Any], schemas: dict[str, Any], op: OperationSpec, raw: dict[str, Any]) -> None:
    for status, value in raw.items():
        response = _deref(doc, value)
        content = response.get("content") or {}
        chosen = next(((m, c) for m, c in content.items() if _is_json(m)), None)
        if chosen is not None and chosen[1].get("schema") is not None:
            model = _model_for(
                schemas, chosen[1]["schema"], f"{pascal(op.operation_id)}Response{status}", op.path
            )
            op.responses.append((str(status), chosen[0], model))
        else:
            op.responses.append((str(status), next(iter(content), None), None))


_SCALARS = {"integer": "int", "number": "float", "boolean": "bool", "string": "str"}
_FORMATS = {"date-time": "datetime.datetime", "date": "datetime.date", "uuid": "uuid.UUID"}


def annotation(doc: dict[str, Any], schema: Any) -> str:
    """The Python type a handler receives for a parameter of this schema.

    Args:
        doc: The document, for ``$ref`` resolution.
        schema: The parameter's schema.

    Returns:
        A type expression valid in the generated handlers module.
    """
    if not isinstance(schema, dict):
        return "Any"
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return "models." + ref.rsplit("/", 1)[-1]
    kind = _type_of(schema)
    if kind == "array":
        return f"list[{annotation(doc, schema.get('items') or {})}]"
    if kind == "string" and schema.get("format") in _FORMATS:
        return _FORMATS[schema["format"]]
    if "enum" in schema and kind == "string":
        return "Literal[" + ", ".join(repr(v) for v in schema["enum"]) + "]"
    return _SCALARS.get(kind, "Any")
