"""TypeSpec as a contract source: compile ``.tsp`` to OpenAPI 3.1, then generate as from OpenAPI.

The TypeSpec compiler is a codegen-time tool from npm, like buf (package.json
pins ``@typespec/compiler``, ``@typespec/http``, ``@typespec/openapi`` and
``@typespec/openapi3``), never a runtime dependency. The document it emits is
the one the generated package serves. The compiler resolves the libraries a
``.tsp`` imports from the ``node_modules`` in its folder or a parent (the
project's, after ``npm install``).

A contract is a ``.tsp`` file declaring a ``@service``, or a project: a
``tspconfig.yaml`` (or the folder holding it) whose entry point is
``package.json``'s ``tspMain``, else ``main.tsp``, as ``tsp compile <folder>``
resolves it. The project's own configuration holds (``imports``, ``linter``,
``warn-as-error``, parameters, the ``@typespec/openapi3`` options), except
what microlib needs, which it sets over it: only ``@typespec/openapi3`` runs,
with ``openapi-versions: ["3.1.0"]``, ``file-type: json``, and its output
(``output-file``, ``emitter-output-dir``, ``output-dir``) in a temporary
folder. The compiler runs through ``_typespec_driver.mjs`` (its public API;
the CLI's ``--option`` cannot set an array) and prints diagnostics as
``tsp compile --pretty false`` does; they are reported as
``file:line:column: code: message``, colour codes removed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from microlib_codegen._node_tools import find_tool
from microlib_codegen.errors import CodegenError

__all__ = ["CONFIG", "Compiled", "compile_typespec", "find_tsp", "is_project", "is_service"]

CONFIG = "tspconfig.yaml"
_DRIVER = Path(__file__).with_name("_typespec_driver.mjs")
_DIAGNOSTIC = re.compile(
    r"^(?P<file>[^\s:][^:]*):(?P<line>\d+):(?P<col>\d+) - (?P<level>error|warning) (?P<rest>.*)$"
)
# A diagnostic with no place in a file (an entry point that does not exist): shown at the contract.
_UNPLACED = re.compile(r"^(?P<level>error|warning) (?P<rest>.*)$")
_SERVICE = re.compile(r"^\s*@service\b", re.MULTILINE)
# The compiler colours its output when the environment asks (FORCE_COLOR, as CI runners set):
# diagnostics are read with the colour codes removed.
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def is_service(path: Path) -> bool:
    """Whether a ``.tsp`` file declares a ``@service`` (an entry point, not a library file)."""
    return _SERVICE.search(path.read_text(encoding="utf-8", errors="replace")) is not None


def is_project(path: Path) -> bool:
    """Whether ``path`` is a TypeSpec project: a ``tspconfig.yaml`` or a folder holding one."""
    return path.name == CONFIG if path.is_file() else (path / CONFIG).is_file()


def find_tsp(start: Path) -> Path:
    """The TypeSpec compiler: ``node_modules/.bin/tsp`` in ``start`` or a parent, else PATH.

    Raises:
        CodegenError: it is not installed.
    """
    return find_tool(
        "tsp",
        start,
        "tsp not found: install the TypeSpec compiler in the project (npm install --save-dev "
        "@typespec/compiler @typespec/http @typespec/openapi @typespec/openapi3) or put it on PATH",
    )


@dataclass(frozen=True, slots=True)
class Compiled:
    """What compiling a TypeSpec contract gave.

    Args:
        document: The emitted OpenAPI 3.1 document (JSON text).
        sources: Every ``.tsp`` file of the project the program loaded (libraries under
            ``node_modules`` left out) and the ``tspconfig.yaml`` it read, each named
            relative to the contract's folder, with its SHA-256; sorted.
    """

    document: str
    sources: tuple[tuple[str, str], ...]


# One run of codegen reads a contract several times (models, stubs, drift): each compiles once
# while none of its sources changes.
_CACHE: dict[Path, Compiled] = {}


def compile_typespec(source: Path) -> Compiled:
    """Compile ``source`` (a ``.tsp`` file, a ``tspconfig.yaml`` or the folder holding one).

    Raises:
        CodegenError: The compiler reported errors (each as ``file:line:col``), the project
            emits more than one document, or the compiler or node is missing.
    """
    source = source.resolve()
    config = source if source.name == CONFIG else source / CONFIG if source.is_dir() else None
    base = source if source.is_dir() else source.parent
    cached = _CACHE.get(source)
    if cached is not None and _fingerprint(base, [name for name, _ in cached.sources]) == cached.sources:
        return cached
    compiled = _compile(base if config is not None else source, config, base)
    _CACHE[source] = compiled
    return compiled


def _compile(entry: Path, config: Path | None, base: Path) -> Compiled:
    tsp = find_tsp(base)
    node = shutil.which("node")
    if node is None:
        raise CodegenError("node not found: the TypeSpec compiler runs on Node.js; put node on PATH")
    compiler = _compiler_package(tsp)
    with tempfile.TemporaryDirectory(prefix="microlib-tsp-") as tmp:
        out, result = Path(tmp, "emitted"), Path(tmp, "result.json")
        args = [str(compiler), str(entry), str(config or ""), str(out), str(result)]
        proc = subprocess.run(
            [node, str(_DRIVER), *args],
            cwd=base,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        emitted = sorted(out.glob("*.json")) if out.is_dir() else []
        if proc.returncode != 0 or not emitted or not result.is_file():
            raise CodegenError(_report(proc.stdout + proc.stderr, base, config or entry))
        if len(emitted) > 1:
            listed = ", ".join(p.name.removeprefix("openapi.").removesuffix(".json") for p in emitted)
            raise CodegenError(
                f"{_shown(config or entry)}: the TypeSpec contract emits {len(emitted)} OpenAPI "
                f"documents (services, versions: {listed}): microlib generates one package per "
                "contract; give each @service (or version) a project of its own (a folder with its "
                "tspconfig.yaml and main.tsp)"
            )
        loaded = json.loads(result.read_text(encoding="utf-8"))
        document = emitted[0].read_text(encoding="utf-8")
    files = [Path(p) for p in loaded["sources"] if "node_modules" not in Path(p).parts]
    if loaded.get("config"):
        files.append(Path(loaded["config"]))
    names = sorted({Path(os.path.relpath(p, base)).as_posix() for p in files})
    return Compiled(document, _fingerprint(base, names))


def _fingerprint(base: Path, names: list[str]) -> tuple[tuple[str, str], ...]:
    found = []
    for name in names:
        path = base / name
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "missing"
        found.append((name, digest))
    return tuple(found)


def _compiler_package(tsp: Path) -> Path:
    """The ``@typespec/compiler`` folder ``tsp`` belongs to (``.bin/tsp`` links into it)."""
    for folder in tsp.resolve().parents:
        manifest = folder / "package.json"
        if manifest.is_file() and json.loads(manifest.read_text(encoding="utf-8")).get("name") == (
            "@typespec/compiler"
        ):
            return folder
    raise CodegenError(f"{tsp}: not the @typespec/compiler package's tsp (run `npm install`)")


def _report(output: str, folder: Path, contract: Path) -> str:
    lines: list[str] = []
    in_error = False  # whether the indented lines that follow belong to an error's diagnostic
    for line in _ANSI.sub("", output).splitlines():
        placed, unplaced = _DIAGNOSTIC.match(line.strip()), _UNPLACED.match(line.strip())
        found = placed or unplaced
        if found is not None:
            in_error = found["level"] == "error"
            if in_error and placed is not None:
                lines.append(
                    f"{_shown(folder / placed['file'])}:{placed['line']}:{placed['col']}: {found['rest']}"
                )
            elif in_error:
                lines.append(f"{_shown(contract)}: {found['rest']}")
        elif in_error and line.startswith("  ") and line.strip():
            # The detail the compiler prints under a diagnostic (the option a config schema refuses).
            lines[-1] += f" ({line.strip()})"
    if not lines:
        lines = [line for line in output.splitlines() if line.strip()][-5:]
    return "TypeSpec compilation failed:\n" + "\n".join(lines)


def _shown(path: Path) -> Path:
    """Relative to the working folder when below it, as the other contracts' errors are."""
    resolved = path.resolve()
    return resolved.relative_to(Path.cwd()) if resolved.is_relative_to(Path.cwd()) else resolved
