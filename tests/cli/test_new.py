"""`microlib new`: each template gives a project whose tests pass and which serves.

The projects are created, tested and run by real processes, as a user would:
`microlib new`, then `microlib run` with no TARGET inside the project, then
its own `make test` and `make check`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from microlib.cli.main import main
from microlib.core.extras import EXTRAS
from tests.core.test_extras import without

# What each template serves over HTTP once running: path -> a piece of the 200 answer.
PROBES = {
    "proto": {"/v1/hello/Ann": '"Hello, Ann!"'},
    "openapi": {"/api/greetings/Ann": '"Hello, Ann!"'},
    "messaging": {"/events/asyncapi.json": "events"},
    "jobs": {"/health/ready": '"jobs":["nightly_summary"]'},  # the scheduler's, ready
}
PROBES["all"] = {path: text for probes in PROBES.values() for path, text in probes.items()}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _microlib(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "microlib.cli", *args], cwd=cwd, capture_output=True, text=True, check=False
    )


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)  # closes its pipe


def _first_answer(url: str, process: subprocess.Popen[str]) -> httpx.Response:
    """The first answer of ``url`` once the service listens; the service must not exit."""
    deadline = time.monotonic() + 120  # a safety net against a hang, not a measure
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.communicate()[0]
            raise AssertionError(f"microlib run exited with {process.returncode}:\n{output}")
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            time.sleep(0.02)
    process.kill()
    raise AssertionError(f"{url} never answered:\n{process.communicate()[0]}")


@pytest.mark.parametrize(
    ("template", "name"),
    # `jobs` alone is served and tested within `all` (a minute of CI saved).
    [("proto", "greeter"), ("openapi", "greeter"), ("messaging", "order_book"), ("all", "shop2_eu")],
)
def test_a_new_project_serves_and_its_tests_pass(
    template: str, name: str, tmp_path: Path, processes: list[subprocess.Popen[str]]
) -> None:
    """`microlib new` writes the project and generates its code without adding a stub of its
    own; `microlib run` with no TARGET serves it, ready, answering the template's endpoints,
    and exits 0 on SIGTERM; its `make test` passes, `make check` finds the generated code up
    to date, and ruff finds nothing to say."""
    began = time.monotonic()
    created = _microlib("new", name, "--template", template, cwd=tmp_path)
    assert created.returncode == 0, created.stdout + created.stderr
    assert "created stub" not in created.stdout  # the template's implementations are the stubs
    project = tmp_path / name

    port = _free_port()
    settings = [f"http.port={port}", "http.host=127.0.0.1", "grpc.host=127.0.0.1", "grpc.port=0"]
    server = subprocess.Popen(
        [sys.executable, "-m", "microlib.cli", "run", *(f"--set={item}" for item in settings)],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    processes.append(server)
    base = f"http://127.0.0.1:{port}"
    path, text = next(iter(PROBES[template].items()))
    first = _first_answer(base + path, server)
    # Time to first request, from `microlib new` to the first answer (reported, not asserted).
    print(f"{template}: first answer {first.status_code} after {time.monotonic() - began:.2f} s")
    assert first.status_code == 200, first.text
    assert httpx.get(f"{base}/health/ready", timeout=5).status_code == 200
    for path, text in PROBES[template].items():
        response = httpx.get(base + path, timeout=5)
        assert response.status_code == 200, response.text
        assert text in response.text
    server.send_signal(signal.SIGTERM)
    output = server.communicate(timeout=30)[0]
    assert server.returncode == 0, output

    tested = subprocess.run(["make", "test"], cwd=project, capture_output=True, text=True, check=False)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert " passed" in tested.stdout
    checked = subprocess.run(["make", "check"], cwd=project, capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "is up to date" in checked.stdout
    for ruff in (["check", "--select", "E,F,W,I,UP,B", "."], ["format", "--check", "."]):
        linted = subprocess.run(
            [sys.executable, "-m", "ruff", *ruff], cwd=project, capture_output=True, text=True, check=False
        )
        assert linted.returncode == 0, linted.stdout + linted.stderr


@pytest.mark.parametrize("template", ["proto", "openapi", "messaging", "jobs", "all"])
def test_a_new_project_starts_with_the_extras_it_declares_alone(template: str, tmp_path: Path) -> None:
    """Installed as its pyproject.toml says (the CI workflow's `pip install -e .`), the service
    starts: the libraries of every extra it does not declare are made unimportable."""
    created = _microlib("new", "shop", "--template", template, cwd=tmp_path)
    assert created.returncode == 0, created.stdout + created.stderr
    project = tmp_path / "shop"
    with (project / "pyproject.toml").open("rb") as f:
        [dependency] = tomllib.load(f)["project"]["dependencies"]
    declared = dependency.partition("[")[2].partition("]")[0].split(",")
    start_and_stop = """
        import asyncio

        from shop.main import create_service


        async def start_and_stop() -> None:
            service = create_service()
            service.configure(overrides=["http.port=0", "http.host=127.0.0.1", "grpc.port=0"], environ={})
            await service.start()
            await service.stop()


        asyncio.run(start_and_stop())
        """
    started = without([extra for extra in EXTRAS if extra not in declared], start_and_stop, cwd=project)
    assert started.returncode == 0, started.stderr


def test_the_project_has_its_settings_makefile_image_and_ci(
    tmp_path: Path, processes: list[subprocess.Popen[str]]
) -> None:
    """`make run` serves the service with microlib.yaml, through the interpreter that created
    the project; the Dockerfile passes hadolint and the CI workflow GitHub's schema."""
    created = _microlib("new", "greeter", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    project = tmp_path / "greeter"
    assert f"PYTHON ?= {sys.executable}\n" in (project / "Makefile").read_text()
    port = _free_port()
    make = subprocess.Popen(
        ["make", "run", f"ARGS=--set http.port={port} --set http.host=127.0.0.1 --set grpc.port=0"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # one process group: make and the service it runs
    )
    processes.append(make)
    assert _first_answer(f"http://127.0.0.1:{port}/health/ready", make).status_code == 200
    os.killpg(make.pid, signal.SIGTERM)
    assert "--config microlib.yaml" in make.communicate(timeout=30)[0]
    assert (project / ".gitignore").is_file()
    assert (project / ".dockerignore").is_file()
    hadolint = Path(sys.executable).with_name("hadolint")
    linted = subprocess.run(
        [hadolint, "Dockerfile"], cwd=project, capture_output=True, text=True, check=False
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr
    schema = Path(sys.executable).with_name("check-jsonschema")
    workflow = project / ".github" / "workflows" / "ci.yml"
    args = [str(schema), "--builtin-schema", "vendor.github-workflows", str(workflow)]
    valid = subprocess.run(args, capture_output=True, text=True, check=False)
    assert valid.returncode == 0, valid.stdout + valid.stderr


def test_override_templates_replace_and_add_files(tmp_path: Path) -> None:
    """A file under --templates DIR/<part> replaces the built-in one written to the same place,
    or adds one; both are rendered, paths included. An empty folder is a fine target."""
    overrides = tmp_path / "mine"
    handler = overrides / "openapi" / "{{name}}" / "services" / "greetings.py.tmpl"
    handler.parent.mkdir(parents=True)
    builtin = Path(__file__).parents[2] / "microlib/cli/templates/openapi/{{name}}/services/greetings.py.tmpl"
    handler.write_text(builtin.read_text().replace('f"Hello, {name}!"', 'f"Hi, {name}!"'))
    (overrides / "project").mkdir()
    (overrides / "project" / "OWNERS-{{service}}").write_text("team {{Name}}\n")
    # In an empty folder, `.` names the project after the folder.
    (tmp_path / "shop").mkdir()
    created = _microlib(
        "new", ".", "--template", "openapi", "--templates", str(overrides), cwd=tmp_path / "shop"
    )
    assert created.returncode == 0, created.stdout + created.stderr
    assert "created stub" not in created.stdout
    assert 'f"Hi, {name}!"' in (tmp_path / "shop/shop/services/greetings.py").read_text()
    assert (tmp_path / "shop" / "OWNERS-shop").read_text() == "team Shop\n"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Order-Book", "'Order-Book' is not a valid project name: it names the Python package"),
        ("2fa", "'2fa' is not a valid project name"),
        ("class", "'class' is not a valid project name"),
        ("json", "'json' is a module of Python's standard library: choose a name it does not hide"),
        ("pydantic", "'pydantic' is already importable (from /"),
        ("microlib", "'microlib' is already importable (from /"),
    ],
)
def test_a_name_that_is_no_package_name_is_refused(
    name: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The name is the Python package's: one line says why it cannot be, nothing is written."""
    assert main(["new", str(tmp_path / name)]) == 2
    assert capsys.readouterr().err.startswith(f"microlib new: {message}")
    assert not (tmp_path / name).exists()


def test_an_existing_folder_that_is_not_empty_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """microlib new never writes into a folder with something in it (nor over a file)."""
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "notes.txt").write_text("mine")
    (tmp_path / "cart").write_text("a file")
    for name in ("shop", "cart"):
        assert main(["new", str(tmp_path / name)]) == 2
        target = tmp_path / name
        assert capsys.readouterr().err == (
            f"microlib new: {target} already exists and is not empty: give the name of a new folder\n"
        )
    assert [p.name for p in (tmp_path / "shop").iterdir()] == ["notes.txt"]


def test_a_template_mistake_names_the_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unknown placeholder in an override names the file, the line and the known ones."""
    broken = tmp_path / "mine" / "project" / "README.md.tmpl"
    broken.parent.mkdir(parents=True)
    broken.write_text("# {{name}}\n\nby {{ author }}\n")
    assert main(["new", str(tmp_path / "shop"), "--templates", str(tmp_path / "mine")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"microlib new: {broken}:3: unknown placeholder {{{{ author }}}} (known: Name, ")
    assert not (tmp_path / "shop").exists()


def test_a_templates_folder_that_is_not_one_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--templates must name a folder."""
    assert main(["new", str(tmp_path / "shop"), "--templates", str(tmp_path / "nowhere")]) == 2
    assert capsys.readouterr().err == f"microlib new: --templates {tmp_path}/nowhere: not a folder\n"


def test_a_templates_folder_with_an_unknown_part_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Its folders are named after the parts: a misspelt one would silently change nothing."""
    (tmp_path / "mine" / "protobuf").mkdir(parents=True)
    assert main(["new", str(tmp_path / "shop"), "--templates", str(tmp_path / "mine")]) == 2
    assert capsys.readouterr().err == (
        f"microlib new: --templates {tmp_path}/mine: protobuf is not a template part "
        "(the folders are named project, proto, openapi, messaging)\n"
    )


def test_a_binary_template_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Template files are text: a binary one is named."""
    logo = tmp_path / "mine" / "project" / "logo.png"
    logo.parent.mkdir(parents=True)
    logo.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    assert main(["new", str(tmp_path / "shop"), "--templates", str(tmp_path / "mine")]) == 2
    assert capsys.readouterr().err == f"microlib new: {logo}: a template file must be UTF-8 text\n"


def test_codegen_failing_leaves_the_project_and_says_what_next(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A contract codegen refuses: its error, then what to do once it is fixed; exit 2."""
    proto = tmp_path / "mine" / "proto" / "contracts" / "{{name}}" / "v1" / "{{name}}.proto.tmpl"
    proto.parent.mkdir(parents=True)
    proto.write_text('syntax = "proto3";\npackage {{name}}.v1;\nmessage Broken {\n')
    target = tmp_path / "shop"
    assert main(["new", str(target), "--templates", str(tmp_path / "mine")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("microlib codegen: ")
    assert err.endswith(
        f"microlib new: {target} is written, but codegen failed (above): fix, then `make codegen` there\n"
    )
    assert (target / "Makefile").is_file()


def test_without_npm_an_events_project_says_how_to_get_the_schemas(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Validating AsyncAPI contracts needs the JSON Schemas npm installs: without npm, say so."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    target = tmp_path / "shop"
    assert main(["new", str(target), "--template", "messaging"]) == 2
    assert capsys.readouterr().err == (
        f"microlib new: {target} is written, but codegen needs the AsyncAPI JSON Schemas that npm "
        f"installs and npm is not on PATH: install Node.js, then run `make codegen` in {target}\n"
    )


def test_npm_failing_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """npm's last line of complaint, and what to run once it is fixed."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    npm = bin_dir / "npm"
    npm.write_text("#!/bin/sh\necho 'npm error network unreachable' >&2\nexit 1\n")
    npm.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    target = tmp_path / "shop"
    assert main(["new", str(target), "--template", "messaging"]) == 2
    assert capsys.readouterr().err == (
        f"microlib new: `npm install` in {target} failed (npm error network unreachable): "
        "run it there, then `make codegen`\n"
    )


def test_version_flag_prints_both_distributions(capsys: pytest.CaptureFixture[str]) -> None:
    """`microlib --version` prints microlib's version and its generator's, and exits 0, as
    `microlib version` does."""
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    printed = capsys.readouterr().out
    assert [line.split()[0] for line in printed.splitlines()] == ["microlib", "microlib-codegen"]
    assert main(["version"]) == 0
    assert capsys.readouterr().out == printed
