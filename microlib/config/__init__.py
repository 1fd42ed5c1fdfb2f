"""microlib.config: typed settings from defaults, files, environment and ``--set``.

Precedence, lowest first: model defaults < values in code < config files
(YAML/TOML, later wins) < ``MICROLIB__*`` environment variables <
``--set key=value``. See ``docs/configuration.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from microlib.core._lazy import lazy_exports

if TYPE_CHECKING:
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

# Each name is imported on first use: importing the package loads none of its modules.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "ConfigError": "microlib.config.errors",
        "ConfigSource": "microlib.config.sources",
        "EnvSource": "microlib.config.sources",
        "FileSource": "microlib.config.sources",
        "HealthSettings": "microlib.config.model",
        "HttpSettings": "microlib.config.model",
        "Layer": "microlib.config.sources",
        "Leaf": "microlib.config.sources",
        "LifecycleSettings": "microlib.config.model",
        "LiveConfig": "microlib.config.live",
        "LoadedConfig": "microlib.config.loader",
        "LoggingSettings": "microlib.config.model",
        "MappingSource": "microlib.config.sources",
        "NotSecret": "microlib.config.model",
        "OverrideSource": "microlib.config.sources",
        "Problem": "microlib.config.errors",
        "ReloadResult": "microlib.config.live",
        "Reloadable": "microlib.config.model",
        "Resolver": "microlib.config.resolvers",
        "Section": "microlib.config.model",
        "ServiceSettings": "microlib.config.model",
        "Settings": "microlib.config.model",
        "ShutdownSettings": "microlib.config.model",
        "Subscriber": "microlib.config.live",
        "TlsSettings": "microlib.config.model",
        "changed_paths": "microlib.config.live",
        "load_config": "microlib.config.loader",
        "load_sources": "microlib.config.loader",
        "read_jwks": "microlib.config.jwks",
        "register_resolver": "microlib.config.resolvers",
        "standard_sources": "microlib.config.loader",
    },
)
