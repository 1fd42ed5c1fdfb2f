"""`${ENV_VAR}`, `${ENV_VAR:default}`, `$${` escapes and registered resolvers in config files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from microlib.config import ConfigError, Section, Settings, load_config, register_resolver


class DbSettings(Section):
    """A user section with a secret."""

    url: str = ""
    password: str = ""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_variable_with_and_without_default(tmp_path: Path) -> None:
    """A set variable wins over the default; an unset one takes the default; both embed in text."""
    config = write(
        tmp_path / "c.yaml",
        "http:\n  host: ${BIND_HOST}\n  port: ${PORT:8080}\ndb:\n  url: postgres://${DB_HOST:localhost}:5432/app\n",
    )
    loaded = load_config(
        Settings, sections={"db": DbSettings}, files=[config], environ={"BIND_HOST": "127.0.0.1"}
    )
    assert loaded.settings.http.host == "127.0.0.1"
    assert loaded.settings.http.port == 8080
    assert loaded.settings.db.url == "postgres://localhost:5432/app"  # type: ignore[attr-defined]
    assert loaded.origin("http.port") == f"{config}:3"


def test_default_may_contain_colons_and_be_empty(tmp_path: Path) -> None:
    """Only the first colon separates name and default; `${X:}` is an empty string."""
    config = write(tmp_path / "c.toml", '[db]\nurl = "${DB_URL:sqlite:///x.db}"\npassword = "${DB_PASS:}"\n')
    loaded = load_config(Settings, sections={"db": DbSettings}, files=[config], environ={})
    assert loaded.settings.db.url == "sqlite:///x.db"  # type: ignore[attr-defined]
    assert loaded.settings.db.password == ""  # type: ignore[attr-defined]


def test_missing_variable_names_file_line_and_variable(tmp_path: Path) -> None:
    """Each unset variable without a default is a problem with file:line; other problems still show."""
    config = write(
        tmp_path / "c.yaml", "http:\n  port: 99999\ndb:\n  url: ${DB_URL}\n  password: ${DB_PASSWORD}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(Settings, sections={"db": DbSettings}, files=[config], environ={})
    found = {p.path: (p.source, p.rule, p.message) for p in caught.value.problems}
    assert found["db.url"] == (
        f"{config}:4",
        "interpolation",
        "environment variable DB_URL is not set and ${DB_URL} has no default",
    )
    assert found["db.password"][0] == f"{config}:5"
    assert found["http.port"][1] == "less_than_equal"


def test_variables_inside_lists_and_escapes(tmp_path: Path) -> None:
    """Strings inside lists are interpolated; `$${X}` is the literal text `${X}`."""
    config = write(tmp_path / "c.yaml", 'health:\n  groups:\n    readiness: ["${DEP}", "$${DEP}"]\n')
    loaded = load_config(Settings, files=[config], environ={"DEP": "db"})
    assert loaded.settings.health.groups == {"readiness": ["db", "${DEP}"]}


def test_values_are_never_interpolated_twice(tmp_path: Path) -> None:
    """A variable whose value contains `${...}` is taken literally."""
    config = write(tmp_path / "c.yaml", "db:\n  password: ${PW}\n")
    loaded = load_config(Settings, sections={"db": DbSettings}, files=[config], environ={"PW": "a${B}c"})
    assert loaded.settings.db.password == "a${B}c"  # type: ignore[attr-defined]


@pytest.fixture
def vault() -> Iterator[dict[str, str]]:
    """A `secret` resolver backed by a dict, registered for the test."""
    store = {"kv/app#db_password": "s3cr3t"}

    def resolve(arg: str) -> str:
        backend, _, key = arg.partition(":")
        if backend != "vault":
            raise ValueError(f"unknown backend {backend!r}")
        return store[key]

    unregister = register_resolver("sealed", resolve, sensitive=True)
    yield store
    unregister()


def test_registered_resolver_is_called_and_its_value_masked(tmp_path: Path, vault: dict[str, str]) -> None:
    """`${sealed:vault:kv/app#db_password}` calls the resolver; the value never shows when printed."""
    config = write(tmp_path / "c.yaml", "db:\n  url: ${sealed:vault:kv/app#db_password}\n")
    loaded = load_config(Settings, sections={"db": DbSettings}, files=[config], environ={})
    assert loaded.settings.db.url == "s3cr3t"  # type: ignore[attr-defined]
    assert "s3cr3t" not in loaded.render()
    assert "url: s3cr3t" in loaded.render(masked=False)


def test_failing_resolver_is_a_problem_with_file_and_line(tmp_path: Path, vault: dict[str, str]) -> None:
    """A resolver exception becomes a problem naming the reference and the cause."""
    config = write(tmp_path / "c.yaml", "db:\n  url: ${sealed:consul:x}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(Settings, sections={"db": DbSettings}, files=[config], environ={})
    (problem,) = caught.value.problems
    assert problem.source == f"{config}:2"
    assert "resolver 'sealed' failed for ${sealed:consul:x}: unknown backend 'consul'" in problem.message


def test_unregistered_lowercase_name_is_an_error_not_a_default(tmp_path: Path) -> None:
    """Without a resolver named `sealed`, `${sealed:...}` is not silently read as a variable default."""
    config = write(tmp_path / "c.yaml", "db:\n  url: ${sealed:vault:kv/app#x}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(Settings, sections={"db": DbSettings}, files=[config], environ={})
    assert "no resolver named 'sealed' is registered" in caught.value.problems[0].message


def test_resolver_names_are_checked() -> None:
    """Names must be lowercase identifiers and unique."""
    with pytest.raises(ValueError, match="must match"):
        register_resolver("Secret", str)
    unregister = register_resolver("echo", str)
    try:
        with pytest.raises(ValueError, match="already registered"):
            register_resolver("echo", str)
    finally:
        unregister()
