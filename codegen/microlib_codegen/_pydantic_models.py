"""JSON Schemas -> ``models.py``: pydantic v2 models, by datamodel-code-generator.

One model generator for every contract kind: an OpenAPI document's schemas,
an AsyncAPI document's payloads and headers, a jobs contract's arguments.
The last two have no OpenAPI document of their own; ``schema_models`` wraps
their schemas in one (``components.schemas``), the shape the generator reads.
"""

from __future__ import annotations

import ast
import functools
import json
import re
import tempfile
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from microlib.core._formats import refuses
from microlib_codegen import __version__
from microlib_codegen._bundle import VALUE_KEYS, Bundled
from microlib_codegen._discriminators import discriminators_kept
from microlib_codegen._enum_extensions import enum_extensions_read
from microlib_codegen._model_overrides import overrides_typed
from microlib_codegen.errors import CodegenError


class ModelsError(CodegenError, ValueError):
    """The model generator refused the schemas."""


# Where in the schemas (keys and indices), and what the models leave out there.
Note = tuple[tuple[str, ...], str]


def generated_header(source: str, digest: str) -> str:
    """The first lines of every generated file: its source, the generator, DO NOT EDIT."""
    return (
        f"# Generated from {source} by microlib-codegen {__version__}. DO NOT EDIT.\n"
        f"# source sha256: {digest}"
    )


def document_models(document: dict[str, Any], source: str) -> tuple[str, dict[str, str], list[Note]]:
    """``models.py`` of an OpenAPI document, the class the generator gave each
    ``components.schemas`` key, and what the models leave out, by path in ``document``.

    The names come from the generator's own model map (``--emit-model-metadata``),
    never from guessing its naming rules. What the generator warns of (a
    ``format`` it does not know, typed as its plain type) becomes notes, so
    the caller reports it as a contract warning naming the schema, not as a
    Python warning from the generator's own source.

    Raises:
        ModelsError: the generator refused a schema, prefixed with ``source``.
    """
    from datamodel_code_generator import Error

    typed, untyped = _for_the_generator(discriminators_kept(document), ())
    try:
        generated = _generated(json.dumps(typed))
    except Error as exc:
        raise ModelsError(f"{source}: {exc}") from exc
    if generated is None:
        # A document with no schemas and no parameters has no models.
        return f'"""Models of {source}."""\n\nfrom __future__ import annotations\n', {}, untyped
    text, model_map, warned = generated
    models = json.loads(model_map)["models"]
    names = {
        m["source_path"][2]: m["class_name"]
        for m in models
        if m["source_path"]
        and len(m["source_path"]) == 3
        and m["source_path"][:2] == ["components", "schemas"]
    }
    body = text.split("\nfrom __future__ import annotations\n", 1)[-1]
    body = _plain_email(body, "idn-email" if _declares(document, "idn-email") else "email")
    body = _evaluated(_deferred(overrides_typed(_validated_defaults(body))))
    notes = untyped + _notes(list(warned), document)
    return f'"""Models of {source}."""\n\n{body}', names, notes


@functools.lru_cache(maxsize=16)
def _generated(document: str) -> tuple[str, str, tuple[str, ...]] | None:
    """What the generator makes of ``document`` (JSON text): ``models.py``, its model map
    and the warnings it gave; None when the document has no models.

    Cached: one run of codegen models an OpenAPI document three times (the package, the
    stubs, the drift report), and the generator always gives the same text for the same input.
    """
    from datamodel_code_generator import Error

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp, "openapi.json")
        src.write_text(document, encoding="utf-8")
        out = Path(tmp, "models.py")
        metadata = Path(tmp, "models.json")
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                _generate(src, out, metadata)
        except Error as exc:
            if "Models not found" not in str(exc):
                raise
            return None
        warned = tuple(str(warning.message) for warning in caught)
        return out.read_text(encoding="utf-8"), metadata.read_text(encoding="utf-8"), warned


def schema_models(
    schemas: dict[str, Any], *, title: str, version: str, source: str
) -> tuple[str, list[Note]]:
    """``models.py`` of named schemas that come from no OpenAPI document, and
    what the models leave out, by path below ``schemas``.

    Raises:
        ModelsError: the generator refused a schema, prefixed with ``source``.
    """
    document = {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": {},
        "components": {"schemas": schemas},
    }
    text, _, notes = document_models(document, source)
    return text, [(path[2:], reason) for path, reason in notes]


def note_lines(
    notes: list[Note],
    source: str,
    bundled: Bundled,
    origins: Mapping[str, Sequence[str | int]],
    whole: Sequence[str | int] | None = None,
) -> list[str]:
    """``notes`` as warning lines, each at the file, line and path in the document of what it names.

    Args:
        notes: What the models leave out, by path below the models.
        source: The contract as named in the generated code.
        bundled: The document the schemas were read from.
        origins: Where in the document each model's schema is written.
        whole: Where the schemas are written, for a note on them as a whole; without it (and
            for a model no schema of the document wrote, an Avro record's) a note reads
            ``source: schema path: what``.
    """
    lines = []
    for path, reason in notes:
        origin = origins.get(path[0]) if path else whole
        if origin is None:
            lines.append(f"{source}: {'.'.join(path) or '(schemas)'}: {reason}")
        else:
            lines.append(bundled.located((*origin, *path[1:]), reason))
    return lines


def class_names(models_py: str) -> set[str]:
    """The classes a ``models.py`` defines."""
    return {n.name for n in ast.parse(models_py).body if isinstance(n, ast.ClassDef)}


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
    "null": (type(None),),
}


def _for_the_generator(node: Any, path: tuple[str, ...]) -> tuple[Any, list[Note]]:
    """``node`` as the model generator takes it, and a note for each thing left out: without the
    ``default`` of each schema whose own ``type`` or ``enum`` refuses it, and with each enum
    extension in the form the generator reads (``_enum_extensions``).

    JSON Schema only recommends a valid default, and AsyncAPI's example itself writes
    `{type: boolean, default: 'false'}`; the generator would write `deprecated: bool = 'false'`, a
    model mypy refuses and that hands a str to a handler reading a bool. Left out, the field is
    optional without a default, as the schema says of its type.
    """
    if isinstance(node, list):
        kept = [_for_the_generator(value, (*path, str(index))) for index, value in enumerate(node)]
        return [value for value, _ in kept], [note for _, notes in kept for note in notes]
    if not isinstance(node, dict):
        return node, []
    out: dict[str, Any] = {}
    notes: list[Note] = []
    for key, value in node.items():
        if key in VALUE_KEYS:
            out[key] = value
            continue
        out[key], inner = _for_the_generator(value, (*path, str(key)))
        notes.extend(inner)
    if "default" in node and (refusal := _refused_default(node)):
        del out["default"]
        notes.append(((*path, "default"), f"default {node['default']!r} {refusal}: left out of the model"))
    notes.extend(enum_extensions_read(out, path))
    return out, notes


def _refused_default(schema: dict[str, Any]) -> str:
    """Why ``schema``'s own ``type``, ``enum`` or ``format`` (one microlib checks) refuses its
    ``default``, or ''."""
    value = schema["default"]
    if isinstance(schema.get("enum"), list) and value not in schema["enum"]:
        return "is not one of its enum"
    declared = schema.get("type")
    names = [declared] if isinstance(declared, str) else declared if isinstance(declared, list) else []
    kinds = [_JSON_TYPES[name] for name in names if isinstance(name, str) and name in _JSON_TYPES]
    if not kinds or (value is None and schema.get("nullable") is True):
        return ""
    # A bool is an int to Python, never a number to JSON Schema.
    fits = any(isinstance(value, kind) and (bool in kind or not isinstance(value, bool)) for kind in kinds)
    integral = isinstance(value, float) and value.is_integer() and "integer" in names
    if not (fits or integral):
        return f"is not of its type {' or '.join(names)}"
    fmt = schema.get("format")
    if isinstance(value, str) and isinstance(fmt, str) and refuses(fmt, value):
        # GitHub's deployment-status: `{type: string, format: uri, default: ""}`, which the
        # generator writes `AnyUrl = ''`: a model mypy refuses, and a response holding a str.
        return f"is not a valid {fmt}"
    return ""


_UNKNOWN_FORMAT = re.compile(r"format of '(?P<format>.*)' not understood for '(?P<type>.*)' - using default")


def _notes(warned: list[str], document: dict[str, Any]) -> list[Note]:
    notes: list[Note] = []
    for text in dict.fromkeys(warned):
        unknown = _UNKNOWN_FORMAT.fullmatch(text)
        if unknown is None:
            notes.append(((), f"the model generator warns: {text}"))
            continue
        known, kind = unknown["format"], unknown["type"]
        reason = f"format {known!r} is not one the models know: checked as any {kind}"
        notes.extend((path, reason) for path in _with_format(document, known, kind, ()))
    return notes


def _with_format(node: Any, known: str, kind: str, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    """The paths of the schemas in ``node`` of type ``kind`` (alone or among others) and format ``known``."""
    if isinstance(node, dict):
        declared = node.get("type")
        typed = declared == kind or (isinstance(declared, list) and kind in declared)
        if typed and node.get("format") == known:
            yield path
        for key, value in node.items():
            yield from _with_format(value, known, kind, (*path, str(key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _with_format(value, known, kind, (*path, str(index)))


# pydantic's EmailStr imports email-validator when its model builds (its regular expressions
# cost about 240M instructions, 40% of a bare Starlette app's whole start), and email-validator
# reads neither RFC 5321's Mailbox (quoted local parts, address literals, special-use and
# one-label domains) nor RFC 6531's. microlib's format plan checks both formats on every door
# (``microlib/core/_formats.py``), reading them from the model's JSON Schema: the plain ``str``
# keeps its format there.
def _plain_email(body: str, fmt: str) -> str:
    """``body`` with each ``EmailStr`` a ``str`` whose JSON Schema says ``format: fmt``.

    The generator types ``email`` and ``idn-email`` alike (``EmailStr``), so in a document
    that declares ``idn-email`` every email is one: the wider format, which email-validator
    checked for both before.
    """
    names = _imported(body, "pydantic")
    if "EmailStr" not in names:
        return body
    body = _import(body, "pydantic", (names - {"EmailStr"}) | {"Field"})
    body = _import(body, "typing", _imported(body, "typing") | {"Annotated"})
    plain = f"Annotated[str, Field(json_schema_extra={{'format': '{fmt}'}})]"
    return re.sub(r"\bEmailStr\b", plain, body)


def _validated_defaults(body: str) -> str:
    """``body`` with each default that pydantic validates into the field's model written as
    ``Field(default=value, validate_default=True)``, not as the bare value.

    A property that ``$ref``s a schema with a ``default`` (kraken's AsyncAPI example:
    `ratecounter: {$ref: ratecounter}`, a `{type: boolean, default: false}`) is typed by the
    referenced model and gets its default: the generator writes
    `Annotated[Ratecounter | None, Field(validate_default=True)] = False`. pydantic makes the
    ``False`` a ``Ratecounter``, but mypy --strict refuses a bool where a Ratecounter is declared;
    pydantic's ``Field(default=..., validate_default=True)`` is typed as any value, for this case (with or
    without pydantic's mypy plugin).
    """
    tree = ast.parse(body)
    values = [
        stmt.value
        for node in tree.body
        if isinstance(node, ast.ClassDef)
        for stmt in node.body
        if isinstance(stmt, ast.AnnAssign) and stmt.value is not None and _validates_default(stmt.annotation)
    ]
    lines = body.split("\n")
    for value in reversed(values):
        text = f"Field(default={ast.get_source_segment(body, value)}, validate_default=True)"
        first, last = value.lineno - 1, (value.end_lineno or value.lineno) - 1
        lines[first : last + 1] = [
            lines[first][: value.col_offset] + text + lines[last][value.end_col_offset or 0 :]
        ]
    return "\n".join(lines)


def _validates_default(annotation: ast.expr) -> bool:
    """Whether ``annotation`` is ``Annotated[..., Field(..., validate_default=True)]``."""
    return (
        isinstance(annotation, ast.Subscript)
        and isinstance(annotation.value, ast.Name)
        and annotation.value.id == "Annotated"
        and isinstance(annotation.slice, ast.Tuple)
        and any(
            isinstance(meta, ast.Call)
            and isinstance(meta.func, ast.Name)
            and meta.func.id == "Field"
            and any(
                k.arg == "validate_default" and isinstance(k.value, ast.Constant) and k.value.value is True
                for k in meta.keywords
            )
            for meta in annotation.slice.elts[1:]
        )
    )


# Each model's validator and serializer are built at its first use, not when models.py is
# imported: GitHub's description has 6,667 models, and building every one took most of the 10 s
# (CPU) its service took to import them; a service uses the few its requests reach.
_BASES = (
    "from microlib.contract.models import GeneratedModel as _GeneratedModel, "
    "GeneratedRootModel as _GeneratedRootModel"
)


def _deferred(body: str) -> str:
    """``body`` with its models deriving from :mod:`microlib.contract.models`' bases, which
    pydantic builds at their first use (a validation, a dump, a JSON Schema), not when the module
    is imported. Imported under private names: no schema's class can take them."""
    direct = re.compile(r"^(class \w+\()BaseModel(\):)$", re.MULTILINE)
    rooted = re.compile(r"^(class \w+\()RootModel\[", re.MULTILINE)
    if not direct.search(body) and not rooted.search(body):
        return body
    body = direct.sub(r"\1_GeneratedModel\2", body)
    body = rooted.sub(r"\1_GeneratedRootModel[", body)
    first = body.index("\n\n\nclass ")
    return f"{body[:first]}\n{_BASES}{body[first:]}"


def _evaluated(body: str) -> str:
    """``body`` read without ``from __future__ import annotations``: each annotation evaluated by
    Python as its class is defined, except those that name a class not defined yet (a recursive
    schema) or a name the class body bound before it (a field ``Label`` beside a type ``Label``),
    which stay text, as every annotation was.

    pydantic evaluates an annotation written as text with ``typing.ForwardRef``, which compiles it:
    for GitHub's description, 40,651 compilations, a third of what importing its models cost.
    """
    tree = ast.parse(body)
    pending = {node.name for node in tree.body if isinstance(node, ast.ClassDef)}
    quoted: list[ast.expr] = []
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        pending.discard(node.name)
        bound: set[str] = set()
        for stmt in node.body:
            if isinstance(stmt, ast.AnnAssign):
                names = {n.id for n in ast.walk(stmt.annotation) if isinstance(n, ast.Name)}
                if names & (pending | bound | {node.name}):
                    quoted.append(stmt.annotation)
            targets = (
                stmt.targets
                if isinstance(stmt, ast.Assign)
                else [stmt.target]
                if isinstance(stmt, ast.AnnAssign) and stmt.value
                else []
            )
            bound |= {t.id for t in targets if isinstance(t, ast.Name)}
    lines = body.split("\n")
    for annotation in reversed(quoted):
        text = repr(ast.get_source_segment(body, annotation))
        first, last = annotation.lineno - 1, (annotation.end_lineno or annotation.lineno) - 1
        lines[first : last + 1] = [
            lines[first][: annotation.col_offset] + text + lines[last][annotation.end_col_offset or 0 :]
        ]
    return "\n".join(lines)


def _declares(node: Any, fmt: str) -> bool:
    """Whether a schema in ``node`` has format ``fmt``."""
    if isinstance(node, dict):
        return node.get("format") == fmt or any(_declares(value, fmt) for value in node.values())
    return isinstance(node, list) and any(_declares(value, fmt) for value in node)


def _imported(body: str, module: str) -> set[str]:
    found = re.search(rf"^from {module} import (.+)$", body, re.MULTILINE)
    return set(found[1].split(", ")) if found else set()


def _import(body: str, module: str, names: set[str]) -> str:
    """``body`` (the module below ``from __future__``) importing ``names`` from ``module``."""
    line = f"from {module} import {', '.join(sorted(names))}"
    found = re.search(rf"^from {module} import .+$", body, re.MULTILINE)
    if found is None:
        return f"{line}\n{body}"
    return body[: found.start()] + line + body[found.end() :]


def _generate(src: Path, out: Path, metadata: Path) -> None:
    from datamodel_code_generator import PythonVersion, generate
    from datamodel_code_generator.enums import (
        DataModelType,
        DefaultValueType,
        InputFileType,
        TargetPydanticVersion,
    )

    generate(
        src,
        input_file_type=InputFileType.OpenAPI,
        output=out,
        output_model_type=DataModelType.PydanticV2BaseModel,
        target_python_version=PythonVersion.PY_311,
        target_pydantic_version=TargetPydanticVersion("2.14"),
        disable_timestamp=True,
        use_annotated=True,
        field_constraints=True,
        use_missing_sentinel=True,
        strict_nullable=True,
        use_standard_collections=True,
        use_union_operator=True,
        use_schema_description=True,
        use_field_description=True,
        capitalise_enum_members=True,
        use_double_quotes=True,
        formatters=[],
        # `pet.Pet` is one schema's name, not a module `pet` holding `Pet`.
        treat_dot_as_module=False,
        emit_model_metadata=metadata,
        # The runtime reads how an error schema's property is filled from the model's JSON schema.
        field_extra_keys={"x-microlib-error"},
        # An enum field's default is its member (`Kind.A`), not the raw value: a model left at its
        # default holds the type it declares and serializes without pydantic's warning.
        deserialize_default_values=[DefaultValueType.Enum],
    )
