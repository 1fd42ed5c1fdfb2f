"""The fenced code blocks of README.md and docs/, and what each asks of the tests.

A block runs as a reader would run it, unless an HTML comment on the line before it says otherwise:

- ``<!-- docs-test: skip: REASON -->``: it cannot run; it is still compiled and its imports checked.
- ``<!-- docs-test: checked by tests/PATH.py::TEST -->``: that test runs it (a server it needs, say).
- ``<!-- docs-test: run -->`` before a shell block: its commands run (in the page's folder, before the
  Python blocks), as the commands a reader types to set up what the page's code imports.
- ``<!-- docs-test: output -->`` before a block of `$ command` lines, each followed by its output:
  each command runs once the Python blocks ran, and prints the lines shown, in order (a `...` line
  stands for lines left out).

A block whose first line is a comment naming a file (``# service.yaml``, ``// contracts/x.proto``)
shows that file: it is written to that path in the page's folder instead of being run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted(p for p in (ROOT / "docs").rglob("*.md") if "adr" not in p.parts)]

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.DOTALL | re.MULTILINE)
_DIRECTIVE = re.compile(r"<!-- docs-test: (skip|checked by|run|output):? ?(.*?) -->\n*\Z")
_FILE = re.compile(r"\A(?:#|//) ([\w./-]+\.\w+)\n")


@dataclass(frozen=True)
class Block:
    """One fenced block of a page."""

    doc: Path
    line: int  # of its first line of code, 1-based
    lang: str
    body: str
    directive: str | None  # "skip", "checked by", "run" or "output"
    reason: str  # the directive's argument

    @property
    def file(self) -> str | None:
        """The path the block shows, when its first line names one."""
        match = _FILE.match(self.body)
        return match[1] if match else None

    @property
    def commands(self) -> list[str]:
        """A shell block's commands: a console block's `$ ` lines, or every line of another."""
        lines = self.body.replace("\\\n", " ").splitlines()
        if self.lang == "console":
            return [line[2:] for line in lines if line.startswith("$ ")]
        return [line for line in lines if line.strip()]

    @property
    def transcript(self) -> list[tuple[str, list[str]]]:
        """A console block's commands, each with the lines it printed."""
        steps: list[tuple[str, list[str]]] = []
        for line in self.body.replace("\\\n", " ").splitlines():
            if line.startswith("$ "):
                steps.append((line[2:], []))
            elif steps:
                steps[-1][1].append(line.rstrip())
        return steps

    @property
    def where(self) -> str:
        return f"{self.doc.relative_to(ROOT)}:{self.line}"


def blocks(doc: Path, lang: str | None = None) -> list[Block]:
    """The fenced blocks of ``doc`` (those in ``lang`` only, when given), in order."""
    text = doc.read_text(encoding="utf-8")
    found = []
    for match in _FENCE.finditer(text):
        before = text[: match.start()]
        directive = _DIRECTIVE.search(before[-300:])
        found.append(
            Block(
                doc=doc,
                line=before.count("\n") + 2,
                lang=match[1],
                body=match[2],
                directive=directive[1] if directive else None,
                reason=directive[2] if directive else "",
            )
        )
    return [b for b in found if lang is None or b.lang == lang]
