"""--lint and --breaking-against run buf (npm @bufbuild/buf) and pass its findings through."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.codegen.conftest import ROOT, TESTDATA, codegen


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git project with buf.yaml, one proto module and codegen config; buf from node_modules."""
    monkeypatch.setenv("PATH", f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}")
    (tmp_path / "buf.yaml").write_text("version: v2\nmodules:\n  - path: proto\nbreaking:\n  use: [FILE]\n")
    (tmp_path / "pyproject.toml").write_text('[tool.microlib.codegen]\ncontracts = ["proto"]\nout = "gen"\n')
    shutil.copytree(TESTDATA / "demo", tmp_path / "proto" / "demo")
    git = ["git", "-c", "user.email=ci@example.com", "-c", "user.name=ci"]
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=tmp_path, check=True, timeout=30)
    subprocess.run([*git, "add", "."], cwd=tmp_path, check=True, timeout=30)
    subprocess.run([*git, "commit", "-qm", "contracts"], cwd=tmp_path, check=True, timeout=30)
    return tmp_path


def test_lint_passes_then_reports_a_finding(project: Path) -> None:
    """A clean module lints ok; a badly named message is reported with file:line:column."""
    ok = codegen("--lint", cwd=project)
    assert ok.returncode == 0, ok.stderr
    assert "buf lint: ok" in ok.stdout
    proto = project / "proto" / "demo" / "v1" / "greeter.proto"
    proto.write_text(proto.read_text() + "\nmessage bad_name {}\n")
    bad = codegen("--lint", cwd=project)
    assert bad.returncode == 1
    assert 'proto/demo/v1/greeter.proto:20:9:Message name "bad_name" should be PascalCase' in bad.stderr


def test_breaking_change_is_reported(project: Path) -> None:
    """Changing a field's type is a breaking change against the committed contract."""
    proto = project / "proto" / "demo" / "v1" / "greeter.proto"
    proto.write_text(proto.read_text().replace("string message = 1;", "int64 message = 1;"))
    result = codegen("--breaking-against", ".git#branch=main", cwd=project)
    assert result.returncode == 1
    assert 'changed type from "string" to "int64"' in result.stderr
