"""Loading: precedence of the four sources, origins, env and --set value parsing, merging."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from microlib.config import ConfigError, Section, Settings, load_config


class AppSettings(Section):
    """A user section."""

    greeting: str = "hello"
    hosts: list[str] = []
    retries: int = 3


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


class TestPrecedence:
    def test_each_source_overrides_the_one_below(self, tmp_path: Path) -> None:
        """defaults < file 1 < file 2 < env < --set, each key taking the highest source that sets it."""
        base = write(
            tmp_path / "base.yaml",
            "http:\n  port: 9000\n  host: 127.0.0.1\n  backlog: 10\n  keepalive_timeout: 7\n",
        )
        prod = write(tmp_path / "prod.toml", "[http]\nport = 9001\nbacklog = 20\n")
        environ = {"MICROLIB__HTTP__PORT": "9002", "MICROLIB__HTTP__BACKLOG": "30"}
        loaded = load_config(Settings, files=[base, prod], environ=environ, overrides=["http.port=9003"])

        http = loaded.settings.http
        assert (http.port, http.backlog, http.host, http.keepalive_timeout, http.limit_concurrency) == (
            9003,
            30,
            "127.0.0.1",
            7.0,
            None,
        )
        assert loaded.origin("http.port") == "--set http.port=..."
        assert loaded.origin("http.backlog") == "env MICROLIB__HTTP__BACKLOG"
        assert loaded.origin("http.host") == f"{base}:3"
        assert loaded.origin("http.keepalive_timeout") == f"{base}:5"
        assert loaded.origin("http.limit_concurrency") == "default"

    def test_later_file_wins_and_mappings_merge_deeply(self, tmp_path: Path) -> None:
        """Two files: keys merge inside a mapping; a list from the later file replaces the earlier one."""
        first = write(tmp_path / "a.yaml", "app:\n  greeting: hi\n  hosts: [a, b]\nfeatures:\n  x: true\n")
        second = write(tmp_path / "b.yaml", "app:\n  hosts: [c]\nfeatures:\n  y: false\n")
        loaded = load_config(Settings, sections={"app": AppSettings}, files=[first, second], environ={})

        assert loaded.settings.app.greeting == "hi"  # type: ignore[attr-defined]
        assert loaded.settings.app.hosts == ["c"]  # type: ignore[attr-defined]
        assert loaded.settings.features == {"x": True, "y": False}
        assert loaded.origin("app.hosts") == f"{second}:2"
        assert loaded.origin("app.hosts[0]") == f"{second}:2"

    def test_an_explicit_empty_mapping_replaces_the_one_below(self, tmp_path: Path) -> None:
        """`features: {}` in a later file clears the features of an earlier one."""
        first = write(tmp_path / "a.yaml", "features:\n  x: true\n")
        second = write(tmp_path / "b.yaml", "features: {}\n")
        loaded = load_config(Settings, files=[first, second], environ={})
        assert loaded.settings.features == {}
        assert loaded.origin("features") == f"{second}:1"

    def test_values_in_code_sit_between_defaults_and_files(self, tmp_path: Path) -> None:
        """`values=` overrides the model defaults and is overridden by a file."""
        config = write(tmp_path / "c.yaml", "service:\n  version: 2.0.0\n")
        loaded = load_config(
            Settings,
            files=[config],
            environ={},
            values={"service": {"name": "orders", "version": "1.0.0"}},
        )
        assert loaded.settings.service.name == "orders"
        assert loaded.settings.service.version == "2.0.0"
        assert loaded.origin("service.name") == "code"


class TestEnvironment:
    def test_values_are_read_as_yaml_scalars(self) -> None:
        """`8081` is an int, `true` a bool, `[a,b]` a list, `{k: v}` a mapping."""
        environ = {
            "MICROLIB__HTTP__PORT": "8081",
            "MICROLIB__HTTP__ENABLED": "false",
            "MICROLIB__HEALTH__GROUPS": "{readiness: [db, cache]}",
            "MICROLIB__APP__HOSTS": "[a,b]",
            "OTHER__HTTP__PORT": "1",
        }
        loaded = load_config(Settings, sections={"app": AppSettings}, environ=environ)
        assert loaded.settings.http.port == 8081
        assert loaded.settings.http.enabled is False
        assert loaded.settings.health.groups == {"readiness": ["db", "cache"]}
        assert loaded.settings.app.hosts == ["a", "b"]  # type: ignore[attr-defined]
        assert loaded.origin("health.groups.readiness") == "env MICROLIB__HEALTH__GROUPS"

    def test_text_that_looks_typed_stays_text_where_a_string_is_wanted(self) -> None:
        """`1.0`, `no`, `#7` or text with ` # ` keep their exact text for a str field."""
        environ = {
            "MICROLIB__SERVICE__VERSION": "1.0",
            "MICROLIB__APP__GREETING": "hi # there: you",
            "MICROLIB__SERVICE__INSTANCE_ID": "#7",
            "MICROLIB__SERVICE__ENVIRONMENT": "no",
        }
        loaded = load_config(Settings, sections={"app": AppSettings}, environ=environ)
        assert loaded.settings.service.version == "1.0"
        assert loaded.settings.service.instance_id == "#7"
        assert loaded.settings.service.environment == "no"
        assert loaded.settings.app.greeting == "hi # there: you"  # type: ignore[attr-defined]

    def test_custom_prefix_and_case(self) -> None:
        """The prefix is configurable; key segments are lowercased."""
        loaded = load_config(Settings, environ={"ORDERS__Http__Port": "1234"}, env_prefix="ORDERS")
        assert loaded.settings.http.port == 1234
        assert loaded.origin("http.port") == "env ORDERS__Http__Port"


class TestOverrides:
    def test_quoted_key_with_dots_and_later_override_wins(self) -> None:
        """`--set logging.levels."uvicorn.access"=DEBUG` sets one key; a repeated --set replaces."""
        loaded = load_config(
            Settings,
            environ={},
            overrides=['logging.levels."uvicorn.access"=DEBUG', "http.port=1", "http.port=2"],
        )
        assert loaded.settings.logging.levels == {"uvicorn.access": "DEBUG"}
        assert loaded.settings.http.port == 2

    def test_malformed_override_is_reported(self) -> None:
        """An override without `=` is a problem naming it."""
        with pytest.raises(ConfigError) as caught:
            load_config(Settings, environ={}, overrides=["http.port"])
        assert [p.rule for p in caught.value.problems] == ["override_syntax"]
        assert "--set http.port" in str(caught.value)


class TestSections:
    def test_sections_are_frozen_even_if_declared_mutable(self) -> None:
        """A plain BaseModel section is frozen so every snapshot is immutable."""

        class Plain(BaseModel):
            limit: int = 1

        loaded = load_config(Settings, sections={"plain": Plain}, environ={})
        section = loaded.settings.plain  # type: ignore[attr-defined]
        assert isinstance(section, Plain)
        with pytest.raises(ValueError, match="frozen"):
            section.limit = 2

    def test_a_section_with_required_fields_must_be_configured(self) -> None:
        """A user section with a required field is itself required."""

        class Needs(Section):
            url: str

        with pytest.raises(ConfigError) as caught:
            load_config(Settings, sections={"db": Needs}, environ={})
        (problem,) = caught.value.problems
        assert (problem.path, problem.rule, problem.source) == ("db", "missing", "not set")
        with pytest.raises(ConfigError) as caught:
            load_config(Settings, sections={"db": Needs}, environ={"MICROLIB__DB__URI": "x"})
        assert {(p.path, p.rule) for p in caught.value.problems} == {
            ("db.uri", "unknown_key"),
            ("db.url", "missing"),
        }

    def test_a_section_key_may_not_shadow_a_framework_section(self) -> None:
        """Registering a user section called `http` is a programming error."""
        with pytest.raises(ValueError, match="http"):
            load_config(Settings, sections={"http": AppSettings}, environ={})


def test_a_single_string_is_not_mistaken_for_a_list_of_files() -> None:
    """`files="a.yaml"` would otherwise be read as files "a", ".", "y"..."""
    with pytest.raises(TypeError, match="files must be a sequence"):
        load_config(Settings, files="service.yaml", environ={})
