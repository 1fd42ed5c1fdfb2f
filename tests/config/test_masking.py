"""Secrets are masked in the rendered configuration and in error reports."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import Field, SecretStr

from microlib.config import ConfigError, Section, Settings, load_config


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
