"""Validation reports every bad key at once, each with its dotted path, source, rule and value."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from microlib.config import ConfigError, Settings, load_config
from microlib.core.errors import Code, InvalidArgument


def problems(error: ConfigError) -> dict[str, tuple[str, str, str | None]]:
    return {p.path: (p.source, p.rule, p.value) for p in error.problems}


def test_every_bad_key_from_every_source_in_one_report(tmp_path: Path) -> None:
    """Bad values in YAML, TOML, env and --set plus typos are all reported together."""
    yaml_file = tmp_path / "base.yaml"
    yaml_file.write_text(
        "http:\n  port: 70000\n  prot: 1\nlogging:\n  level: LOUD\nhtpp: {}\n", encoding="utf-8"
    )
    toml_file = tmp_path / "prod.toml"
    toml_file.write_text(
        '# production\n[shutdown]\ntimeout = -5\n\n[health]\nshow_details = "sometimes"\n', encoding="utf-8"
    )
    environ = {"MICROLIB__HTTP__BACKLOG": "0", "MICROLIB__LIFECYCLE__START_TIMOUT": "3"}

    with pytest.raises(ConfigError) as caught:
        load_config(
            Settings,
            files=[yaml_file, toml_file],
            environ=environ,
            overrides=["lifecycle.stop_timeout=never"],
        )

    assert problems(caught.value) == {
        "http.port": (f"{yaml_file}:2", "less_than_equal", "70000"),
        "http.prot": (f"{yaml_file}:3", "unknown_key", "1"),
        "logging.level": (f"{yaml_file}:5", "literal_error", "LOUD"),
        "htpp": (f"{yaml_file}:6", "unknown_key", None),
        "shutdown.timeout": (f"{toml_file}:3", "greater_than", "-5"),
        "health.show_details": (f"{toml_file}:6", "literal_error", "sometimes"),
        "http.backlog": ("env MICROLIB__HTTP__BACKLOG", "greater_than_equal", "0"),
        "lifecycle.start_timout": ("env MICROLIB__LIFECYCLE__START_TIMOUT", "unknown_key", "3"),
        "lifecycle.stop_timeout": ("--set lifecycle.stop_timeout=...", "float_parsing", "never"),
    }
    report = str(caught.value)
    assert report.startswith("invalid configuration (9 problems):")
    assert f"http.port = 70000 ({yaml_file}:2): Input should be less than or equal to 65535" in report
    assert "did you mean 'port'?" in report
    assert "did you mean 'http'?" in report
    assert "did you mean 'start_timeout'?" in report


def test_an_unknown_section_is_reported_at_its_own_line(tmp_path: Path) -> None:
    """A misspelt section, a foreign table and a table named by a dotted header are each reported
    at the line of their key, not at that of their first value."""
    yaml_file = tmp_path / "microlib.yaml"
    yaml_file.write_text("htp:\n  port: 8081\n", encoding="utf-8")
    toml_file = tmp_path / "prod.toml"
    toml_file.write_text(
        '# production\n[build-system]\n\nrequires = ["x"]\n\n[loging.levels]\n\nroot = "INFO"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(Settings, files=[yaml_file, toml_file], environ={})
    assert problems(caught.value) == {
        "htp": (f"{yaml_file}:1", "unknown_key", None),
        "build-system": (f"{toml_file}:2", "unknown_key", None),
        "loging": (f"{toml_file}:6", "unknown_key", None),
    }


def test_config_error_is_an_invalid_argument_with_violations(tmp_path: Path) -> None:
    """ConfigError carries the INVALID_ARGUMENT code and one field violation per problem."""
    with pytest.raises(InvalidArgument) as caught:
        load_config(Settings, environ={"MICROLIB__HTTP__PORT": "-1"})
    assert caught.value.code is Code.INVALID_ARGUMENT
    (violation,) = caught.value.violations
    assert violation.field == "http.port"
    assert violation.rule == "greater_than_equal"
    assert "env MICROLIB__HTTP__PORT" in violation.description


def test_bad_key_of_a_mapping_field_suggests_the_allowed_keys(tmp_path: Path) -> None:
    """A misspelt health group is reported at its own path with the allowed names."""
    config = tmp_path / "c.yaml"
    config.write_text("health:\n  groups:\n    readyness: [db]\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(Settings, files=[config], environ={})
    (problem,) = caught.value.problems
    assert problem.path == "health.groups.readyness"
    assert problem.source == f"{config}:3"
    assert "'readiness' or 'liveness'" in problem.message


@pytest.mark.parametrize(
    ("name", "text", "line", "fragment"),
    [
        ("bad.yaml", "http:\n  port: [1\n", 3, "invalid YAML"),
        ("dup.yaml", "http:\n  port: 1\n  port: 2\n", 3, "duplicate key 'port' (first set on line 2)"),
        ("list.yaml", "- a\n- b\n", 1, "top level must be a mapping"),
        ("bad.toml", "[http]\nport = \n", 2, "invalid TOML"),
    ],
)
def test_syntax_errors_name_the_file_and_line(
    tmp_path: Path, name: str, text: str, line: int, fragment: str
) -> None:
    """A file that cannot be parsed is reported with file:line and the parser's reason."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(Settings, files=[path], environ={})
    (problem,) = caught.value.problems
    assert problem.source == f"{path}:{line}"
    assert fragment in problem.message
    assert str(problem) == f"{path}:{line}: {problem.message} [syntax]"


def test_missing_and_unsupported_files_are_reported_with_the_rest(tmp_path: Path) -> None:
    """A missing file and a .ini file are two problems, next to a bad env value."""
    with pytest.raises(ConfigError) as caught:
        load_config(
            Settings,
            files=[tmp_path / "absent.yaml", tmp_path / "x.ini"],
            environ={"MICROLIB__HTTP__PORT": "x"},
        )
    rules = sorted(p.rule for p in caught.value.problems)
    assert rules == ["file_format", "file_unreadable", "int_parsing"]
    assert "No such file or directory" in str(caught.value)


def test_conflicting_env_variables_are_reported() -> None:
    """`MICROLIB__HTTP=1` and `MICROLIB__HTTP__PORT=2` cannot both hold."""
    with pytest.raises(ConfigError) as caught:
        load_config(Settings, environ={"MICROLIB__HTTP": "1", "MICROLIB__HTTP__PORT": "2"})
    conflict = next(p for p in caught.value.problems if p.rule == "conflict")
    assert conflict.source == "env MICROLIB__HTTP__PORT"
    assert "conflicts with http set by env MICROLIB__HTTP" in conflict.message


class _App(BaseModel):
    timeout: int = 1


def test_a_variable_with_one_underscore_after_the_prefix_is_reported_not_ignored() -> None:
    """`MICROLIB_HTTP_PORT` would leave http.port at its default in production, silently."""
    with pytest.raises(ConfigError) as caught:
        load_config(
            Settings,
            sections={"app": _App},
            environ={
                "MICROLIB_HTTP_PORT": "9000",
                "MICROLIB_HTTP_MIDDLEWARE__CORS__ENABLED": "true",
                "MICROLIB_APP__TIMEOUT": "3",
                "MICROLIB_TEST_KAFKA": "not a setting: its first word names no section",
            },
        )
    assert [(p.source, p.rule, p.message) for p in caught.value.problems] == [
        (
            "env MICROLIB_APP__TIMEOUT",
            "env_name",
            "not read: one underscore after MICROLIB_; did you mean MICROLIB__APP__TIMEOUT?",
        ),
        (
            "env MICROLIB_HTTP_MIDDLEWARE__CORS__ENABLED",
            "env_name",
            "not read: one underscore after MICROLIB_; "
            "did you mean MICROLIB__HTTP_MIDDLEWARE__CORS__ENABLED?",
        ),
        (
            "env MICROLIB_HTTP_PORT",
            "env_name",
            "not read: one underscore after MICROLIB_; did you mean MICROLIB__HTTP__PORT?",
        ),
    ]


def test_a_variable_whose_prefix_is_not_in_capitals_is_reported_not_ignored() -> None:
    """Environment names are case-sensitive: `microlib__http__port` is not read."""
    with pytest.raises(ConfigError) as caught:
        load_config(
            Settings,
            environ={"microlib__http__port": "9000", "Microlib__nothing__here": "names no section"},
        )
    assert [(p.source, p.rule, p.message) for p in caught.value.problems] == [
        (
            "env microlib__http__port",
            "env_name",
            "not read: the prefix is MICROLIB__ in capitals; did you mean MICROLIB__HTTP__PORT?",
        ),
    ]


def test_a_section_a_validator_refuses_names_where_its_values_were_set(tmp_path: Path) -> None:
    """A problem a section's own validator finds (a jobs.url that needs jobs.store) points at
    where the section's values came from, not at ``default``."""
    config = tmp_path / "jobs.yaml"
    config.write_text("jobs:\n  concurrency: 4\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(Settings, files=[config], overrides=["jobs.url=amqp://guest:guest@rabbit:5672/"])
    [problem] = caught.value.problems
    assert (problem.path, problem.rule) == ("jobs", "value_error")
    assert problem.source == f"{config}:2, --set jobs.url=..."
