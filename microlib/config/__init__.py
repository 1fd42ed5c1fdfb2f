"""microlib.config: typed settings from defaults, files, environment and ``--set``.

Precedence, lowest first: model defaults < values in code < config files
(YAML/TOML, later wins) < ``MICROLIB__*`` environment variables <
``--set key=value``. See ``docs/configuration.md``.
"""

from __future__ import annotations

from microlib.config.errors import ConfigError, Problem
from microlib.config.jwks import read_jwks
from microlib.config.live import LiveConfig, ReloadResult, Subscriber, changed_paths
from microlib.config.loader import LoadedConfig, load_config, load_sources, standard_sources
from microlib.config.model import (
    HealthSettings,
    HttpSettings,
    LifecycleSettings,
    LoggingSettings,
    NotSecret,
    Reloadable,
    Section,
    ServiceSettings,
    Settings,
    ShutdownSettings,
    TlsSettings,
)
from microlib.config.resolvers import Resolver, register_resolver
from microlib.config.sources import (
    ConfigSource,
    EnvSource,
    FileSource,
    Layer,
    Leaf,
    MappingSource,
    OverrideSource,
)

__all__ = [
    "ConfigError",
    "ConfigSource",
    "EnvSource",
    "FileSource",
    "HealthSettings",
    "HttpSettings",
    "Layer",
    "Leaf",
    "LifecycleSettings",
    "LiveConfig",
    "LoadedConfig",
    "LoggingSettings",
    "MappingSource",
    "NotSecret",
    "OverrideSource",
    "Problem",
    "ReloadResult",
    "Reloadable",
    "Resolver",
    "Section",
    "ServiceSettings",
    "Settings",
    "ShutdownSettings",
    "Subscriber",
    "TlsSettings",
    "changed_paths",
    "load_config",
    "load_sources",
    "read_jwks",
    "register_resolver",
    "standard_sources",
]
