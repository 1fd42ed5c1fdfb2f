"""``--lint`` and ``--breaking-against``: run buf and pass its findings through."""

from __future__ import annotations

import subprocess
from pathlib import Path

from microlib_codegen._node_tools import find_tool

__all__ = ["buf_breaking", "buf_lint", "find_buf"]


def find_buf(start: Path) -> Path:
    """The buf binary: ``node_modules/.bin/buf`` in ``start`` or a parent, else PATH.

    Raises:
        CodegenError: buf is not installed.
    """
    return find_tool(
        "buf",
        start,
        "buf not found: install it in the project (npm install --save-dev @bufbuild/buf) or put it on PATH",
    )


def _buf(args: list[str], workdir: Path) -> tuple[int, str]:
    proc = subprocess.run(
        [str(find_buf(workdir)), *args], cwd=workdir, capture_output=True, text=True, check=False
    )
    return proc.returncode, (proc.stdout + proc.stderr).strip()


def buf_lint(workdir: Path) -> tuple[int, str]:
    """``buf lint`` in ``workdir`` (where buf.yaml is): exit code and findings."""
    return _buf(["lint"], workdir)


def buf_breaking(workdir: Path, against: str) -> tuple[int, str]:
    """``buf breaking --against REF`` in ``workdir``: exit code and findings.

    Args:
        workdir: The folder holding buf.yaml.
        against: What to compare with, e.g. ``.git#branch=main``.
    """
    return _buf(["breaking", "--against", against], workdir)
