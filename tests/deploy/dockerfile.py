"""Read the repository's Dockerfile: its instructions, stage by stage."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: FROM, COPY, ...
    arguments: str
    stage: int  # 0 for the first FROM's stage


def instructions(path: Path = DOCKERFILE) -> list[Instruction]:
    """Every instruction, continuation lines joined, comments left out."""
    text = re.sub(r"\\\n", " ", path.read_text())
    found: list[Instruction] = []
    stage = -1
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, arguments = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        found.append(Instruction(keyword, arguments.strip(), stage))
    return found


def final_stage(path: Path = DOCKERFILE) -> list[Instruction]:
    every = instructions(path)
    return [i for i in every if i.stage == every[-1].stage]


def exec_form(arguments: str) -> list[str]:
    """The JSON array of an ENTRYPOINT, CMD or HEALTHCHECK ... CMD."""
    value = json.loads(arguments[arguments.index("[") :])
    assert isinstance(value, list), arguments
    assert all(isinstance(v, str) for v in value), arguments
    return value


def environment(stage: list[Instruction]) -> dict[str, str]:
    """The ENV values a stage sets (``KEY=VALUE`` form)."""
    found: dict[str, str] = {}
    for instruction in stage:
        if instruction.keyword == "ENV":
            for word in shlex.split(instruction.arguments):
                key, _, value = word.partition("=")
                found[key] = value
    return found


def copied_sources(path: Path = DOCKERFILE) -> set[str]:
    """What the Dockerfile copies from the build context (not from stages)."""
    sources: set[str] = set()
    for instruction in instructions(path):
        if instruction.keyword == "COPY" and "--from=" not in instruction.arguments:
            words = [w for w in instruction.arguments.split() if not w.startswith("--")]
            sources.update(words[:-1])
    return sources
