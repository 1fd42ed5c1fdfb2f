"""What to generate: ``[tool.microlib.codegen]`` in pyproject.toml, or CLI arguments.

Keys (paths are relative to the pyproject.toml folder)::

    [tool.microlib.codegen]
    contracts = ["contracts"]        # folders (include roots) or files
    include = []                     # extra include roots for imports
    out = "bookshop/gen"             # the generated package (replaced whole)
    package = "bookshop.gen"         # its import name (default: from `out`)
    stubs = "bookshop/services"      # user stubs (written once), optional
    strict = false                   # a construct left out (a warning) fails the run
    messages = "betterproto2"        # or "upb": the message classes users see
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from microlib_codegen.errors import CodegenError, meant

__all__ = ["MESSAGE_LAYERS", "CodegenConfig", "load_pyproject"]

_SECTION = "[tool.microlib.codegen]"
MESSAGE_LAYERS = ("betterproto2", "upb")
"""The message layers a proto package can be generated with (``messages``):
betterproto2 dataclasses (the default) or protobuf's upb classes, typed by
generated ``.pyi`` stubs (``docs/adr/0013-opt-in-message-layer.md``)."""


@dataclass(frozen=True, slots=True)
class CodegenConfig:
    """One generation's inputs and outputs.

    Args:
        contracts: Contract files or folders.
        out: The output package folder.
        include: Extra include roots.
        package: The output package's import name (for user stubs).
        stubs: The folder of user stubs, or None to write none.
        strict: Fail, writing nothing, when a construct of a contract would be
            left out (what is otherwise a warning).
        messages: The message layer of the proto packages, one of
            :data:`MESSAGE_LAYERS`: the classes servicers, clients and
            handlers take and return.
    """

    contracts: tuple[Path, ...]
    out: Path
    include: tuple[Path, ...] = ()
    package: str = ""
    stubs: Path | None = None
    base: Path = field(default_factory=Path.cwd)
    strict: bool = False
    messages: str = "betterproto2"

    def __post_init__(self) -> None:
        if self.messages not in MESSAGE_LAYERS:
            raise CodegenError(
                f"messages: expected one of {', '.join(MESSAGE_LAYERS)}, got {self.messages!r}"
            )

    @property
    def import_name(self) -> str:
        """The output package's import name: ``package`` or derived from ``out``."""
        if self.package:
            return self.package
        try:
            rel = self.out.resolve().relative_to(self.base.resolve())
        except ValueError:
            rel = Path(self.out.name)
        parts = [p for p in rel.parts if p not in (".", "")]
        if parts and parts[0] == "src":
            parts = parts[1:]
        return ".".join(parts)


def _paths(table: dict[str, Any], key: str, base: Path, source: Path) -> tuple[Path, ...]:
    value = table.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CodegenError(f"{source} {_SECTION} {key}: expected a list of paths, got {value!r}")
    return tuple(base / v for v in value)


_KEYS = ("contracts", "include", "out", "package", "stubs", "strict", "messages")


def _microlib(path: Path) -> Any:
    """``[tool.microlib]`` of ``path`` (``{}`` when it has none, or is no file).

    Raises:
        tomllib.TOMLDecodeError: The file is not valid TOML.
    """
    if not path.is_file():
        return {}
    return tomllib.loads(path.read_text(encoding="utf-8")).get("tool", {}).get("microlib", {})


def _declares(path: Path) -> bool:
    try:
        return isinstance(_microlib(path).get("codegen"), dict)
    except tomllib.TOMLDecodeError:
        return False


def load_pyproject(path: Path) -> CodegenConfig:
    """Read ``[tool.microlib.codegen]`` from ``path``.

    Raises:
        CodegenError: The file or section is missing, or a key is malformed
            (naming the key and the file).
    """
    if not path.is_file():
        message = f"{path} not found: run from the project folder, or pass CONTRACT... --out DIR"
        # Run from a folder inside the project (its package, tests/): say which folder that is.
        above = next((p for p in path.absolute().parent.parents if _declares(p / "pyproject.toml")), None)
        if above is not None:
            message += f"; {above / 'pyproject.toml'} has {_SECTION}: run from {above}"
        raise CodegenError(message)
    try:
        tables = _microlib(path)
    except tomllib.TOMLDecodeError as exc:
        raise CodegenError(f"{path}: {exc}") from None
    tables = tables if isinstance(tables, dict) else {}
    table = tables.get("codegen")
    if not isinstance(table, dict):
        typos = [key for key in tables if meant(key, ("codegen",))]
        typo = f" ([tool.microlib.{typos[0]}] is there: a typo?)" if typos else ""
        raise CodegenError(f"{path} has no {_SECTION} section{typo}; add one or pass CONTRACT... --out DIR")
    unknown = sorted(set(table) - set(_KEYS))
    if unknown:
        named = ", ".join(f"{key}{meant(key, _KEYS)}" for key in unknown)
        raise CodegenError(f"{path} {_SECTION}: unknown key(s) {named}")
    base = path.parent
    out = table.get("out")
    if not isinstance(out, str) or not out:
        raise CodegenError(
            f'{path} {_SECTION} out: required, the output package folder (e.g. "myservice/gen")'
        )
    package = table.get("package", "")
    stubs = table.get("stubs")
    if not isinstance(package, str) or (stubs is not None and not isinstance(stubs, str)):
        raise CodegenError(f"{path} {_SECTION}: package and stubs must be strings")
    strict = table.get("strict", False)
    if not isinstance(strict, bool):
        raise CodegenError(f"{path} {_SECTION} strict: expected true or false, got {strict!r}")
    messages = table.get("messages", "betterproto2")
    if messages not in MESSAGE_LAYERS:
        choices = " or ".join(f'"{layer}"' for layer in MESSAGE_LAYERS)
        raise CodegenError(f"{path} {_SECTION} messages: expected {choices}, got {messages!r}")
    return CodegenConfig(
        contracts=_paths(table, "contracts", base, path) or (base / "contracts",),
        out=base / out,
        include=_paths(table, "include", base, path),
        package=package,
        stubs=base / stubs if stubs else None,
        base=base,
        strict=strict,
        messages=messages,
    )
