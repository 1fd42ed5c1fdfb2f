"""OpenAPI 3.0/3.1 document -> typed models, operations and handler Protocols.

``render`` returns the files of the DO-NOT-EDIT package (``models.py`` from
datamodel-code-generator, ``operations.py`` for the runtime, ``handlers.py``
with one Protocol per tag, the bundled ``openapi.json`` the service serves,
and ``_manifest.json``); ``render_stubs`` the user's modules, one per tag,
which ``generate`` writes only when they do not exist. The same document
always gives the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2

from microlib_codegen import __version__
from microlib_codegen._bundle import Bundled, BundleError, bundle, walk_nodes
from microlib_codegen._error_responses import error_response_problem
from microlib_codegen._format_ranges import bound_formats
from microlib_codegen._openapi_ops import (
    METHODS,
    DocumentRefused,
    OperationSpec,
    ParamSpec,
    collect_operations,
    pascal,
    resolve,
    snake,
)
from microlib_codegen._pydantic_models import ModelsError, document_models, generated_header
from microlib_codegen._pyfmt import doc_text, docstring
from microlib_codegen._schema_dialect import foreign_dialect
from microlib_codegen._schema_keywords import misspelt_keywords
from microlib_codegen._visibility import split_views
from microlib_codegen.errors import CodegenError
from microlib_codegen.typespec import CONFIG, compile_typespec

__all__ = [
    "GenerateResult",
    "HandlerStub",
    "OpenAPIError",
    "generate",
    "handler_stubs",
    "render",
    "render_stubs",
]


class OpenAPIError(CodegenError, ValueError):
    """The document is invalid or cannot be turned into code."""


@dataclass
class GenerateResult:
    """What ``generate`` wrote, or in check mode what differs from disk.

    Args:
        written: Files created or replaced (check mode: would be).
        unchanged: Generated files already up to date.
        stubs_created: User stub modules created (never replaced).
        drift: Human-readable differences found in check mode.
    """

    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    stubs_created: list[Path] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("microlib_codegen", "templates"),
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        autoescape=False,
    )
    env.filters["pyrepr"] = repr
    env.filters["docstring"] = docstring
    env.filters["doc_text"] = doc_text
    env.globals["dict"] = dict
    return env


@dataclass
class _Loaded:
    """A validated document, its operations and the copy the model generator reads."""

    bundled: Bundled
    ops: list[OperationSpec]
    work: dict[str, Any]
    warnings: list[str]
    # A TypeSpec contract's sources (name, sha256): the package records them, so that editing
    # any of them shows as drift.
    sources: tuple[tuple[str, str], ...] = ()

    @property
    def doc(self) -> dict[str, Any]:
        return self.bundled.document

    def warn(self, path: tuple[str, ...], reason: str) -> None:
        self.warnings.append(f"{self.bundled.at(path)}: {'.'.join(path) or '(document)'}: {reason}")


# The documents read so far, by entry file: the files each was read from with their digests, and
# what loading made of them (its warnings as loading left them).
_READ: dict[Path, tuple[tuple[tuple[Path, str], ...], _Loaded]] = {}
_KEPT = 4


def _load(spec: Path) -> _Loaded:
    """The document at ``spec``, read once per content: one run of codegen asks for it three
    times (the package, the stubs, the drift report), and reading, validating and bundling
    GitHub's 13 MB description costs a minute. Read again when any of its files changed."""
    if spec.suffix == ".tsp" or spec.name == CONFIG:
        return _read_contract(spec)
    key = spec.resolve()
    known = _READ.pop(key, None)
    if known is None or any(_digest(file) != digest for file, digest in known[0]):
        loaded = _read_contract(spec)
        known = (tuple((file, _digest(file)) for file in loaded.bundled.files), loaded)
    _READ[key] = known  # the most recent last
    while len(_READ) > _KEPT:
        del _READ[next(iter(_READ))]
    return replace(known[1], warnings=list(known[1].warnings))


def _digest(file: Path) -> str:
    try:
        return hashlib.sha256(file.read_bytes()).hexdigest()
    except OSError:
        return ""


def _read_contract(spec: Path) -> _Loaded:
    if spec.suffix == ".tsp" or spec.name == CONFIG:
        # TypeSpec: the OpenAPI 3.1 document the compiler emits is the contract from here on.
        compiled = compile_typespec(spec)
        with tempfile.TemporaryDirectory(prefix="microlib-tsp-") as tmp:
            document = Path(tmp, "openapi.json")
            document.write_text(compiled.document, encoding="utf-8")
            loaded = _load_document(document)
        loaded.sources = compiled.sources
        return loaded
    return _load_document(spec)


def _load_document(spec: Path) -> _Loaded:
    from jsonschema.exceptions import best_match
    from openapi_spec_validator import validate
    from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

    try:
        bundled = bundle(spec)
    except BundleError as exc:
        raise OpenAPIError(str(exc)) from exc
    doc = bundled.document
    if "swagger" in doc:
        # openapi-spec-validator takes a valid 2.0 document, which the rest reads as 3.x: its
        # `securityDefinitions` missing from `components` was the first error, and a wrong one.
        raise OpenAPIError(
            bundled.located(
                ("swagger",),
                f"Swagger {doc['swagger']} is not read: microlib reads OpenAPI 3.0 and 3.1; convert the "
                "document (swagger2openapi, or the Swagger Editor's Convert to OpenAPI 3)",
            )
        )
    foreign = foreign_dialect(doc)
    if foreign is not None:
        raise OpenAPIError(bundled.located(*foreign))
    try:
        validate(doc)
    except OpenAPIValidationError as exc:
        # OpenAPI 3.0 refuses a schema key it does not know, a misspelt keyword too: in a `oneOf`
        # of the response or parameter around it, which names neither the key nor its line. (3.1
        # allows it: another refusal there is the one to report.)
        misspelt = next(misspelt_keywords(doc), None) if str(doc.get("openapi")).startswith("3.0") else None
        if misspelt is not None:
            key_path, reason = misspelt
            where = ".".join(map(str, key_path))
            raise OpenAPIError(
                f"{bundled.at(key_path)}: invalid OpenAPI document at {where}: {reason}"
            ) from exc
        path = (
            bundled.complete(exc.absolute_path, exc.instance)
            or _quoted_path_item(exc.message, doc)
            or _refused_default(exc.schema, exc.instance, bundled)
        )
        where = ".".join(str(p) for p in path) or "(root)"
        at = bundled.at(path)
        # "not valid under any of the given schemas" says less than the alternative that came closest.
        message = best_match(exc.context).message if exc.context else exc.message
        # Some validators append the failing schema and the instance after a blank line: the
        # first paragraph says it, at the line already given.
        message = message.split("\n\n", 1)[0]
        # "{...the whole parameter...} is not valid under any of ...": the node is the one named.
        dumped, alternatives, rest = message.partition(" is not valid under any of the ")
        if alternatives and len(dumped) > 80:
            message = f"not valid under any of the {rest}"
        raise OpenAPIError(f"{at}: invalid OpenAPI document at {where}: {message}") from exc
    work = json.loads(json.dumps(doc))
    bound_formats(work)
    split_views(work)
    try:
        ops, notes = collect_operations(work)
    except DocumentRefused as exc:
        raise OpenAPIError(bundled.located(exc.path, exc.reason)) from exc
    problem = error_response_problem(bundled)
    if problem is not None:
        raise OpenAPIError(problem)
    loaded = _Loaded(bundled, ops, work, [])
    for path, reason in [*notes, *_other_bases(doc)]:
        loaded.warn(path, reason)
    loaded.warnings.extend(bundled.located(path, reason) for path, reason in misspelt_keywords(doc))
    return loaded


def _other_bases(doc: dict[str, Any]) -> list[tuple[tuple[str, ...], str]]:
    """Where a path item or an operation names servers of its own at another base path than the
    document's, with what microlib does: it serves the document under one base, its first server's.

    Twilio's documents repeat the document's server on every path item: that one is served as written.
    """
    base = _prefix(doc)
    found: list[tuple[tuple[str, ...], str]] = []
    for url, item in (doc.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        owners = [(("paths", url), item)] + [
            (("paths", url, method), op)
            for method, op in item.items()
            if method in METHODS and isinstance(op, dict)
        ]
        for place, owner in owners:
            if owner.get("servers") and (other := _prefix(owner)) != base:
                found.append(
                    (
                        (*place, "servers"),
                        f"served under the document's base {base or '/'!r}, not {other or '/'!r}: "
                        "servers of its own are not served",
                    )
                )
    return found


def _quoted_path_item(message: str, doc: dict[str, Any]) -> tuple[str, ...]:
    """``paths.<path>`` when ``message`` quotes a path of ``doc`` (``in '/pets/{petId}'``), else ().

    openapi-spec-validator's checks across a path item (a path parameter no parameter declares, an
    operationId used twice) raise errors that carry no path, only their message naming it.
    """
    paths = doc.get("paths")
    named = [url for url in paths if f"in '{url}'" in message] if isinstance(paths, dict) else []
    return ("paths", max(named, key=len)) if named else ()


def _refused_default(schema: Any, value: Any, bundled: Bundled) -> tuple[str | int, ...]:
    """``<schema path>.default`` when ``schema``, a schema object of the document, has ``value``
    as its default, else ().

    openapi-spec-validator checks a schema's ``default`` against the schema itself, and its error
    carries that schema object, not where it is.
    """
    if not isinstance(schema, dict) or "default" not in schema or schema["default"] != value:
        return ()
    path = bundled.path_of(schema)
    return (*path, "default") if path else ()


def _models(loaded: _Loaded, source: str) -> tuple[str, dict[str, str]]:
    try:
        text, names, notes = document_models(loaded.work, source)
    except ModelsError as exc:
        raise OpenAPIError(str(exc)) from exc
    own = set((loaded.doc.get("components") or {}).get("schemas") or {})
    written = dict.fromkeys((_written_at(loaded.work, own, path), reason) for path, reason in notes)
    for path, reason in written:
        loaded.warn(path, reason)
    return text, names


def _written_at(work: dict[str, Any], own: set[str], path: tuple[str, ...]) -> tuple[str, ...]:
    """Where the document wrote what a model note names at ``path`` of ``work``: a schema codegen
    made a model of (``components.schemas.PullsCreateBody``, an operation's inline body) is the
    document's own object, found where the document has it; other paths are the document's."""
    if len(path) < 3 or path[:2] != ("components", "schemas") or path[2] in own:
        return path
    node: Any = work
    depth = 0
    for part in path:
        child = node.get(part) if isinstance(node, dict) else None
        if not isinstance(child, dict | list):
            break
        node, depth = child, depth + 1
    for where, candidate in walk_nodes(work, ()):
        if candidate is node and not (where[:2] == ("components", "schemas") and where[2] not in own):
            return (*map(str, where), *path[depth:])
    return path


def _resolved(loaded: _Loaded, names: dict[str, str]) -> list[OperationSpec]:
    """The operations with their models' class names; one whose model was not generated is skipped."""
    ops = []
    for op in loaded.ops:
        found = resolve(op, loaded.work, names)
        if isinstance(found, list):
            path = ("paths", op.path, op.method.lower())
            loaded.warn(path, f"no model was generated for {', '.join(found)}: operation skipped")
        else:
            ops.append(found)
    return ops


def _signature(op: OperationSpec) -> list[str]:
    ordered = sorted(op.params, key=lambda p: not p.required)
    if op.body is not None and op.body.required:
        ordered_body = [f"body: {op.body.annotation}"]
    elif op.body is not None:
        ordered_body = [f"body: {op.body.annotation} | None = None"]
    else:
        ordered_body = []
    required = [f"{p.arg}: {p.annotation}" for p in ordered if p.required]
    optional = [_optional(p) for p in ordered if not p.required]
    keywords = required + ordered_body + optional
    # A bare `*` with nothing after it is a syntax error: operations without parameters take only self.
    return ["self", "*", *keywords] if keywords else ["self"]


def _optional(p: ParamSpec) -> str:
    if p.default is not None:
        return f"{p.arg}: {p.annotation} = {p.default}"
    return f"{p.arg}: {p.annotation} | None = None"


def _returns(op: OperationSpec) -> str:
    types: list[str] = []
    for status, media, model in op.responses:
        if status.startswith("2"):
            # A response without content (`201: {description: created}`) is answered by returning None.
            if model:
                t = "Any" if model in op.any_models else f"models.{model}"
            else:
                t = "None" if media is None or status == "204" else "bytes"
            if t not in types:
                types.append(t)
    # ruff wants None last in a union.
    tail = ["None"] if "None" in types else []
    return " | ".join([*(t for t in types if t != "None"), "Reply", *tail])


def _imports(texts: list[str], tail: list[str], *, protocol: bool = False) -> str:
    joined = "\n".join(texts)
    std = [
        line for mod, line in (("datetime.", "import datetime"), ("uuid.", "import uuid")) if mod in joined
    ]
    typing = sorted(n for n in ("Any", "Literal") if re.search(rf"\b{n}\b", joined))
    if protocol:
        # The Protocols carry what Service.include reads: their document and tag.
        std.append("from types import ModuleType")
        typing = sorted({*typing, "ClassVar", "Protocol", "cast"})
    if typing:
        std.append(f"from typing import {', '.join(typing)}")
    return "\n".join([*std, "", *tail]) if std else "\n".join(tail)


def _annotations(operation: dict[str, Any]) -> str:
    """A rendered operation's parameters and return annotation, for ``_imports`` to scan: apart,
    so a name ending one (``models.Tag``) does not run into the next (``Any``)."""
    return f"{', '.join(operation['signature'])} -> {operation['returns']}"


def _tags(ops: list[OperationSpec]) -> list[dict[str, Any]]:
    groups: dict[str, list[OperationSpec]] = {}
    for op in ops:
        groups.setdefault(op.tag, []).append(op)
    tags = []
    for name, members in groups.items():
        rendered = [
            {
                "operation_id": op.operation_id,
                "method_name": op.method_name,
                "signature": _signature(op),
                # What the service passes the handler (microlib.http.openapi._check_handler).
                "keywords": (*(p.arg for p in op.params), *(("body",) if op.body is not None else ())),
                "returns": _returns(op),
                "doc": (op.summary or f"{op.method} {op.path}").rstrip("."),
            }
            for op in members
        ]
        tags.append(
            {
                "name": name,
                "module": snake(name),
                "protocol": f"{pascal(name)}Api",
                "impl": pascal(name),
                "operations": rendered,
            }
        )
    return tags


def _prefix(doc: dict[str, Any]) -> str:
    """The path of the first server's URL (``/api`` of ``https://x.example/api``), its
    variables at their defaults (``{scheme}://x.example/{base}``): where ``Service.include``
    mounts the document's operations; "" (the root, OpenAPI's default server ``/``) when it
    names none."""
    servers = doc.get("servers")
    first = servers[0] if isinstance(servers, list) and servers else None
    url = first.get("url") if isinstance(first, dict) else None
    if not isinstance(first, dict) or not isinstance(url, str):
        return ""
    variables = first.get("variables")
    if not isinstance(variables, dict):
        variables = {}
    defaults = {
        name: variable["default"]
        for name, variable in variables.items()
        if isinstance(variable, dict) and isinstance(variable.get("default"), str)
    }
    named = _SERVER_VARIABLE.findall(url)
    if not set(named) <= set(defaults):
        return ""
    url = _SERVER_VARIABLE.sub(lambda found: defaults[found[1]], url)
    return urlsplit(url).path.rstrip("/")


_SERVER_VARIABLE = re.compile(r"\{([^{}]*)\}")


def _senders(env: Any, header: str, info: dict[str, Any], ops: list[OperationSpec]) -> str:
    """``senders.py``: a typed method per webhook and callback operation."""
    rendered = []
    for op in ops:
        json_models = [m for media, m in (op.body.media if op.body else ()) if m and "json" in media]
        model = f"models.{json_models[0]}" if json_models else None
        rendered.append(
            {
                "method_name": op.method_name,
                "method": op.method,
                "operation_id": op.operation_id,
                "body_annotation": model or (op.body.annotation if op.body else None),
                "body_required": op.body is not None and op.body.required,
                "model": model,
                "documented": tuple(sorted({status for status, _media, _model in op.responses})),
                "doc": (op.summary or f"{op.method} {op.operation_id}").rstrip("."),
            }
        )
    return str(
        env.get_template("openapi_senders.py.j2").render(
            header=header,
            title=info.get("title", ""),
            version=info.get("version", ""),
            operations=rendered,
            uses_models=any(r["model"] for r in rendered),
        )
    )


def _compiled_from(sources: tuple[tuple[str, str], ...]) -> str:
    """The TypeSpec sources a package was compiled from, for its docstring: a source edited
    since makes ``--check`` report the package stale even where the document comes out the same."""
    if not sources:
        return ""
    return "\n\nCompiled from (sha256):\n\n" + "".join(f"    {name} {digest}\n" for name, digest in sources)


def render(
    spec: Path,
    *,
    source_name: str | None = None,
    warnings: list[str] | None = None,
    read: list[Path] | None = None,
) -> dict[str, str]:
    """Render the generated package for the OpenAPI document at ``spec``.

    Args:
        spec: The document's entry file (YAML or JSON; refs to other files
            are followed).
        source_name: How the header names the source (default: the file name).
        warnings: Receives ``file:line: JSON path: what`` for each derived
            operationId and each operation skipped.
        read: Receives every file the document was read from (its ``$ref``s' files).

    Returns:
        File name -> content of the DO-NOT-EDIT package.

    Raises:
        OpenAPIError: The document is invalid or no model can be generated from it.
    """
    source = source_name or spec.name
    loaded = _load(spec)
    doc = loaded.doc
    served = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    digest = hashlib.sha256(served.encode()).hexdigest()
    header = generated_header(source, digest)
    models, names = _models(loaded, source)
    models_py = f"{header}\n{models}"
    resolved = _resolved(loaded, names)
    ops = [op for op in resolved if not op.outgoing]
    outgoing = [op for op in resolved if op.outgoing]
    if warnings is not None:
        warnings.extend(loaded.warnings)
    if read is not None:
        read.extend(loaded.bundled.files)
    info = doc.get("info") or {}
    env = _env()
    tags = _tags(ops)
    texts = [_annotations(o) for t in tags for o in t["operations"]]
    files = {
        "__init__.py": f'{header}\n"""Generated code of {source}.{_compiled_from(loaded.sources)}"""\n\n'
        "from __future__ import annotations\n",
        "models.py": models_py,
        "openapi.json": served,
        "operations.py": env.get_template("openapi_operations.py.j2").render(
            header=header,
            title=info.get("title", ""),
            version=info.get("version", ""),
            prefix=_prefix(doc),
            operations=ops,
        ),
        "handlers.py": env.get_template("openapi_handlers.py.j2").render(
            header=header,
            title=info.get("title", ""),
            version=info.get("version", ""),
            tags=tags,
            imports=_imports(
                texts,
                ["from microlib.http.openapi import Reply", "", "from . import models, operations"],
                protocol=True,
            ),
        ),
    }
    if outgoing:
        files["senders.py"] = _senders(env, header, info, outgoing)
    files = {name: text if text.endswith("\n") else text + "\n" for name, text in files.items()}
    manifest = {
        "generator": f"microlib-codegen {__version__}",
        "source": source,
        "source_sha256": digest,
        **({"sources": dict(loaded.sources)} if loaded.sources else {}),
        "files": {name: hashlib.sha256(text.encode()).hexdigest() for name, text in sorted(files.items())},
    }
    files["_manifest.json"] = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    return files


def render_stubs(spec: Path, *, gen_package: str) -> dict[str, str]:
    """Render the user's handler modules, one per tag.

    Args:
        spec: The document's entry file.
        gen_package: The import path of the generated package.

    Returns:
        File name (``<tag>.py``) -> content.

    Raises:
        OpenAPIError: The document is invalid.
    """
    loaded = _load(spec)
    title = (loaded.doc.get("info") or {}).get("title", "")
    ops = [op for op in _resolved(loaded, _models(loaded, spec.name)[1]) if not op.outgoing]
    env = _env()
    out: dict[str, str] = {}
    for tag in _tags(ops):
        texts = [_annotations(o) for o in tag["operations"]]
        tail = [
            "from microlib.core.errors import Unimplemented",
            "from microlib.http.openapi import Reply",
            "",
        ]
        if any("models." in t for t in texts):
            tail.append(f"from {gen_package} import models")
        tail.append(f"from {gen_package}.handlers import {tag['protocol']}")
        out[f"{tag['module']}.py"] = env.get_template("openapi_stub.py.j2").render(
            tag=tag, title=title, imports=_imports(texts, tail)
        )
    return out


@dataclass(frozen=True, slots=True)
class HandlerStub:
    """What one tag's handler module must define, for the drift report.

    Args:
        module: The module's file name (``pets.py``).
        protocol: The generated Protocol its class subclasses.
        impl: The class the stub was written with.
        title: The document's title.
        handlers: Each operation's method: name, operationId, the
            ``async def ...:`` line to write and the keyword arguments the
            service calls it with (each parameter, then ``body``).
    """

    module: str
    protocol: str
    impl: str
    title: str
    handlers: tuple[tuple[str, str, str, tuple[str, ...]], ...]


def handler_stubs(spec: Path) -> list[HandlerStub]:
    """The handler module of each tag of the document, as the stubs define them.

    Raises:
        OpenAPIError: The document is invalid.
    """
    loaded = _load(spec)
    ops = [op for op in _resolved(loaded, _models(loaded, spec.name)[1]) if not op.outgoing]
    title = (loaded.doc.get("info") or {}).get("title") or spec.name
    return [
        HandlerStub(
            f"{tag['module']}.py",
            tag["protocol"],
            tag["impl"],
            title,
            tuple(
                (
                    o["method_name"],
                    o["operation_id"],
                    f"async def {o['method_name']}({', '.join(o['signature'])}) -> {o['returns']}:",
                    o["keywords"],
                )
                for o in tag["operations"]
            ),
        )
        for tag in _tags(ops)
    ]


def generate(
    spec: Path, *, out_dir: Path, gen_package: str, stubs_dir: Path | None = None, check: bool = False
) -> GenerateResult:
    """Write (or in check mode compare) the generated package and the stubs.

    Args:
        spec: The document's entry file.
        out_dir: The DO-NOT-EDIT package directory; replaced whole.
        gen_package: Its import path, used by the stubs.
        stubs_dir: Where the per-tag user modules go (written once), if wanted.
        check: Compare with disk instead of writing; differences go to
            ``GenerateResult.drift``.

    Returns:
        What was written, or what differs.

    Raises:
        OpenAPIError: The document is invalid.
    """
    result = GenerateResult()
    files = render(spec)
    existing = {p.name for p in out_dir.iterdir() if p.is_file()} if out_dir.is_dir() else set()
    for name, text in files.items():
        path = out_dir / name
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            result.unchanged.append(path)
            continue
        if check:
            result.drift.append(f"{path}: {'out of date' if path.exists() else 'missing'}")
        else:
            out_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        result.written.append(path)
    for stale in sorted(existing - set(files)):
        if check:
            result.drift.append(f"{out_dir / stale}: not generated from {spec.name} any more")
        else:
            (out_dir / stale).unlink()
    if stubs_dir is not None:
        for name, text in render_stubs(spec, gen_package=gen_package).items():
            path = stubs_dir / name
            if path.exists():
                continue
            if check:
                result.drift.append(f"{path}: stub missing (run codegen to create it)")
            else:
                stubs_dir.mkdir(parents=True, exist_ok=True)
                init = stubs_dir / "__init__.py"
                if not init.exists():
                    init.write_text(f'"""Handlers of {spec.name}."""\n', encoding="utf-8")
                path.write_text(text, encoding="utf-8")
            result.stubs_created.append(path)
    return result
