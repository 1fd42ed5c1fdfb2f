"""Packaging by concern: an HTTP service runs on the core dependencies; a
concern whose extra is missing stops the start with one line and the pip command.

The extras are taken away by setting their modules to ``None`` in
``sys.modules`` (an import of them then fails as if not installed), in a
subprocess; ``scripts/check-core-install`` does the same in a real virtualenv
holding only the core dependencies.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from microlib import Service
from microlib.core.extras import EXTRAS, MissingExtra, extra_missing, require

ROOT = Path(__file__).resolve().parents[2]

HTTP_ONLY = """
from starlette.requests import Request
from starlette.responses import JSONResponse

from microlib import Service

service = Service("http-only", version="1.0.0")


@service.http.route("/hello")
async def hello(request: Request) -> JSONResponse:
    return JSONResponse({"hello": "world"})
"""


def without(extras: list[str], code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter in which the libraries of ``extras`` cannot be imported."""
    blocked = [module for extra in extras for module in EXTRAS[extra]]
    prelude = f"import sys\nfor name in {blocked!r}:\n    sys.modules[name] = None\n"
    command = [sys.executable, "-c", prelude + textwrap.dedent(code)]
    env = {"PYTHONPATH": f"{cwd}:{ROOT}:{ROOT / 'codegen'}", "PATH": "/usr/bin:/bin"}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)


def cli_without(extras: list[str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``microlib ARGS`` without the libraries of ``extras``."""
    return without(extras, f"from microlib.cli.main import main\nsys.exit(main({list(args)!r}))", cwd)


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output, output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, output
    return lines[0]


@pytest.fixture
def http_only(tmp_path: Path) -> Path:
    (tmp_path / "http_only.py").write_text(HTTP_ONLY)
    return tmp_path


OPTIONAL = ["grpc", "data", "otlp", "postgres", "redis", "rabbitmq", "kafka", "jobs"]


def test_import_microlib_loads_no_optional_library() -> None:
    """Every package's public names stay importable, and importing them loads no extra's library."""
    result = without(
        OPTIONAL,
        """
        import microlib, microlib.testing
        from microlib.contract import ServiceDefinition
        from microlib.data import MemoryCache
        from microlib.http import OpenAPIApp
        from microlib.jobs import JobsSettings
        from microlib.messaging import Publisher
        print("ok")
        """,
        ROOT,
    )
    assert result.stdout.strip() == "ok", result.stderr


def test_an_http_service_runs_on_the_core_dependencies(http_only: Path) -> None:
    """Started, ready and answering, with every extra's libraries missing; with authentication too."""
    result = without(
        OPTIONAL,
        """
        import asyncio
        from microlib import Service
        from microlib.security import install
        from microlib.testing import TestService
        from http_only import hello, service

        secured = Service("secured")
        install(secured)
        secured.http.route("/hello")(hello)

        async def main():
            async with TestService(service) as t:
                print((await t.http.get("/hello")).json(), (await t.http.get("/health/ready")).status_code)
            async with TestService(secured) as t:
                print("secured", (await t.http.get("/hello")).status_code)

        asyncio.run(main())
        """,
        http_only,
    )
    lines = result.stdout.splitlines()  # among the log lines
    assert "{'hello': 'world'} 200" in lines, result.stderr
    assert "secured 401" in lines, result.stderr


def test_a_setting_that_needs_an_extra_names_it_and_the_pip_command(http_only: Path) -> None:
    line = one_line(
        cli_without(
            ["otlp"], "run", "http_only:service", "--set", "tracing.exporter=otlp-http", cwd=http_only
        )
    )
    assert line.startswith(
        "microlib run: tracing.exporter: otlp-http needs opentelemetry.exporter.otlp.proto.grpc"
    )
    assert line.endswith("pip install 'microlib[otlp]'")


def test_a_database_without_the_data_extra(tmp_path: Path) -> None:
    line = one_line(cli_without(["data"], "run", "tests.cli.apps.dependent:service", cwd=ROOT))
    assert line.startswith("microlib run: Service(database=True) needs sqlalchemy"), line
    assert line.endswith("pip install 'microlib[data]'")


def test_a_broker_url_without_its_driver(tmp_path: Path) -> None:
    """The example publishes and consumes: messaging.url kafka:// needs the kafka extra."""
    result = cli_without(
        ["kafka"],
        "run",
        "examples.bookshop.main:service",
        "--set",
        "messaging.url=kafka://localhost:1",
        cwd=ROOT,
    )
    assert (
        one_line(result)
        == "microlib run: messaging.url kafka:// needs aiokafka, not installed: pip install 'microlib[kafka]'"
    )


def test_generated_grpc_code_without_the_grpc_extra() -> None:
    """The service module imports its generated gRPC code before any configuration is read."""
    line = one_line(cli_without(["grpc"], "run", "examples.bookshop.main:service", cwd=ROOT))
    assert line.startswith("microlib run: examples.bookshop.main needs "), line
    assert line.endswith(", not installed: pip install 'microlib[grpc]'")


def test_microlib_db_without_the_data_extra(tmp_path: Path) -> None:
    """`microlib --help` lists every command; `microlib db` names the extra it needs."""
    assert "db" in cli_without(["data", "grpc"], "--help", cwd=tmp_path).stdout
    line = one_line(cli_without(["data"], "db", "current", "--url", "sqlite+aiosqlite:///x.db", cwd=tmp_path))
    assert line == (
        "microlib db: microlib db current needs sqlalchemy, sqlmodel, alembic, aiosqlite, greenlet, "
        "not installed: pip install 'microlib[data]'"
    )


def test_including_a_servicer_checks_the_grpc_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from examples.bookshop.catalog import Catalog
    from examples.bookshop.services.bookshop_service import BookshopServiceServicer

    servicer = BookshopServiceServicer(Catalog())
    monkeypatch.setitem(sys.modules, "grpc_health", None)
    with pytest.raises(MissingExtra) as caught:
        Service("shop").include(servicer)
    assert str(caught.value) == (
        "the gRPC servicer BookshopServiceServicer (service.include) needs grpc_health, "
        "not installed: pip install 'microlib[grpc]'"
    )


def test_require_passes_when_installed_and_names_every_missing_module(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    require("grpc", "anything")
    monkeypatch.setitem(sys.modules, "aiokafka", None)
    with pytest.raises(
        MissingExtra, match=r"^x needs aiokafka, not installed: pip install 'microlib\[kafka\]'$"
    ):
        require("kafka", "x")
    assert isinstance(MissingExtra("m"), ImportError)  # `except ImportError` still catches it


def test_a_missing_module_is_mapped_to_its_extra() -> None:
    def error(name: str) -> ModuleNotFoundError:
        return ModuleNotFoundError(f"No module named {name!r}", name=name)

    assert (
        str(extra_missing(error("google"), "app"))
        == "app needs google, not installed: pip install 'microlib[grpc]'"
    )
    assert "microlib[grpc]" in str(extra_missing(error("grpc.aio"), "app"))
    assert "microlib[data]" in str(extra_missing(error("sqlalchemy"), "app"))
    assert extra_missing(error("numpy"), "app") is None


def test_every_extra_checked_is_one_pyproject_declares() -> None:
    import tomllib

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert set(EXTRAS) <= set(declared)
    core = " ".join(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"])
    for forbidden in ("grpcio", "protobuf", "sqlalchemy", "sqlmodel", "alembic", "otlp", "croniter"):
        assert forbidden not in core.lower(), forbidden
