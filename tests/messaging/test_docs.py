"""docs/messaging.md: its YAML parses (the settings validate), its commands parse (tests/docs runs
its Python)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

from microlib.cli.main import build_parser
from microlib.config.model import MessagingSettings

DOC = Path(__file__).resolve().parents[2] / "docs" / "messaging.md"
BLOCKS = re.compile(r"```(\w+)\n(.*?)```", re.DOTALL)


def _blocks(kind: str) -> list[str]:
    return [body for lang, body in BLOCKS.findall(DOC.read_text(encoding="utf-8")) if lang == kind]


def test_every_yaml_block_parses_and_the_settings_validate() -> None:
    """Each YAML block is YAML; a ``messaging`` block validates as the section."""
    documents = [yaml.safe_load(body) for body in _blocks("yaml")]
    sections = [d["messaging"] for d in documents if "messaging" in d]
    assert sections
    for section in sections:
        MessagingSettings.model_validate(section)
    (reply,) = [
        d["operations"]["checkStock"]["reply"] for d in documents if "checkStock" in d.get("operations", {})
    ]
    assert reply["address"]["location"] == "$message.header#/replyTo"


def test_every_command_parses() -> None:
    """Each command of the bash blocks is one the CLI accepts, its optional parts
    (``[--operation reserveStock]``) included."""
    parser = build_parser()
    lines = [line for body in _blocks("bash") for line in body.splitlines() if line.startswith("microlib ")]
    assert any(" dlq replay " in line for line in lines)
    for line in lines:
        args = shlex.split(line.replace("[", "").replace("]", ""))[1:]
        parsed = parser.parse_args(args)
        assert parsed.handler is not None
