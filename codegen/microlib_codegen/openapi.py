"""OpenAPI 3.0/3.1 document -> typed models, operations and handler Protocols.

``render`` returns the files of the DO-NOT-EDIT package (``models.py`` from
datamodel-code-generator, ``operations.py`` for the runtime, ``handlers.py``
with one Protocol per tag, the bundled ``openapi.json`` the service serves,
and ``_manifest.json``); ``render_stubs`` the user's modules, one per tag,
which ``generate`` writes only when they do not exist. The same document
always gives the same bytes.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from microlib_codegen import __version__
from microlib_codegen._openapi_bundle import BundleError, bundle
from microlib_codegen._openapi_ops import OperationSpec, ParamSpec, collect_operations, pascal, snake
from microlib_codegen.errors import CodegenError

__all__ = ["GenerateResult", "OpenAPIError", "generate", "render", "render_stubs"]


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
    env.globals["dict"] = dict
    return env


def _load(spec: Path) -> tuple[dict[str, Any], list[OperationSpec], dict[str, Any]]:
    from openapi_spec_validator import validate
    from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

    try:
        doc = bundle(spec)
    except BundleError as exc:
        raise OpenAPIError(str(exc)) from exc
    try:
        validate(doc)
    except OpenAPIValidationError as exc:
        where = ".".join(str(p) for p in exc.absolute_path) or "(root)"
        raise OpenAPIError(f"{spec}: invalid OpenAPI document at {where}: {exc.message}") from exc
    work = json.loads(json.dumps(doc))
    try:
        ops = collect_operations(work)
    except ValueError as exc:
        raise OpenAPIError(f"{spec}: {exc}") from exc
    return doc, ops, work


def _models(work: dict[str, Any], source: str) -> str:
    from datamodel_code_generator import Error

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp, "openapi.json")
        src.write_text(json.dumps(work), encoding="utf-8")
        out = Path(tmp, "models.py")
        try:
            _generate_models(src, out)
        except Error as exc:
            if "Models not found" not in str(exc):
                raise OpenAPIError(f"{source}: {exc}") from exc
            # A document with no schemas and no parameters has no models.
            return f'"""Models of {source}."""\n\nfrom __future__ import annotations\n'
        text = out.read_text(encoding="utf-8")
    body = text.split("\nfrom __future__ import annotations\n", 1)[-1]
    return f'"""Models of {source}."""\n\nfrom __future__ import annotations\n{body}'


def _generate_models(src: Path, out: Path) -> None:
    from datamodel_code_generator import PythonVersion, generate
    from datamodel_code_generator.enums import DataModelType, InputFileType, TargetPydanticVersion

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
    )


def _class_names(models_py: str) -> set[str]:
    return {n.name for n in ast.parse(models_py).body if isinstance(n, ast.ClassDef)}


def _signature(op: OperationSpec) -> list[str]:
    parts = ["self", "*"]
    ordered = sorted(op.params, key=lambda p: not p.required)
    if op.body is not None and op.body.required:
        ordered_body = [f"body: {op.body.annotation}"]
    elif op.body is not None:
        ordered_body = [f"body: {op.body.annotation} | None = None"]
    else:
        ordered_body = []
    required = [f"{p.arg}: {p.annotation}" for p in ordered if p.required]
    optional = [_optional(p) for p in ordered if not p.required]
    return parts + required + ordered_body + optional


def _optional(p: ParamSpec) -> str:
    if p.default is not None:
        return f"{p.arg}: {p.annotation} = {p.default}"
    return f"{p.arg}: {p.annotation} | None = None"


def _returns(op: OperationSpec) -> str:
    types: list[str] = []
    for status, _media, model in op.responses:
        if status.startswith("2"):
            t = f"models.{model}" if model else ("None" if status == "204" else "bytes")
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
        typing = sorted([*typing, "Protocol"])
    if typing:
        std.append(f"from typing import {', '.join(typing)}")
    return "\n".join([*std, "", *tail]) if std else "\n".join(tail)


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
                "returns": _returns(op),
                "doc": (op.summary or f"{op.method} {op.path}").replace('"""', "'''").rstrip("."),
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


def _header(source: str, digest: str) -> str:
    return (
        f"# Generated from {source} by microlib-codegen {__version__}. DO NOT EDIT.\n"
        f"# source sha256: {digest}"
    )


def render(spec: Path, *, source_name: str | None = None) -> dict[str, str]:
    """Render the generated package for the OpenAPI document at ``spec``.

    Args:
        spec: The document's entry file (YAML or JSON; refs to other files
            are followed).
        source_name: How the header names the source (default: the file name).

    Returns:
        File name -> content of the DO-NOT-EDIT package.

    Raises:
        OpenAPIError: The document is invalid or a model cannot be generated.
    """
    source = source_name or spec.name
    doc, ops, work = _load(spec)
    served = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    digest = hashlib.sha256(served.encode()).hexdigest()
    header = _header(source, digest)
    models_py = f"{header}\n{_models(work, source)}"
    known = _class_names(models_py)
    for op in ops:
        wanted = [*op.location_models.values(), *(m for _s, _m, m in op.responses if m)]
        wanted += [m for _c, m in op.body.media if m] if op.body else []
        missing = sorted(set(wanted) - known)
        if missing:
            raise OpenAPIError(f"{source}: {op.operation_id}: no model generated for {', '.join(missing)}")
    info = doc.get("info") or {}
    env = _env()
    tags = _tags(ops)
    texts = [", ".join(o["signature"]) + o["returns"] for t in tags for o in t["operations"]]
    files = {
        "__init__.py": f'{header}\n"""Generated code of {source}."""\n\nfrom __future__ import annotations\n',
        "models.py": models_py,
        "openapi.json": served,
        "operations.py": env.get_template("openapi_operations.py.j2").render(
            header=header, title=info.get("title", ""), version=info.get("version", ""), operations=ops
        ),
        "handlers.py": env.get_template("openapi_handlers.py.j2").render(
            header=header,
            title=info.get("title", ""),
            version=info.get("version", ""),
            tags=tags,
            imports=_imports(
                texts, ["from microlib.http.openapi import Reply", "", "from . import models"], protocol=True
            ),
        ),
    }
    files = {name: text if text.endswith("\n") else text + "\n" for name, text in files.items()}
    manifest = {
        "generator": f"microlib-codegen {__version__}",
        "source": source,
        "source_sha256": digest,
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
    doc, ops, _work = _load(spec)
    title = (doc.get("info") or {}).get("title", "")
    env = _env()
    out: dict[str, str] = {}
    for tag in _tags(ops):
        texts = [", ".join(o["signature"]) + o["returns"] for o in tag["operations"]]
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
