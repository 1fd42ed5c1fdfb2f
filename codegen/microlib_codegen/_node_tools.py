"""Find a codegen-time tool npm installs (buf, tsp): in ``node_modules/.bin`` or on PATH."""

from __future__ import annotations

import shutil
from pathlib import Path

from microlib_codegen.errors import CodegenError

__all__ = ["find_tool"]


def find_tool(name: str, start: Path, missing: str) -> Path:
    """``node_modules/.bin/<name>`` in ``start`` or a parent, else ``name`` on PATH.

    Raises:
        CodegenError: ``missing`` (what to install) when neither has it.
    """
    for folder in (start.resolve(), *start.resolve().parents):
        candidate = folder / "node_modules" / ".bin" / name
        if candidate.is_file():
            return candidate
    found = shutil.which(name)
    if found is None:
        raise CodegenError(missing)
    return Path(found)
