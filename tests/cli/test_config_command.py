"""`microlib config show` in a real subprocess: effective config, sources, masking, errors."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import microlib

SERVICE_MODULE = """
from pydantic import SecretStr

from microlib.config import Section
from microlib.service import Service


class AppSettings(Section):
    greeting: str = "hello"
    api_token: SecretStr = SecretStr("tok-123")


service = Service("orders", sections={"app": AppSettings})
"""


def test_show_prints_each_value_with_its_source_and_masks_secrets(tmp_path: Path) -> None:
    """Files, env and --set values appear with file:line, env name or --set; a secret stays hidden."""
    (tmp_path / "myservice.py").write_text(SERVICE_MODULE, encoding="utf-8")
    (tmp_path / "base.yaml").write_text("http:\n  port: 9000\napp:\n  greeting: hi\n", encoding="utf-8")
    (tmp_path / "prod.toml").write_text("[logging]\nlevel = 'WARNING'\n", encoding="utf-8")

    result = microlib(
        "config",
        "show",
        "myservice:service",
        "--config",
        "base.yaml",
        "--config",
        "prod.toml",
        "--set",
        "http.host=127.0.0.1",
        cwd=tmp_path,
        env={"MICROLIB__FEATURES__BETA": "true"},
    )

    assert result.returncode == 0, result.stderr
    lines: dict[str, str] = {}
    for line in result.stdout.splitlines():  # the first key of a name: http.port before metrics.port
        lines.setdefault(line.split(":")[0].strip(), line)
    assert lines["port"].endswith("# base.yaml:2")
    assert lines["greeting"].endswith("# base.yaml:4")
    assert lines["level"].endswith("# prod.toml:2")
    assert lines["host"].endswith("# --set http.host=...")
    assert lines["beta"].endswith("# env MICROLIB__FEATURES__BETA")
    assert lines["api_token"].split("#")[0].strip() == "api_token: '**********'"
    assert "tok-123" not in result.stdout


def test_show_without_target_uses_framework_settings(tmp_path: Path) -> None:
    """With no target and no pyproject.toml the framework's own sections are shown, defaults marked."""
    result = microlib("config", "show", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "  port: 8080" in result.stdout
    assert "# default" in result.stdout


def test_show_without_target_uses_the_pyproject_service(tmp_path: Path) -> None:
    """In a project, the service named in [tool.microlib] is used, as `microlib run` does."""
    (tmp_path / "myservice.py").write_text(SERVICE_MODULE, encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.microlib]\nservice = "myservice:service"\n', encoding="utf-8"
    )
    result = microlib("config", "show", "--set", "app.greeting=hey", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "greeting: hey" in result.stdout


def test_invalid_config_exits_non_zero_with_the_report_and_no_traceback(tmp_path: Path) -> None:
    """Every problem is printed to stderr; nothing on stdout; no traceback."""
    (tmp_path / "bad.yaml").write_text("http:\n  port: 70000\n  prot: 1\n", encoding="utf-8")
    result = microlib("config", "show", "--config", "bad.yaml", "--set", "shutdown.timeout=0", cwd=tmp_path)
    assert result.returncode != 0
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("microlib config: invalid configuration (3 problems):")
    assert "http.port = 70000 (bad.yaml:2)" in result.stderr
    assert "did you mean 'port'?" in result.stderr
    assert "shutdown.timeout = 0 (--set shutdown.timeout=...)" in result.stderr


def test_bad_target_is_one_line_error(tmp_path: Path) -> None:
    """An unimportable target or a malformed one gives a single-line cause."""
    for target, fragment in [
        ("no_such_module:service", "cannot import module 'no_such_module'"),
        ("justamodule", "must look like 'package.module:attribute'"),
    ]:
        result = microlib("config", "show", target, cwd=tmp_path)
        assert result.returncode != 0
        assert fragment in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


CLUSTER_MODULE = """
from pydantic import Field

from microlib.config import Section
from microlib.service import Service


class Backend(Section):
    host: str = "db"
    password: str = "pw"


class ClusterSettings(Section):
    backends: list[Backend] = Field(default_factory=list)


service = Service("orders", sections={"cluster": ClusterSettings})
"""


def test_show_masks_secrets_under_list_items(tmp_path: Path) -> None:
    """`backends[0].password` and `security.issuers[0].keys` are masked as the same names at top level are."""
    (tmp_path / "cluster.py").write_text(CLUSTER_MODULE, encoding="utf-8")
    (tmp_path / "c.yaml").write_text(
        "cluster:\n"
        "  backends:\n"
        "    - {host: db1, password: hunter2-first}\n"
        "    - {host: db2, password: hunter2-second}\n"
        "security:\n"
        "  issuers:\n"
        "    - issuer: https://id.example\n"
        "      audiences: [orders]\n"
        "      keys: [{kty: oct, k: c2lnbmluZy1rZXk}]\n",
        encoding="utf-8",
    )
    result = microlib("config", "show", "cluster:service", "--config", "c.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for secret in ("hunter2-first", "hunter2-second", "c2lnbmluZy1rZXk"):
        assert secret not in result.stdout
    lines = {line.split(":")[0].strip(): line for line in result.stdout.splitlines()}
    assert "{host: db1, password: '**********'}, {host: db2, password: '**********'}" in lines["backends"]
    assert "keys: '**********'" in lines["issuers"]
    assert "audiences: [orders]" in lines["issuers"]
