"""The manifest, ``--check`` (compare with disk) and writing the package.

The output package is replaced whole: files the new run does not produce are
removed. A folder is only ever replaced if it holds a manifest, i.e. an
earlier run wrote it, so a wrong ``--out`` never wipes a user's code.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from microlib.core._manifest import MANIFEST, contract_digest
from microlib_codegen._version import __version__
from microlib_codegen.errors import CodegenError

__all__ = ["MANIFEST", "Drift", "compare", "with_manifest", "write"]


def with_manifest(files: dict[str, str], contracts: dict[str, bytes] | None = None) -> dict[str, str]:
    """``files`` plus the manifest naming each with its SHA-256, and each of the ``contracts``
    they were generated from (by its path relative to the output folder) with its own: a
    service compares those with the files when it includes the generated code."""
    hashes = {path: hashlib.sha256(text.encode("utf-8")).hexdigest() for path, text in sorted(files.items())}
    manifest: dict[str, object] = {"generator": f"microlib-codegen {__version__}", "files": hashes}
    if contracts:
        manifest["contracts"] = {path: contract_digest(data) for path, data in sorted(contracts.items())}
    return {**files, MANIFEST: json.dumps(manifest, indent=2, sort_keys=True) + "\n"}


@dataclass(slots=True)
class Drift:
    """How the output folder differs from what the contracts generate.

    Args:
        stale: Files whose content differs.
        missing: Files that should exist and do not.
        extra: Files on disk the contracts no longer produce.
    """

    stale: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        """True when anything differs."""
        return bool(self.stale or self.missing or self.extra)

    def lines(self, out: Path) -> list[str]:
        """One line per difference: ``stale: gen/shop/v1/_bookshop.py``."""
        return [
            f"{label}: {out / path}"
            for label, paths in (("stale", self.stale), ("missing", self.missing), ("extra", self.extra))
            for path in paths
        ]


def _on_disk(out: Path) -> list[str]:
    if not out.is_dir():
        return []
    return sorted(
        p.relative_to(out).as_posix()
        for p in out.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    )


def compare(files: dict[str, str], out: Path) -> Drift:
    """Compare ``files`` (manifest included) with the folder ``out``; writes nothing."""
    drift = Drift()
    present = set(_on_disk(out))
    for path, text in sorted(files.items()):
        if path not in present:
            drift.missing.append(path)
        elif (out / path).read_bytes() != text.encode("utf-8"):
            drift.stale.append(path)
    drift.extra = sorted(present - set(files))
    return drift


def write(files: dict[str, str], out: Path) -> list[str]:
    """Make ``out`` hold exactly ``files``; returns the paths that changed.

    Raises:
        CodegenError: ``out`` exists, is not empty and holds no manifest.
    """
    existing = _on_disk(out)
    if existing and MANIFEST not in existing:
        raise CodegenError(
            f"{out} exists and was not written by microlib codegen (no {MANIFEST}); "
            "choose an empty or new folder for --out"
        )
    changed = []
    for path in existing:
        if path not in files:
            (out / path).unlink()
            changed.append(path)
    for path, text in sorted(files.items()):
        target = out / path
        data = text.encode("utf-8")
        if target.is_file() and target.read_bytes() == data:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        changed.append(path)
    for folder in sorted((p for p in out.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        if folder.name == "__pycache__" and not any(folder.parent.glob("*.py")):
            shutil.rmtree(folder)
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    return sorted(changed)
