"""Print a project's runtime requirements with the given extras, one per line.

The Dockerfile installs these before it copies any source, so the
dependency layer is rebuilt only when ``pyproject.toml``'s dependencies or
the pins in ``requirements/constraints.txt`` change, not on every edit.

Usage: ``python requirements.py pyproject.toml [EXTRA ...]``
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path
from typing import Any


def requirements(pyproject: dict[str, Any], extras: list[str]) -> list[str]:
    """The dependencies plus those of ``extras``; an extra naming the project
    itself (``microlib[postgres,redis]``) is expanded in place."""
    project = pyproject["project"]
    optional: dict[str, list[str]] = project.get("optional-dependencies", {})
    self_reference = re.compile(rf"{re.escape(project['name'])}\[([^\]]+)\]")
    found = list(project.get("dependencies", []))
    pending, seen = list(extras), set()
    while pending:
        extra = pending.pop(0)
        if extra in seen:
            continue
        seen.add(extra)
        if extra not in optional:
            raise SystemExit(
                f"requirements.py: no extra {extra!r} in pyproject.toml; it has {sorted(optional)}"
            )
        for requirement in optional[extra]:
            nested = self_reference.fullmatch(requirement.replace(" ", ""))
            if nested:
                pending.extend(nested.group(1).split(","))
            elif requirement not in found:
                found.append(requirement)
    return found


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    pyproject = tomllib.loads(Path(argv[0]).read_text())
    print("\n".join(requirements(pyproject, argv[1:])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
