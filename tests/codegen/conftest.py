"""Shared fixtures: run `microlib codegen` as a real process on copies of contracts/testdata."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TESTDATA = ROOT / "contracts" / "testdata"
ASYNCAPI = Path(__file__).resolve().parent / "asyncapi"


def codegen(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run `python -m microlib.cli codegen ARGS` and capture its output."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "codegen")])
    return subprocess.run(
        [sys.executable, "-m", "microlib.cli", "codegen", *map(str, args)],
        cwd=cwd or ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter in ``cwd`` (where generated packages are importable)."""
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def tree(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` (caches excluded) by relative path."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


@pytest.fixture
def contracts(tmp_path: Path) -> Path:
    """A private, editable copy of contracts/testdata."""
    copy = tmp_path / "contracts"
    shutil.copytree(TESTDATA, copy)
    return copy


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """contracts/testdata generated once into an importable package ``gen_testdata``."""
    root = tmp_path_factory.mktemp("importable")
    result = codegen(TESTDATA, "--out", root / "gen_testdata", "--stubs", root / "stubs_testdata")
    assert result.returncode == 0, result.stderr
    sys.path.insert(0, str(root))
    yield root
    sys.path.remove(str(root))


@pytest.fixture(scope="session")
def events(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The AsyncAPI documents (and the protos one of them uses) generated once
    into an importable package ``gen_events``, stubs in ``stubs_events``."""
    root = tmp_path_factory.mktemp("events")
    result = codegen(TESTDATA, ASYNCAPI, "--out", root / "gen_events", "--stubs", root / "stubs_events")
    assert result.returncode == 0, result.stderr
    (root / "codegen.stderr").write_text(result.stderr)
    sys.path.insert(0, str(root))
    yield root
    sys.path.remove(str(root))
