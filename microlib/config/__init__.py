"""microlib.config: typed settings loaded from defaults, files, env and flags."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, create_model

from microlib.config.model import Settings

__all__ = ["LoadedConfig", "Settings", "load_config"]


@dataclass(frozen=True)
class LoadedConfig:
    """The effective configuration."""

    settings: Settings


def load_config(
    model: type[Settings] = Settings,
    *,
    sections: Mapping[str, type[BaseModel]] | None = None,
    files: Sequence[Path] = (),
    overrides: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
    env_prefix: str = "MICROLIB",
) -> LoadedConfig:
    """Load and validate the configuration."""
    fields: dict[str, Any] = {key: (m, m()) for key, m in (sections or {}).items()}
    combined = create_model("Config", __base__=model, **fields)
    data: dict[str, Any] = {}
    env = os.environ if environ is None else environ
    for key, value in env.items():
        if key.startswith(env_prefix + "__"):
            _put(data, key[len(env_prefix) + 2 :].lower().split("__"), value)
    for item in overrides:
        path, _, value = item.partition("=")
        _put(data, path.split("."), value)
    return LoadedConfig(combined.model_validate(data))


def _put(data: dict[str, Any], path: list[str], value: str) -> None:
    for part in path[:-1]:
        data = data.setdefault(part, {})
    data[path[-1]] = yaml.safe_load(value) if value else value
