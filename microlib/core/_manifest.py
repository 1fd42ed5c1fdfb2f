"""Whether generated code is older than the contracts it was generated from.

``microlib codegen`` records in the generated package's ``_manifest.json`` the SHA-256
of each contract file it read, by its path relative to the package. A service compares
them with the files when it includes generated code, so a contract edited and not
generated again is caught at the start, not found out by a client. A contract that is
not there (an image that ships the generated package only) is not compared. The
digests of the files codegen wrote tell a generated file edited by hand.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

__all__ = [
    "MANIFEST",
    "changed_contracts",
    "contract_digest",
    "edited_files",
    "manifest_of",
    "stale_generation",
]

MANIFEST = "_manifest.json"


def contract_digest(data: bytes) -> str:
    """The SHA-256 of a contract's (or generated file's) bytes, its line endings as LF: a
    checkout that turns them into CRLF has not changed the file."""
    return hashlib.sha256(data.replace(b"\r\n", b"\n")).hexdigest()


def manifest_of(module_file: str) -> Path | None:
    """The manifest of the generated package holding ``module_file``, if it has one."""
    folder = Path(module_file).resolve().parent
    while (folder / "__init__.py").is_file():
        if (folder / MANIFEST).is_file():
            return folder / MANIFEST
        folder = folder.parent
    return None


def changed_contracts(manifest: Path) -> list[Path]:
    """The contract files ``manifest`` names whose content is not what the package was
    generated from; a file that is not there is not compared."""
    return _differing(manifest, "contracts")


def edited_files(manifest: Path) -> list[Path]:
    """The generated files ``manifest`` names whose content is not what ``microlib codegen``
    wrote: edited by hand, which the next run of codegen would undo."""
    return _differing(manifest, "files")


def _differing(manifest: Path, kind: str) -> list[Path]:
    """The files of ``manifest``'s ``kind`` table whose digest is not the one recorded."""
    try:
        recorded = json.loads(manifest.read_text(encoding="utf-8")).get(kind, {})
    except (OSError, ValueError, AttributeError):
        return []  # not a manifest codegen wrote: nothing to compare with
    changed = []
    for name, digest in sorted(recorded.items()):
        path = Path(os.path.normpath(manifest.parent / name))
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if contract_digest(data) != digest:
            changed.append(path)
    return changed


def stale_generation(manifest: Path) -> str | None:
    """Why the package of ``manifest`` is older than its contracts, naming each changed
    file and what to run; None when it is not."""
    changed = changed_contracts(manifest)
    if not changed:
        return None
    return (
        f"{', '.join(map(_shown, changed))} changed since `microlib codegen` wrote "
        f"{_shown(manifest.parent)}: run `microlib codegen` to generate it again"
    )


def _shown(path: Path) -> str:
    """``path`` relative to the working folder when inside it."""
    return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)
