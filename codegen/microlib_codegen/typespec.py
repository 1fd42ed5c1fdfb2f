"""TypeSpec as a contract source: compile ``.tsp`` to OpenAPI 3.1, then generate as from OpenAPI.

The TypeSpec compiler is a codegen-time tool from npm, like buf (package.json
pins ``@typespec/compiler``, ``@typespec/http``, ``@typespec/openapi`` and
``@typespec/openapi3``), never a runtime dependency. The document it emits is
the one the generated package serves. The compiler resolves the libraries a
``.tsp`` imports from the ``node_modules`` in its folder or a parent (the
project's, after ``npm install``). Compiler errors are reported as
``file:line:column: code: message`` of the ``.tsp`` sources.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from microlib_codegen._node_tools import find_tool
from microlib_codegen.errors import CodegenError

__all__ = ["compiled", "find_tsp", "is_service"]

_CONFIG = """emit: ["@typespec/openapi3"]
options:
  "@typespec/openapi3":
    openapi-versions: ["3.1.0"]
    file-type: json
    output-file: openapi.json
    emitter-output-dir: "{out}"
"""
_DIAGNOSTIC = re.compile(
    r"^(?P<file>[^\s:][^:]*):(?P<line>\d+):(?P<col>\d+) - (?P<level>error|warning) (?P<rest>.*)$"
)
_SERVICE = re.compile(r"^\s*@service\b", re.MULTILINE)
# The compiler colours its output when the environment asks (FORCE_COLOR, as CI runners set):
# diagnostics are read with the colour codes removed.
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def is_service(path: Path) -> bool:
    """Whether a ``.tsp`` file declares a ``@service`` (an entry point, not a library file)."""
    return _SERVICE.search(path.read_text(encoding="utf-8", errors="replace")) is not None


def find_tsp(start: Path) -> Path:
    """The TypeSpec compiler: ``node_modules/.bin/tsp`` in ``start`` or a parent, else PATH.

    Raises:
        CodegenError: it is not installed.
    """
    return find_tool(
        "tsp",
        start,
        "tsp not found: run `npm install` (package.json pins @typespec/compiler, @typespec/http, "
        "@typespec/openapi3) or put the TypeSpec compiler on PATH",
    )


@contextmanager
def compiled(source: Path) -> Iterator[Path]:
    """Compile ``source`` and yield the OpenAPI 3.1 document it emits (valid inside the block).

    Raises:
        CodegenError: The compiler reported errors (each as ``file:line:col``), or is missing.
    """
    tsp = find_tsp(source.parent)
    with tempfile.TemporaryDirectory(prefix="microlib-tsp-") as tmp:
        out = Path(tmp, "emitted")
        config = Path(tmp, "tspconfig.yaml")
        config.write_text(_CONFIG.format(out=out.as_posix()), encoding="utf-8")
        proc = subprocess.run(
            [str(tsp), "compile", source.name, "--config", str(config), "--pretty", "false"],
            cwd=source.parent,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        document = out / "openapi.json"
        if proc.returncode != 0 or not document.is_file():
            raise CodegenError(_report(proc.stdout + proc.stderr, source.parent))
        yield document


def _report(output: str, folder: Path) -> str:
    lines = []
    output = _ANSI.sub("", output)
    for line in output.splitlines():
        found = _DIAGNOSTIC.match(line.strip())
        if found and found["level"] == "error":
            lines.append(f"{_shown(folder / found['file'])}:{found['line']}:{found['col']}: {found['rest']}")
    if not lines:
        lines = [line for line in output.splitlines() if line.strip()][-5:]
    return "TypeSpec compilation failed:\n" + "\n".join(lines)


def _shown(path: Path) -> Path:
    """Relative to the working folder when below it, as the other contracts' errors are."""
    resolved = path.resolve()
    return resolved.relative_to(Path.cwd()) if resolved.is_relative_to(Path.cwd()) else resolved
