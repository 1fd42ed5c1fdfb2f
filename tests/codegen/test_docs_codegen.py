"""docs/codegen.md: its configuration block is accepted, its warnings are what codegen prints."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from microlib_codegen import load_pyproject
from tests.codegen.conftest import ROOT, codegen

DOC = ROOT / "docs" / "codegen.md"
BLOCKS = re.compile(r"```(\w*)\n(.*?)```", re.DOTALL)
FIDELITY = Path(__file__).resolve().parent / "fidelity"


def _blocks(kind: str) -> list[str]:
    return [body for lang, body in BLOCKS.findall(DOC.read_text(encoding="utf-8")) if lang == kind]


def test_the_configuration_block_is_accepted(tmp_path: Path) -> None:
    """The pyproject.toml example loads, every key known (strict included)."""
    (tmp_path / "pyproject.toml").write_text(_blocks("toml")[0], encoding="utf-8")
    config = load_pyproject(tmp_path / "pyproject.toml")
    assert (config.out, config.strict) == (tmp_path / "bookshop/gen", False)


def test_the_warnings_are_what_codegen_prints(tmp_path: Path) -> None:
    """Each warning the "Warnings and --strict" section shows is printed for the test contracts."""
    (shown,) = [body for body in _blocks("") if "binding skipped" in body]
    contracts = tmp_path / "contracts"
    shutil.copytree(FIDELITY / "protos", contracts)
    shutil.copy(FIDELITY / "openapi" / "shapes30.yaml", contracts / "accounts.yaml")
    shutil.copy(FIDELITY / "openapi" / "naming.yaml", contracts / "pets.yaml")
    result = codegen(contracts, "--out", tmp_path / "gen", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    printed = result.stderr.splitlines()
    for line in shown.splitlines():
        assert line in printed, line
