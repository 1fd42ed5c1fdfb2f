"""Secrets are masked in the rendered configuration and in error reports."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pytest
import yaml
from pydantic import Field, SecretStr

from microlib.config import ConfigError, NotSecret, Section, Settings, load_config


class ApiSettings(Section):
    """A user section mixing secrets and plain values."""

    signing: SecretStr = SecretStr("default-signing")
    api_key: str = "k-123"
    client_token: str = "t-456"
    token_ttl: int = 300
    password_min_length: int = Field(default=8, ge=8)
    endpoint: str = "https://example.test"


def test_render_masks_secret_types_and_secret_names() -> None:
    """SecretStr and keys named like key/token/password are masked; numbers and plain keys are not."""
    loaded = load_config(Settings, sections={"api": ApiSettings}, environ={})
    text = loaded.render()
    assert "default-signing" not in text
    assert "k-123" not in text
    assert "t-456" not in text
    assert "signing: '**********'" in text
    assert "token_ttl: 300" in text
    assert "endpoint: https://example.test" in text


class Marked(Section):
    """Names that read like secrets; the marker says which are not."""

    redact_keys: Annotated[list[str], NotSecret()] = ["card_number"]
    public_key: Annotated[SecretStr, NotSecret()] = SecretStr("still-secret")
    api_keys: list[str] = ["k-789"]


def test_a_field_marked_not_secret_is_shown_under_a_secret_like_name() -> None:
    """`logging.redact_keys` lists field names: shown, while unmarked `*_keys` and SecretStr stay masked."""
    text = load_config(Settings, sections={"marked": Marked}, environ={}).render()
    assert "redact_keys: [card_number]" in text
    assert "still-secret" not in text
    assert "k-789" not in text
    assert (
        "card_number"
        in load_config(Settings, environ={}, overrides=["logging.redact_keys=[card_number]"]).render()
    )


def test_render_unmasked_reveals_values() -> None:
    """`render(masked=False)` shows the real values, secrets included."""
    loaded = load_config(Settings, sections={"api": ApiSettings}, environ={})
    text = loaded.render(masked=False)
    assert "signing: default-signing" in text
    assert "api_key: k-123" in text


def test_invalid_secret_value_is_masked_in_the_report(tmp_path: Path) -> None:
    """A bad value under a secret name is reported without its text."""
    config = tmp_path / "c.yaml"
    config.write_text("api:\n  api_key: [not, a, string]\n  signing: 12\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(
            Settings,
            sections={"api": ApiSettings},
            files=[config],
            environ={"MICROLIB__API__PASSWORD_MIN_LENGTH": "4"},
        )
    report = str(caught.value)
    assert "not, a, string" not in report
    found = {p.path: p.value for p in caught.value.problems}
    assert found == {"api.api_key": "**********", "api.signing": "**********", "api.password_min_length": "4"}


def test_render_lists_each_value_with_its_source(tmp_path: Path) -> None:
    """Every leaf line ends with `# <source>`."""
    config = tmp_path / "c.yaml"
    config.write_text("http:\n  port: 9000\n", encoding="utf-8")
    loaded = load_config(Settings, files=[config], environ={"MICROLIB__LOGGING__LEVEL": "DEBUG"})
    lines = loaded.render().splitlines()
    assert lines[0] == "service:"
    port = next(line for line in lines if line.strip().startswith("port:"))
    assert port.split("#")[0].strip() == "port: 9000"
    assert port.endswith(f"# {config}:2")
    level = next(line for line in lines if line.strip().startswith("level:"))
    assert level.endswith("# env MICROLIB__LOGGING__LEVEL")
    assert all("#" in line for line in lines if not line.endswith(":"))


def test_rendered_config_is_valid_yaml_of_the_effective_values(tmp_path: Path) -> None:
    """`render(masked=False)` parses back to the settings; masked output is valid YAML too."""
    config = tmp_path / "c.yaml"
    config.write_text('logging:\n  levels:\n    "uvicorn.access": WARNING\n', encoding="utf-8")
    loaded = load_config(Settings, sections={"api": ApiSettings}, files=[config], environ={})
    expected = loaded.settings.model_dump(mode="json")
    expected["api"]["signing"] = "default-signing"
    assert yaml.safe_load(loaded.render(masked=False)) == expected
    assert yaml.safe_load(loaded.render())["api"]["signing"] == "**********"


class Backend(Section):
    """A list item holding a secret by name."""

    host: str = "db"
    password: str = "pw"
    replicas: list[dict[str, str]] = Field(default_factory=list)


class ClusterSettings(Section):
    """Secrets under list items, at several depths."""

    backends: list[Backend] = Field(default_factory=list)
    password: str = "top-level-pw"


def test_secrets_under_list_items_are_masked_at_every_depth(tmp_path: Path) -> None:
    """`backends[0].password` and a dict in a list in a dict in a list are masked like top-level names."""
    config = tmp_path / "c.yaml"
    config.write_text(
        "cluster:\n"
        "  backends:\n"
        "    - host: db1\n"
        "      password: hunter2-first\n"
        "      replicas:\n"
        "        - {host: r1, api_token: tok-deep}\n"
        "security:\n"
        "  issuers:\n"
        "    - issuer: https://id.example\n"
        "      audiences: [orders]\n"
        "      keys: [{kty: oct, k: c2lnbmluZy1rZXk}]\n",
        encoding="utf-8",
    )
    loaded = load_config(Settings, sections={"cluster": ClusterSettings}, files=[config], environ={})
    text = loaded.render()
    for secret in ("hunter2-first", "tok-deep", "c2lnbmluZy1rZXk", "top-level-pw"):
        assert secret not in text
    shown = yaml.safe_load(text)
    backend = shown["cluster"]["backends"][0]
    assert backend == {
        "host": "db1",
        "password": "**********",
        "replicas": [{"host": "r1", "api_token": "**********"}],
    }
    assert shown["security"]["issuers"][0]["keys"] == "**********"
    assert shown["security"]["issuers"][0]["audiences"] == ["orders"]
    unmasked = yaml.safe_load(loaded.render(masked=False))
    assert unmasked["cluster"]["backends"][0]["replicas"][0]["api_token"] == "tok-deep"


class TeamSettings(Section):
    """A list of mappings whose values are declared SecretStr."""

    by_team: list[dict[str, SecretStr]] = Field(default_factory=list)


def test_secret_types_in_list_items_are_masked_and_revealed_on_request(tmp_path: Path) -> None:
    """A SecretStr inside a list item is masked, and `render(masked=False)` shows its value."""
    config = tmp_path / "c.yaml"
    config.write_text("teams:\n  by_team:\n    - {ops: s3cr3t-ops}\n", encoding="utf-8")
    loaded = load_config(Settings, sections={"teams": TeamSettings}, files=[config], environ={})
    assert yaml.safe_load(loaded.render())["teams"]["by_team"] == [{"ops": "**********"}]
    assert yaml.safe_load(loaded.render(masked=False))["teams"]["by_team"] == [{"ops": "s3cr3t-ops"}]


def test_invalid_list_is_reported_with_its_secrets_masked(tmp_path: Path) -> None:
    """A mapping given where the list of backends belongs is reported with its password masked."""
    config = tmp_path / "c.yaml"
    config.write_text("cluster:\n  backends: {host: db1, password: hunter2-first}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(Settings, sections={"cluster": ClusterSettings}, files=[config], environ={})
    assert "hunter2-first" not in str(caught.value)
    found = {p.path: p.value for p in caught.value.problems}
    assert found == {"cluster.backends": "{host: db1, password: '**********'}"}


def test_a_password_inside_a_url_is_masked(tmp_path: Path) -> None:
    """A connection URL's password (`postgresql://app:PW@db/shop`) is masked wherever the URL is shown,
    in the rendered configuration and in a problem's report, the rest of the URL left readable."""
    config = tmp_path / "c.yaml"
    config.write_text(
        "database:\n"
        "  url: postgresql+asyncpg://app:pg-s3cret@db:5432/shop\n"
        "cache:\n"
        "  url: redis://:redis-s3cret@cache:6379/0\n"
        "messaging:\n"
        "  url: amqp://guest:amqp-s3cret@rabbit:5672/\n",
        encoding="utf-8",
    )
    loaded = load_config(Settings, files=[config], environ={})
    shown = yaml.safe_load(loaded.render())
    assert shown["database"]["url"] == "postgresql+asyncpg://app:**********@db:5432/shop"
    assert shown["cache"]["url"] == "redis://:**********@cache:6379/0"
    assert shown["messaging"]["url"] == "amqp://guest:**********@rabbit:5672/"
    assert yaml.safe_load(loaded.render(masked=False))["database"]["url"].endswith(":pg-s3cret@db:5432/shop")
    config.write_text("messaging:\n  url: amqps2://guest:amqp-s3cret@rabbit/\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(Settings, files=[config], environ={})
    assert "amqp-s3cret" not in str(caught.value)
    assert "amqps2://guest:**********@rabbit/" in str(caught.value)
