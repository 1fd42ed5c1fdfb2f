"""The container image's Dockerfile: lint, build context, command, health check.

Docker cannot run on these machines, so the image is checked piece by piece:
hadolint reads the Dockerfile, and what the image would run (its command, its
environment, its HEALTHCHECK) runs here against a real `microlib run`.
"""

from __future__ import annotations

import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.docker.requirements import requirements
from tests.deploy.dockerfile import (
    ROOT,
    copied_sources,
    environment,
    exec_form,
    final_stage,
    instructions,
)
from tests.scale.replica import TARGET, Replica

HADOLINT = str(Path(sys.executable).with_name("hadolint"))


def _hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [HADOLINT, "--no-color", str(path)], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )


def test_dockerfile_passes_hadolint(tmp_path: Path) -> None:
    """hadolint finds nothing in the Dockerfile, and does find the faults of a
    careless one (so a passing run means something)."""
    result = _hadolint(ROOT / "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr
    careless = tmp_path / "Dockerfile"
    careless.write_text("FROM python:latest\nRUN apt-get install curl\nCMD microlib run app:service\n")
    result = _hadolint(careless)
    assert result.returncode == 1
    for rule in ("DL3007", "DL3008", "DL3025"):  # latest tag, unpinned apt, shell-form CMD
        assert rule in result.stdout


def test_build_context_holds_exactly_what_the_image_copies() -> None:
    """.dockerignore leaves out everything (.git, .venv, node_modules, tests...)
    but the paths the Dockerfile copies, and lets every one of them in."""
    lines = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()]
    patterns = [line for line in lines if line and not line.startswith("#")]
    assert patterns[0] == "*"
    allowed = {p[1:] for p in patterns if p.startswith("!")}
    assert allowed == copied_sources()
    for source in allowed:
        assert (ROOT / source).exists(), source


def test_dependency_layer_installs_the_chosen_extras() -> None:
    """The dependency layer's list is pyproject's dependencies plus the
    Dockerfile's EXTRAS, a self-referencing extra expanded, an unknown extra
    refused by name."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    extras_arg = next(
        i.arguments for i in instructions() if i.keyword == "ARG" and i.arguments.startswith("EXTRAS=")
    )
    extras = extras_arg.partition("=")[2].strip('"').split()
    found = requirements(pyproject, extras)
    assert found[: len(pyproject["project"]["dependencies"])] == pyproject["project"]["dependencies"]
    for extra in extras:  # its own requirements; those of an extra it names are expanded (postgres: data)
        listed = pyproject["project"]["optional-dependencies"][extra]
        assert {r for r in listed if not r.startswith("microlib[")} <= set(found)
    assert "sqlalchemy[asyncio]>=2.0" in found  # postgres brings data
    every = requirements(pyproject, ["all"])
    assert "asyncpg>=0.30" in every
    assert "hvac>=2.3" in every
    assert not any(r.startswith("microlib") for r in every)
    with pytest.raises(SystemExit, match=r"no extra 'postgress' in pyproject\.toml"):
        requirements(pyproject, ["postgress"])


def test_image_runs_microlib_unprivileged() -> None:
    """The final stage runs `microlib run <the example>` in exec form (so it
    is PID 1, see test_pid1.py) as a numeric non-root user."""
    stage = final_stage()
    entrypoint = next(exec_form(i.arguments) for i in stage if i.keyword == "ENTRYPOINT")
    command = next(exec_form(i.arguments) for i in stage if i.keyword == "CMD")
    assert [*entrypoint, *command] == ["microlib", "run", TARGET]
    user = next(i.arguments for i in stage if i.keyword == "USER")
    uid, _, gid = user.partition(":")
    assert uid.isdigit(), user
    assert gid.isdigit(), user
    assert int(uid) > 0
    assert int(gid) > 0


@pytest.fixture
def replica(tmp_path: Path) -> Iterator[Replica]:
    """The example with the image's environment and a drain delay."""
    image_env = {k: v for k, v in environment(final_stage()).items() if k != "PATH"}
    started = Replica(tmp_path / "service.log", "shutdown.drain_delay=1.5", env=image_env)
    yield started
    started.kill()


def test_healthcheck_follows_readiness(replica: Replica) -> None:
    """The image's HEALTHCHECK command, run with the image's environment,
    passes while the service is ready and fails once SIGTERM flips readiness
    and after the service is gone."""
    healthcheck = next(i.arguments for i in final_stage() if i.keyword == "HEALTHCHECK")
    probe = exec_form(healthcheck.partition(" CMD ")[2])
    assert probe[0] == "python"
    probe[0] = sys.executable

    def check() -> int:
        env = {**replica.env, "HEALTHCHECK_URL": f"{replica.url}/health/ready"}
        return subprocess.run(probe, env=env, capture_output=True, timeout=30, check=False).returncode

    replica.start().wait_ready()
    assert replica.env["MICROLIB__SERVICE__ENVIRONMENT"] == "production"
    assert check() == 0
    replica.terminate()
    time.sleep(0.3)
    assert check() != 0  # readiness is off during the drain delay
    assert replica.wait() == 0
    assert check() != 0
    assert replica.events()[-1]["env"] == "production"
