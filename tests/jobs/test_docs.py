"""docs/jobs.md: its YAML parses, its contract generates (tests/docs runs its Python)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from microlib.jobs import JobsSettings
from microlib_codegen.jobs import load

DOC = Path(__file__).resolve().parents[2] / "docs" / "jobs.md"
BLOCKS = re.compile(r"```(\w+)\n(.*?)```", re.DOTALL)


def _blocks(kind: str) -> list[str]:
    return [body for lang, body in BLOCKS.findall(DOC.read_text(encoding="utf-8")) if lang == kind]


def test_the_contract_example_is_a_valid_contract(tmp_path: Path) -> None:
    """The first YAML block is a jobs contract codegen accepts."""
    contract = tmp_path / "jobs.yaml"
    contract.write_text(_blocks("yaml")[0], encoding="utf-8")
    loaded = load(contract, "jobs.yaml")
    assert [job.name for job in loaded.jobs] == ["send_receipt", "restock_report"]


def test_the_configuration_example_is_a_valid_section() -> None:
    """The configuration block validates as the jobs section."""
    section = yaml.safe_load(_blocks("yaml")[1])["jobs"]
    assert JobsSettings.model_validate(section).backend == "redis"
