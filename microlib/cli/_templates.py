"""Project templates: folders of files rendered with ``{{placeholder}}`` values.

A template is made of parts, each a folder: ``project`` (every project has its
files) and one per kind of contract (``proto``, ``openapi``, ``messaging``).
Every file of a part is written to the same place in the project, its path
rendered like its text, a ``.tmpl`` suffix dropped and a leading ``dot-``
turned into ``.`` (``dot-gitignore.tmpl`` is ``.gitignore``), so that the
package data holds neither dotfiles nor Python files that tools would lint.

Files under a part's ``_snippets/`` are not written: ``_snippets/KEY.tmpl``
fills the placeholder ``{{KEY}}`` with the text every chosen part gives for
it, in order, so one ``main.py`` wires whichever parts were chosen. A
``*_imports`` snippet holds Python ``from`` imports, merged and sorted the
way isort would.

An override folder has part folders too; its files replace the built-in
file written to the same place, or add one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from microlib.cli.errors import CommandError

__all__ = ["BUILTIN", "PARTS", "render_project"]

BUILTIN = Path(__file__).with_name("templates")
PARTS = ("project", "proto", "openapi", "messaging")

_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")
_SNIPPETS = "_snippets"


def render_project(
    parts: Sequence[str], values: Mapping[str, str], overrides: Path | None
) -> dict[Path, str]:
    """The project's files, by path relative to its folder.

    Args:
        parts: The parts to combine, ``project`` first.
        values: The placeholders' values; the snippets' are added.
        overrides: A folder of part folders whose files win, or None.

    Raises:
        CommandError: an unknown placeholder or a file that is not text,
            naming the template file (and line); an override folder that is
            not one or holds an unknown part.
    """
    if overrides is not None:
        _check_overrides(overrides)
    sources = [_part_files(part, overrides) for part in parts]
    snippets: dict[str, list[str]] = {}
    for files in sources:
        for rel, source in files.items():
            if rel.parts[0] == _SNIPPETS:
                text = _render(_read(source), values, source)
                snippets.setdefault(rel.name, []).append(text)
    first_party = values.get("name", "")
    filled = dict(values)
    for key, texts in snippets.items():
        if key.endswith("_imports"):
            filled[key] = _sorted_imports((line for t in texts for line in t.splitlines()), first_party)
        else:
            filled[key] = "".join(texts).rstrip("\n")
    out: dict[Path, str] = {}
    for files in sources:
        for rel, source in files.items():
            if rel.parts[0] != _SNIPPETS:
                out[_target(rel, filled, source)] = _render(_read(source), filled, source)
    return out


def _check_overrides(overrides: Path) -> None:
    if not overrides.is_dir():
        raise CommandError(f"--templates {overrides}: not a folder")
    # A misspelt part would otherwise change nothing, silently.
    unknown = sorted(p.name for p in overrides.iterdir() if p.is_dir() and p.name not in PARTS)
    if unknown:
        raise CommandError(
            f"--templates {overrides}: {', '.join(unknown)} is not a template part "
            f"(the folders are named {', '.join(PARTS)})"
        )


def _part_files(part: str, overrides: Path | None) -> dict[Path, Path]:
    """The files of ``part``, relative path -> source, overrides winning."""
    files: dict[Path, Path] = {}
    roots = [BUILTIN / part] if overrides is None else [BUILTIN / part, overrides / part]
    for root in roots:
        for path in sorted(root.rglob("*")) if root.is_dir() else ():
            if path.is_file():
                files[_output_name(path.relative_to(root))] = path
    return files


def _output_name(rel: Path) -> Path:
    """Where a template file goes, placeholders not yet rendered."""
    parts = ["." + p.removeprefix("dot-") if p.startswith("dot-") else p for p in rel.parts]
    parts[-1] = parts[-1].removesuffix(".tmpl")
    return Path(*parts)


def _target(rel: Path, values: Mapping[str, str], source: Path) -> Path:
    return Path(*(_render(p, values, source) for p in rel.parts))


def _read(source: Path) -> str:
    try:
        return source.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CommandError(f"{source}: a template file must be UTF-8 text") from None


def _render(text: str, values: Mapping[str, str], source: Path) -> str:
    def value(match: re.Match[str]) -> str:
        try:
            return values[match[1]]
        except KeyError:
            line = text.count("\n", 0, match.start()) + 1
            known = ", ".join(sorted(values))
            raise CommandError(f"{source}:{line}: unknown placeholder {match[0]} (known: {known})") from None

    return _PLACEHOLDER.sub(value, text)


def _sorted_imports(lines: Iterable[str], first_party: str) -> str:
    """``from M import a`` lines merged by module, third-party then first-party."""
    by_module: dict[str, set[str]] = {}
    for line in lines:
        if line.strip():
            module, _, names = line.removeprefix("from ").partition(" import ")
            by_module.setdefault(module.strip(), set()).update(n.strip() for n in names.split(","))
    theirs: list[str] = []
    ours: list[str] = []
    for module in sorted(by_module):
        names = ", ".join(sorted(by_module[module], key=_by_type))
        group = ours if module == first_party or module.startswith(first_party + ".") else theirs
        group.append(f"from {module} import {names}")
    return "\n\n".join("\n".join(group) for group in (theirs, ours) if group)


def _by_type(name: str) -> tuple[int, str]:
    """isort's order within an import: CONSTANTS, then Classes, then functions and modules."""
    if name.isupper() and len(name) > 1:
        return (0, name)
    return (1 if name[:1].isupper() else 2, name)
