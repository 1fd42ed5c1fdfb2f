"""An OpenAPI document generated into a package the test imports, removed again afterwards."""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

from microlib_codegen.openapi import generate


@contextlib.contextmanager
def generated_package(spec: Path, root: Path, name: str) -> Iterator[ModuleType]:
    """``spec`` generated into ``root/name`` and imported as ``name``; forgotten on exit."""
    generate(spec, out_dir=root / name, gen_package=name)
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(name)
    finally:
        sys.path.remove(str(root))
        for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            del sys.modules[module]
