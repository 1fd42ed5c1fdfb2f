"""The pytest plugin, as a project sees it: installed through its entry point, no import in the tests.

Each test writes a small project (a service module, pyproject.toml, tests
using the fixtures) and runs pytest on it in a subprocess. The plugin is
registered the way an installed microlib registers it: a distribution whose
``pytest11`` entry point is the one pyproject.toml declares.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SERVICE = """
from typing import Any

from starlette.requests import Request

from microlib import Service


def create_service() -> Service:
    service = Service("plugged", version="0.1.0")

    @service.http.route("/hello")
    async def hello(request: Request) -> dict[str, Any]:
        return {"hello": service.config.service.environment}

    return service


service = create_service()
"""

PYPROJECT = """
[tool.microlib]
service = "{target}"

[tool.pytest.ini_options]
asyncio_mode = "{mode}"
asyncio_default_fixture_loop_scope = "function"
filterwarnings = ["error"]
{extra}
"""


def entry_point_distribution(into: Path) -> Path:
    """A distribution declaring microlib's ``pytest11`` entry point, as installing microlib writes it."""
    with (ROOT / "pyproject.toml").open("rb") as f:
        declared = tomllib.load(f)["project"]["entry-points"]["pytest11"]
    dist = into / "microlib_plugin_probe-0.dist-info"
    dist.mkdir(parents=True, exist_ok=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: microlib-plugin-probe\nVersion: 0\n")
    lines = "".join(f"{name} = {target}\n" for name, target in declared.items())
    (dist / "entry_points.txt").write_text(f"[pytest11]\n{lines}")
    return into


def run_pytest(
    project: Path, tests: str, *, mode: str = "auto", extra: str = "", target: str = "app:service"
) -> subprocess.CompletedProcess[str]:
    (project / "app.py").write_text(SERVICE)
    (project / "pyproject.toml").write_text(PYPROJECT.format(mode=mode, extra=extra, target=target))
    (project / "test_app.py").write_text(textwrap.dedent(tests))
    site = entry_point_distribution(project.parent / "site")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT), str(ROOT / "codegen")])}
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:cov"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The folder of the project under test, beside the folder of its plugin's distribution."""
    folder = tmp_path / "project"
    folder.mkdir()
    return folder


def passed(result: subprocess.CompletedProcess[str], count: int) -> None:
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{count} passed" in result.stdout, result.stdout


def test_fixtures_serve_the_projects_service(tmp_path: Path) -> None:
    """http_client, logs and spans belong to a service started for the test, found through pyproject."""
    project = tmp_path / "project"
    project.mkdir()
    result = run_pytest(
        project,
        """
        import pytest


        async def test_hello(http_client, logs, spans):
            response = await http_client.get("/hello")
            assert response.json() == {"hello": "development"}
            assert [e for e in logs if e["event"] == "http request"]
            assert spans.one("GET /hello").attributes["http.response.status_code"] == 200


        @pytest.mark.microlib(overrides=["service.environment=staging"])
        async def test_marker_options(running_service):
            response = await running_service.http.get("/hello")
            assert response.json() == {"hello": "staging"}
        """,
    )
    passed(result, 2)


def test_strict_mode_and_config_files(tmp_path: Path) -> None:
    """Without pytest-asyncio's auto mode the fixtures still start; microlib_config files are loaded."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "settings.yaml").write_text("service:\n  environment: from-file\n")
    result = run_pytest(
        project,
        """
        import pytest


        @pytest.mark.asyncio
        async def test_hello(http_client):
            assert (await http_client.get("/hello")).json() == {"hello": "from-file"}
        """,
        mode="strict",
        extra='microlib_config = ["settings.yaml"]',
    )
    passed(result, 1)


def test_a_service_object_without_a_factory_runs_once(tmp_path: Path) -> None:
    """A target naming one Service object (no create_service beside it) serves one test, then says why not."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "once.py").write_text(
        SERVICE.replace("def create_service", "def build").replace("= create_service()", "= build()")
    )
    result = run_pytest(
        project,
        """
        async def test_first(http_client):
            assert (await http_client.get("/hello")).status_code == 200


        async def test_second(http_client):
            assert (await http_client.get("/hello")).status_code == 200
        """,
        extra='microlib_service = "once:service"',
    )
    assert result.returncode == 1, result.stdout
    assert "1 passed, 1 error" in result.stdout
    assert "is one Service object, and a Service runs once" in result.stdout


def test_a_misnamed_service_is_one_line_per_test_naming_where_it_is_set(project: Path) -> None:
    """A usage mistake in a fixture is reported as such, not as the plugin's traceback."""
    result = run_pytest(project, "async def test_hello(http_client):\n    pass\n", target="app:servic")
    assert result.returncode == 1, result.stdout
    expected = "'app:servic' ([tool.microlib] service in pyproject.toml): module 'app' has no attribute"
    assert expected in result.stdout, result.stdout
    assert "pytest_plugin.py" not in result.stdout, result.stdout


def test_a_config_mistake_is_the_report_without_a_traceback(project: Path) -> None:
    """The service under test does not start: the configuration's report, each problem's file and line."""
    (project / "settings.yaml").write_text("http:\n  prot: 1\n")
    result = run_pytest(
        project,
        "async def test_hello(http_client):\n    pass\n",
        extra='microlib_config = ["settings.yaml"]',
    )
    assert result.returncode == 1, result.stdout
    assert "settings.yaml:2): unknown key; did you mean 'port'? [unknown_key]" in result.stdout, result.stdout
    assert "loader.py" not in result.stdout, result.stdout
