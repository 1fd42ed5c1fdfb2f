"""The GitHub Actions workflow and the pre-commit hooks, checked offline."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # where `make install` puts the tools
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
# The servers `make test` starts and waits for, and the ports the tests reach them on.
SERVERS = {"PostgreSQL": 5432, "Redis": 6379, "RabbitMQ": 5672, "NATS": 4222}


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)


def test_workflow_matches_the_github_actions_schema(tmp_path: Path) -> None:
    """check-jsonschema's copy of GitHub's workflow schema accepts the
    workflow and rejects a misspelt key."""
    result = _run(str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(WORKFLOW))
    assert result.returncode == 0, result.stdout + result.stderr
    broken = tmp_path / "ci.yml"
    broken.write_text(WORKFLOW.read_text().replace("runs-on:", "run-on:", 1))
    result = _run(str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(broken))
    assert result.returncode == 1


def test_workflow_mirrors_ci_run() -> None:
    """The test job provides every server `make test` waits for
    (scripts/test-servers), on the ports the tests use, installs the same
    Debian tools, and runs `make test` as .ci/run does; the lint job runs
    `make lint`."""
    ci_run = (ROOT / ".ci" / "run").read_text()
    servers = (ROOT / "scripts" / "test-servers").read_text()
    waited = dict(re.findall(r"^wait_for (\w+) .*/dev/tcp/127\.0\.0\.1/(\d+)", servers, re.MULTILINE))
    assert {name: int(port) for name, port in waited.items()} == SERVERS
    workflow: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text())
    test = workflow["jobs"]["test"]
    published = {int(p.split(":")[0]) for service in test["services"].values() for p in service["ports"]}
    steps = "\n".join(step.get("run", "") for step in test["steps"])
    published |= {int(p) for p in re.findall(r"--publish (\d+):", steps)}
    assert set(SERVERS.values()) <= published
    for tool in ("prometheus", "chromium"):
        assert tool in servers
        assert tool in steps
    assert "make test" in ci_run
    assert re.search(r"^test: .*\bservers\b", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert test["steps"][-1]["run"] == "make test"
    assert test["env"]["MICROLIB_REQUIRE_SERVERS"] == "1"
    assert workflow["jobs"]["lint"]["steps"][-1]["run"] == "make lint"


def test_pre_commit_runs_the_lint_gates() -> None:
    """pre-commit accepts the config; its hooks are ruff, ruff format, mypy
    (as `make lint` runs it), lint-imports, `microlib codegen --check` and hadolint, each
    a tool `make install` provides."""
    result = _run(str(BIN / "pre-commit"), "validate-config", ".pre-commit-config.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = {hook["id"]: shlex.split(hook["entry"]) for repo in config["repos"] for hook in repo["hooks"]}
    assert set(hooks) == {"ruff", "ruff-format", "mypy", "import-contracts", "codegen-check", "hadolint"}
    for entry in hooks.values():
        assert entry[0].startswith(".venv/bin/")
        assert (BIN / Path(entry[0]).name).exists(), entry[0]
    assert hooks["ruff"][1:3] == ["check", "--force-exclude"]
    assert hooks["ruff-format"][1:3] == ["format", "--check"]
    assert hooks["codegen-check"][1:] == ["codegen", "--check"]
    makefile = (ROOT / "Makefile").read_text()
    mypy_line = next(line.strip() for line in makefile.splitlines() if "/mypy " in line)
    assert shlex.split(mypy_line)[1:] == hooks["mypy"][1:]
