"""The documentation site builds with no warning: `mkdocs build --strict` (as `make docs` runs it)
fails on a broken link or anchor and on a page of docs/ that nav leaves out."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from tests.docs._blocks import ROOT


def _build(folder: Path, site: Path) -> subprocess.CompletedProcess[str]:
    """`mkdocs build --strict` of the mkdocs.yml in ``folder``, into ``site``."""
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=folder, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def test_the_site_builds_strict(tmp_path: Path) -> None:
    assert importlib.util.find_spec("mkdocs"), "mkdocs is missing: `make install` (it is in the dev extra)"
    built = _build(ROOT, tmp_path / "site")
    assert built.returncode == 0, built.stderr
    assert (tmp_path / "site" / "getting-started" / "index.html").is_file()


def test_a_broken_link_fails_the_build(tmp_path: Path) -> None:
    """The strict build can fail: a page linking to a missing one is refused, naming both."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# Home\n\nSee [the guide](guide.md).\n")
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8").split("\nnav:\n")[0]
    (tmp_path / "mkdocs.yml").write_text(config + "\nnav:\n  - index.md\n")
    built = _build(tmp_path, tmp_path / "site")
    assert built.returncode == 1
    assert "'index.md' contains a link 'guide.md'" in built.stderr


def test_every_public_package_has_a_reference_page() -> None:
    """A package added under microlib/ gets its page in docs/reference/ (and so a place in nav)."""
    inside = [p.parent.name for p in (ROOT / "microlib").glob("*/__init__.py")]
    packages = {"microlib"} | {f"microlib.{name}" for name in inside if name != "cli"}  # cli: the command
    pages = {p.stem for p in (ROOT / "docs" / "reference").glob("*.md")}
    assert packages == pages
    for package in packages:
        assert (ROOT / "docs" / "reference" / f"{package}.md").read_text().endswith(f"::: {package}\n")
