"""Find the contract files to generate from and the include roots they need.

Every ``.proto`` in a given folder is generated. Each file is named relative
to the first ``-I`` root that contains it, else to the folder its ``package``
implies (``contracts/shop/v1/x.proto`` with ``package shop.v1`` →
``contracts``), else to the given folder (or a single file's own folder).
The kind of a file is detected from its content: OpenAPI and AsyncAPI
documents are generated too (files they ``$ref`` declare no ``openapi:`` or
``asyncapi:`` and are not), so are TypeSpec contracts: a ``.tsp`` declaring a
``@service``, or a project (a ``tspconfig.yaml``, whose ``.tsp`` files are
compiled together and not on their own). ``node_modules`` is never searched.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from microlib_codegen.errors import CodegenError
from microlib_codegen.typespec import CONFIG, is_project, is_service

__all__ = ["ContractSet", "contract_kind", "discover"]

_PACKAGE = re.compile(r"^\s*package\s+([\w.]+)\s*;", re.MULTILINE)
# The top-level key that says what a document is.
_KEYS = ("openapi", "asyncapi", "swagger", "microlib-jobs")
_DOCUMENT = re.compile(rf"""^\s*["']?({"|".join(_KEYS)})["']?\s*:""", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class ContractSet:
    """Proto files by name (relative to a root), sorted, and the roots.

    Args:
        files: Names relative to their include root, sorted.
        includes: The roots, in search order (user roots first).
        documents: OpenAPI documents, sorted by path.
        asyncapi: AsyncAPI documents, sorted by path.
        jobs: Jobs contracts (``microlib-jobs:`` documents), sorted by path.
        sources: Every contract file found, fragments a document ``$ref``s and a
            TypeSpec project's ``.tsp`` files included, sorted: what the manifest records
            so that a service can tell its generated code is older than its contracts.
    """

    files: tuple[str, ...]
    includes: tuple[Path, ...]
    documents: tuple[Path, ...] = ()
    asyncapi: tuple[Path, ...] = ()
    jobs: tuple[Path, ...] = ()
    sources: tuple[Path, ...] = ()


# The suffixes of the files a contract is written in (a .json or .yaml may be a fragment another
# document $refs, an .avsc an Avro schema an AsyncAPI message names).
_SOURCE_SUFFIXES = frozenset({".proto", ".yaml", ".yml", ".json", ".tsp", ".avsc"})


def contract_kind(path: Path) -> str:
    """``proto``, ``openapi``, ``asyncapi``, ``jobs`` or ``unknown``, from the content."""
    if path.suffix == ".proto":
        return "proto"
    if path.suffix == ".tsp" or path.name == CONFIG:
        # Compiled to an OpenAPI document (microlib_codegen.typespec).
        return "openapi"
    if path.suffix not in (".yaml", ".yml", ".json"):
        return "unknown"
    text = path.read_text(encoding="utf-8", errors="replace")
    match = _DOCUMENT.search(text[:4096])
    key = match.group(1) if match is not None else _json_key(text)
    if key is None:
        return "unknown"
    if key == "microlib-jobs":
        return "jobs"
    return "openapi" if key in ("openapi", "swagger") else "asyncapi"


def _json_key(text: str) -> str | None:
    """The kind's key of a JSON object whose keys do not start lines (minified JSON, as
    APIs serve their openapi.json), if it has one."""
    if not text.lstrip().startswith("{"):
        return None
    try:
        document = json.loads(text)
    except ValueError:
        return None
    return next((k for k in _KEYS if k in document), None) if isinstance(document, dict) else None


def _root_for(path: Path, includes: list[Path], fallback: Path) -> Path:
    for root in includes:
        if path.is_relative_to(root):
            return root
    match = _PACKAGE.search(path.read_text(encoding="utf-8", errors="replace"))
    folder = path.parent
    if match:
        parts = match.group(1).split(".")
        if len(folder.parts) > len(parts) and list(folder.parts[-len(parts) :]) == parts:
            return Path(*folder.parts[: -len(parts)])
    return fallback


def discover(paths: list[Path], includes: list[Path]) -> ContractSet:
    """Resolve ``paths`` (files or folders) into proto names and include roots.

    Raises:
        CodegenError: A path does not exist, a file is of a kind this
            generator does not support yet, two roots hold the same name, or
            there is nothing to generate.
    """
    explicit = [p.resolve() for p in includes]
    roots = list(explicit)
    named: dict[str, Path] = {}
    documents: list[Path] = []
    asyncapi: list[Path] = []
    jobs: list[Path] = []
    sources: set[Path] = set()

    def add(file: Path, fallback: Path) -> None:
        root = _root_for(file, explicit, fallback)
        if root not in roots:
            roots.insert(len(explicit), root)
        _add(named, file.relative_to(root).as_posix(), file)

    for given in paths:
        path = given.resolve()
        if path.is_dir():
            sources.update(_sources_in(path))
        if path.is_dir() and is_project(path):
            # A TypeSpec project: one contract, its .tsp files compiled together.
            documents.append(path / CONFIG)
            continue
        if path.is_dir():
            projects = [c.parent for c in path.rglob(CONFIG) if "node_modules" not in c.parts]
            for file in sorted(path.rglob("*")):
                if "node_modules" in file.relative_to(path).parts:
                    continue
                if any(file.is_relative_to(p) for p in projects) and (
                    file.suffix == ".tsp" or _is_output(file, projects)
                ):
                    continue  # compiled as part of its project, or what `tsp compile` emitted
                kind = contract_kind(file) if file.is_file() else "unknown"
                if kind == "proto":
                    add(file, path)
                elif kind == "openapi" and _is_entry(file):
                    documents.append(file)
                elif kind == "jobs":
                    jobs.append(file)
                elif kind == "asyncapi":
                    asyncapi.append(file)
            continue
        if not path.is_file():
            raise CodegenError(f"{given}: no such file or folder")
        # A TypeSpec project's tspconfig.yaml stands for the .tsp files beside it.
        sources.update(_sources_in(path.parent) if path.name == CONFIG else [path])
        kind = contract_kind(path)
        if kind == "jobs":
            jobs.append(path)
            continue
        if kind == "asyncapi":
            asyncapi.append(path)
            continue
        if kind == "openapi":
            documents.append(path)
            continue
        if kind != "proto":
            raise CodegenError(
                f"{given}: not a contract this generator knows "
                "(.proto, OpenAPI, AsyncAPI, TypeSpec .tsp or tspconfig.yaml)"
            )
        add(path, path.parent)
    if not named and not documents and not asyncapi and not jobs:
        where = ", ".join(str(p) for p in paths) or "the contracts"
        raise CodegenError(f"no .proto files, OpenAPI, AsyncAPI or jobs documents found in {where}")
    return ContractSet(
        tuple(sorted(named)),
        tuple(roots),
        tuple(sorted(set(documents))),
        tuple(sorted(set(asyncapi))),
        tuple(sorted(set(jobs))),
        tuple(sorted(sources)),
    )


def _sources_in(folder: Path) -> list[Path]:
    """The files under ``folder`` a contract may be written in; not ``node_modules``, nor
    what ``tsp compile`` emitted."""
    return [
        file
        for file in folder.rglob("*")
        if file.suffix in _SOURCE_SUFFIXES
        and file.is_file()
        and not {"node_modules", "tsp-output"} & set(file.relative_to(folder).parts)
    ]


def _is_entry(path: Path) -> bool:
    """Whether an OpenAPI-looking file is a whole document, not a fragment
    another document ``$ref``s (fragments have no ``paths`` or ``webhooks``);
    a ``.tsp`` file is one when it declares a ``@service``, a ``tspconfig.yaml`` always."""
    if path.name == CONFIG:
        return True
    if path.suffix == ".tsp":
        return is_service(path)
    text = path.read_text(encoding="utf-8", errors="replace")
    return re.search(r"""^\s{0,2}["']?(paths|webhooks)["']?\s*:""", text, re.MULTILINE) is not None


def _is_output(file: Path, projects: list[Path]) -> bool:
    """Whether ``file`` is below a TypeSpec project's default output folder (``tsp-output``)."""
    return any(file.is_relative_to(p / "tsp-output") for p in projects)


def _add(named: dict[str, Path], name: str, path: Path) -> None:
    other = named.get(name)
    if other is not None and other != path:
        raise CodegenError(f"{name} is both {other} and {path}: contract names must be unique across roots")
    named[name] = path
