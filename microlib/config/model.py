"""Typed settings for the framework's own sections.

Every field can be set from a config file, an environment variable
(``MICROLIB__HTTP__PORT``) or the command line (``--set http.port=8081``).
Fields annotated with :class:`Reloadable` are applied on a hot reload; a
change to any other field is reported as "restart required".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "HealthSettings",
    "HttpSettings",
    "LifecycleSettings",
    "LogAdminSettings",
    "LoggingSettings",
    "MetricsSettings",
    "Reloadable",
    "ServiceSettings",
    "Settings",
    "ShutdownSettings",
    "TracingSettings",
]


@dataclass(frozen=True, slots=True)
class Reloadable:
    """Marks a field as safe to change while the service runs.

    Use it as ``Annotated[int, Reloadable()]``.
    """


class Section(BaseModel):
    """Base of every settings section: unknown keys are errors, values frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ServiceSettings(Section):
    """Who this instance is; the values default to the ``Service`` arguments."""

    name: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9-]{0,62}$")
    version: str | None = None
    environment: str = "development"
    instance_id: str | None = None


class HttpSettings(Section):
    """The HTTP server (uvicorn in the service's own event loop)."""

    enabled: bool = True
    host: str = "0.0.0.0"
    port: int = Field(default=8080, ge=0, le=65535)
    backlog: int = Field(default=2048, ge=1)
    keepalive_timeout: float = Field(default=5.0, gt=0)
    limit_concurrency: int | None = Field(default=None, ge=1)


class LifecycleSettings(Section):
    """Bounds on each component's start and stop."""

    start_timeout: float = Field(default=30.0, gt=0)
    stop_timeout: float = Field(default=10.0, gt=0)


class ShutdownSettings(Section):
    """The graceful shutdown choreography, bounded as a whole by ``timeout``."""

    timeout: float = Field(default=30.0, gt=0)
    drain_delay: float = Field(default=0.0, ge=0)
    drain_timeout: float = Field(default=20.0, gt=0)
    hook_timeout: float = Field(default=5.0, gt=0)


class HealthSettings(Section):
    """Probes: check bounds, cache, detail visibility and groups."""

    path: str = "/health"
    check_timeout: float = Field(default=2.0, gt=0)
    cache_ttl: float = Field(default=1.0, ge=0)
    show_details: Literal["always", "never"] = "always"
    groups: dict[Literal["readiness", "liveness"], list[str]] = Field(default_factory=dict)


_LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class LogAdminSettings(Section):
    """The runtime log-level endpoint: off by default, since it changes behaviour."""

    enabled: bool = False
    path: str = "/admin/loggers"


class LoggingSettings(Section):
    """Logs: level per logger (applied on reload), format, redaction, access log.

    ``format: auto`` writes readable console lines in the ``development``
    environment when stderr is a terminal, JSON lines otherwise.
    """

    level: Annotated[_LogLevel, Reloadable()] = "INFO"
    levels: Annotated[dict[str, _LogLevel], Reloadable()] = Field(default_factory=dict)
    format: Literal["auto", "json", "console"] = "auto"
    access_log: Annotated[bool, Reloadable()] = True
    redact_keys: list[str] = Field(default_factory=list)
    admin: LogAdminSettings = LogAdminSettings()


class MetricsSettings(Section):
    """Prometheus metrics and their ``/metrics`` endpoint.

    ``port`` serves ``/metrics`` on a separate management port (``0`` picks a
    free one) instead of the service's HTTP port.
    """

    enabled: bool = True
    path: str = "/metrics"
    host: str = "0.0.0.0"
    port: int | None = Field(default=None, ge=0, le=65535)
    process_metrics: bool = True
    duration_buckets: list[float] = Field(
        default_factory=lambda: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]
    )


class TracingSettings(Section):
    """OpenTelemetry traces: sampler, exporter and resource attributes."""

    enabled: bool = True
    exporter: Literal["none", "console", "otlp-grpc", "otlp-http"] = "none"
    endpoint: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: float = Field(default=10.0, gt=0)
    sample_ratio: float = Field(default=1.0, ge=0.0, le=1.0)
    resource_attributes: dict[str, str] = Field(default_factory=dict)
    max_queue_size: int = Field(default=2048, ge=1)
    max_export_batch_size: int = Field(default=512, ge=1)
    schedule_delay: float = Field(default=5.0, gt=0)


class Settings(Section):
    """The whole configuration; user sections are added as extra fields."""

    service: ServiceSettings = ServiceSettings()
    http: HttpSettings = HttpSettings()
    lifecycle: LifecycleSettings = LifecycleSettings()
    shutdown: ShutdownSettings = ShutdownSettings()
    health: HealthSettings = HealthSettings()
    logging: LoggingSettings = LoggingSettings()
    metrics: MetricsSettings = MetricsSettings()
    tracing: TracingSettings = TracingSettings()
    features: Annotated[dict[str, bool], Reloadable()] = Field(default_factory=dict)
