"""The Python in README.md and docs/: every block compiles and imports what exists; the blocks a
server must answer run here. Every page's blocks run in tests/docs/test_blocks_run.py."""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
BLOCKS = re.compile(r"^```(\w*)\n(.*?)^```", re.DOTALL | re.MULTILINE)
OURS = ("microlib", "microlib_codegen", "examples")


def blocks(doc: Path, kind: str = "python") -> list[str]:
    """The fenced code blocks of ``doc`` in language ``kind``, in order."""
    return [body for lang, body in BLOCKS.findall(doc.read_text(encoding="utf-8")) if lang == kind]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_python_block_compiles_and_imports_names_that_exist(doc: Path) -> None:
    """A renamed class (`BookshopServicer` for `BookshopService`) or module fails here, not for a reader."""
    for body in blocks(doc):
        tree = ast.parse(body, filename=str(doc))
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom) or not node.module or node.level:
                continue
            if node.module.split(".")[0] not in OURS:
                continue
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name) or importlib.util.find_spec(
                    f"{node.module}.{alias.name}"
                ), f"{doc.name}: {node.module} has no {alias.name}"


def test_getting_started_service_and_test_pass_in_strict_mode(tmp_path: Path) -> None:
    """The plain-routes service and its test, in one module, pass in pytest-asyncio's default (strict)
    mode: a reader's project need not set `asyncio_mode = "auto"` for it."""
    service, test = (b for b in blocks(ROOT / "docs" / "getting-started.md") if not b.startswith("# "))
    (tmp_path / "test_greeter.py").write_text(f"{service}\n{test}")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "asyncio_mode=strict",
         "test_greeter.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
        env={"PYTHONPATH": f"{tmp_path}:{ROOT}", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert "1 passed" in result.stdout, result.stdout + result.stderr


def test_readme_grpc_client_runs_from_the_repository_root(tmp_path: Path) -> None:
    """The README's client, run from the repository root as it says, gets book 1 from the example."""
    from tests.cli.test_run import Running, _free_port

    port = _free_port()
    server = Running("examples.bookshop.main:service", "grpc.host=127.0.0.1", f"grpc.port={port}")
    try:
        server.wait_ready()
        [client] = blocks(ROOT / "README.md")
        script = tmp_path / "client.py"
        script.write_text(client.replace("localhost:50051", f"127.0.0.1:{port}"))
        result = subprocess.run(
            [sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        )  # fmt: skip
    finally:
        server.process.terminate()
        server.process.wait(timeout=30)
        server.output()
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Book("), result.stdout
    assert "id='1'" in result.stdout
