"""Running a page's blocks: the files it shows written, its `run` commands run, its Python blocks
run in order in one namespace by _driver.py in a fresh interpreter, the tests it writes run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from tests.docs._blocks import ROOT, Block

DRIVER = Path(__file__).with_name("_driver.py")


def _environ(folder: Path) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MICROLIB__")}
    environ["PYTHONPATH"] = os.pathsep.join([str(folder), str(ROOT), str(ROOT / "codegen")])
    environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), environ.get("PATH", "")])
    return environ


def run(args: Sequence[str], folder: Path) -> subprocess.CompletedProcess[str]:
    """``args`` in ``folder``, with this checkout importable and the venv's commands on PATH."""
    return subprocess.run(
        args, cwd=folder, env=_environ(folder), capture_output=True, text=True, timeout=300, check=False
    )


def write_files(shown: Sequence[Block], folder: Path) -> None:
    """Write each block that shows a file to its path under ``folder``, and give the folder the
    repository's node_modules (the AsyncAPI schemas codegen validates against), as `npm install`
    gives a project."""
    if (ROOT / "node_modules").is_dir():
        (folder / "node_modules").symlink_to(ROOT / "node_modules")
    for block in shown:
        if block.file:
            (folder / block.file).parent.mkdir(parents=True, exist_ok=True)
            (folder / block.file).write_text(block.body)


def run_commands(shell: Sequence[Block], folder: Path) -> None:
    """Run each command of the shell blocks, in ``folder``, stopping at the first that fails."""
    for block in shell:
        for command in block.commands:
            ran = run(["bash", "-euo", "pipefail", "-c", command], folder)
            assert ran.returncode == 0, f"{block.where}: {command}\n{ran.stdout}{ran.stderr}"


def run_python(code: Sequence[Block], folder: Path) -> str:
    """Run the Python blocks in order in one namespace; returns what they printed."""
    script = folder / ".blocks.json"
    script.write_text(json.dumps([{"doc": str(b.doc), "line": b.line, "body": b.body} for b in code]))
    ran = run([sys.executable, str(DRIVER), str(script)], folder)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    return ran.stdout


def run_tests(files: Sequence[str], folder: Path) -> None:
    """Run the test modules at ``files`` under pytest."""
    if files:
        tested = run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *files], folder)
        assert tested.returncode == 0, tested.stdout + tested.stderr
        assert " skipped" not in tested.stdout, tested.stdout  # a page's test that did not run


def check_outputs(shown: Sequence[Block], folder: Path) -> None:
    """Each command of the blocks prints the lines shown after it, in order (`...`: lines left out)."""
    for block in shown:
        for command, expected in block.transcript:
            ran = run(["bash", "-c", command], folder)
            printed = iter(line.rstrip() for line in (ran.stdout + ran.stderr).splitlines())
            for line in (e for e in expected if e.strip() != "..."):
                assert line in printed, (
                    f"{block.where}: `{command}` did not print\n{line}\n{ran.stdout}{ran.stderr}"
                )
