"""Typed settings for the framework's own sections.

Every field can be set from a config file, an environment variable
(``MICROLIB__HTTP__PORT``) or the command line (``--set http.port=8081``).
Fields annotated with :class:`Reloadable` are applied on a hot reload; a
change to any other field is reported as "restart required".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

__all__ = [
    "AwsSecretsSettings",
    "CacheSettings",
    "DatabaseSettings",
    "GrpcKeepaliveSettings",
    "GrpcSettings",
    "GrpcTlsSettings",
    "HealthSettings",
    "HttpSettings",
    "IssuerSettings",
    "LifecycleSettings",
    "LogAdminSettings",
    "LoggingSettings",
    "MethodRule",
    "MetricsSettings",
    "OpaSettings",
    "Reloadable",
    "SecretsSettings",
    "SecuritySettings",
    "ServiceSettings",
    "Settings",
    "ShutdownSettings",
    "TracingSettings",
    "VaultSettings",
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


class DatabaseSettings(Section):
    """The ``database`` section: one SQL database chosen by its URL.

    Args:
        url: ``sqlite+aiosqlite:///./var/app.db`` (embedded),
            ``postgresql+asyncpg://user@host/db`` (production), or None for
            a service without a database.
        pool_size: Connections kept open (PostgreSQL).
        max_overflow: Extra connections opened under load, closed when idle.
        pool_timeout: Seconds to wait for a free connection before
            ``Unavailable``.
        pool_recycle: Seconds after which a connection is replaced.
        pool_pre_ping: Test each connection as it leaves the pool, so a
            restarted server is recovered from without a restart.
        statement_timeout: Seconds a statement may run (PostgreSQL), or None.
        connect_timeout: Seconds to establish one connection.
        connect_retries: Attempts to reach the database at startup.
        connect_backoff: First pause between attempts, doubled each time.
        connect_backoff_max: Longest pause between attempts.
        check_timeout: Seconds the health check's ``SELECT 1`` may take.
        migrate_on_start: Upgrade to the newest revision while starting.
        migrations: Directory holding the revision scripts.
        migrate_lock_timeout: Seconds a replica waits for another one's
            migration to finish.
        seed: ``module:function`` run by ``microlib db seed``.
        echo: Log every statement (development only).
    """

    url: str | None = "sqlite+aiosqlite:///./var/app.db"
    pool_size: int = Field(default=10, ge=1)
    max_overflow: int = Field(default=10, ge=0)
    pool_timeout: float = Field(default=10.0, gt=0)
    pool_recycle: float = Field(default=1800.0, gt=0)
    pool_pre_ping: bool = True
    statement_timeout: float | None = Field(default=30.0, gt=0)
    connect_timeout: float = Field(default=5.0, gt=0)
    connect_retries: int = Field(default=5, ge=1)
    connect_backoff: float = Field(default=0.5, gt=0)
    connect_backoff_max: float = Field(default=8.0, gt=0)
    check_timeout: float = Field(default=2.0, gt=0)
    migrate_on_start: bool = False
    migrations: str = "migrations"
    migrate_lock_timeout: float = Field(default=300.0, gt=0)
    seed: str | None = None
    echo: bool = False


class CacheSettings(Section):
    """The ``cache`` section: an in-memory LRU or a Redis server.

    Args:
        url: ``memory://`` (embedded, per process) or
            ``redis://host:6379/0`` (shared by every replica).
        namespace: Key prefix, normally the service name; None uses the
            service's name.
        version: Second key prefix: bump it to abandon every cached entry
            after a change of the cached types.
        max_entries: Bound of the in-memory LRU.
        default_ttl: Seconds an entry lives when no TTL is given; None
            means until evicted.
        max_connections: Redis connection pool bound.
        socket_timeout: Seconds a Redis command may take.
        connect_timeout: Seconds to connect to Redis.
        retries: Retries of a Redis command after a connection error.
        lock_ttl: Seconds the cache-aside lock is held at most while a
            loader runs.
    """

    url: str = "memory://"
    namespace: str | None = None
    version: str = Field(default="1", pattern=r"^[A-Za-z0-9_.-]+$")
    max_entries: int = Field(default=10_000, ge=1)
    default_ttl: float | None = Field(default=300.0, gt=0)
    max_connections: int = Field(default=50, ge=1)
    socket_timeout: float = Field(default=1.0, gt=0)
    connect_timeout: float = Field(default=1.0, gt=0)
    retries: int = Field(default=2, ge=0)
    lock_ttl: float = Field(default=10.0, gt=0)


_DEFAULT_PUBLIC_PATHS = ["/health", "/health/*", "/metrics", "/docs", "/docs/*", "/openapi.json"]
_DEFAULT_PUBLIC_METHODS = [
    "grpc.health.v1.Health/*",
    "grpc.reflection.v1.ServerReflection/*",
    "grpc.reflection.v1alpha.ServerReflection/*",
]


class IssuerSettings(Section):
    """One trusted token issuer; exactly one of the key sources is set.

    ``discovery_url`` reads ``jwks_uri`` from the OIDC discovery document;
    ``jwks_url`` names the key set directly; ``keys`` holds static JWKs (no
    network, for tests and air-gapped services).
    """

    issuer: str = Field(min_length=1)
    discovery_url: str | None = None
    jwks_url: str | None = None
    keys: list[dict[str, Any]] = Field(default_factory=list)
    audiences: list[str] = Field(min_length=1)
    algorithms: list[str] = Field(default_factory=lambda: ["RS256", "ES256"], min_length=1)
    leeway: float = Field(default=30.0, ge=0)
    max_token_size: int = Field(default=8192, ge=64)
    require: list[str] = Field(default_factory=lambda: ["exp", "iat", "sub"])
    token_types: list[str] = Field(default_factory=list)
    scope_claim: str = "scope"
    roles_claim: str = "roles"
    jwks_cache_ttl: float = Field(default=300.0, gt=0)
    jwks_min_refresh_interval: float = Field(default=30.0, ge=0)
    http_timeout: float = Field(default=5.0, gt=0)

    @model_validator(mode="after")
    def _one_key_source(self) -> IssuerSettings:
        sources = [n for n in ("discovery_url", "jwks_url", "keys") if getattr(self, n)]
        if len(sources) != 1:
            raise ValueError(
                f"issuer {self.issuer!r}: set exactly one of discovery_url, jwks_url, keys "
                f"(got {sources or 'none'})"
            )
        if "none" in (a.lower() for a in self.algorithms):
            raise ValueError(f"issuer {self.issuer!r}: algorithm 'none' is never accepted")
        return self


class MethodRule(Section):
    """A requirement set in config for methods matching a pattern.

    Config rules take precedence over the contract, so operators can tighten
    (or open) a method without a new release.
    """

    public: bool = False
    scopes: list[str] = Field(default_factory=list)
    roles: list[str] = Field(default_factory=list)


class OpaSettings(Section):
    """Open Policy Agent: a decision API URL or local Rego policy files."""

    url: str | None = None
    policy_files: list[str] = Field(default_factory=list)
    query: str = "data.microlib.authz.allow"
    cache_ttl: float = Field(default=5.0, ge=0)
    cache_size: int = Field(default=10_000, ge=0)
    timeout: float = Field(default=2.0, gt=0)

    @model_validator(mode="after")
    def _one_engine(self) -> OpaSettings:
        if bool(self.url) == bool(self.policy_files):
            raise ValueError("security.opa: set exactly one of url, policy_files")
        return self


class SecuritySettings(Section):
    """Authentication and authorization for every transport (key ``security``)."""

    enabled: bool = True
    issuers: list[IssuerSettings] = Field(default_factory=list)
    public_paths: Annotated[list[str], Reloadable()] = Field(
        default_factory=lambda: list(_DEFAULT_PUBLIC_PATHS)
    )
    public_methods: Annotated[list[str], Reloadable()] = Field(
        default_factory=lambda: list(_DEFAULT_PUBLIC_METHODS)
    )
    methods: Annotated[dict[str, MethodRule], Reloadable()] = Field(default_factory=dict)
    deny_by_default: bool = False
    verify_cache_size: int = Field(default=4096, ge=0)
    verify_cache_ttl: float = Field(default=60.0, ge=0)
    realm: str = ""
    opa: OpaSettings | None = None


class VaultSettings(Section):
    """HashiCorp Vault KV v2; the token may come from a file (agent sink)."""

    url: str
    token: SecretStr | None = None
    token_file: str | None = None
    namespace: str | None = None
    timeout: float = Field(default=5.0, gt=0)
    verify: bool | str = True


class AwsSecretsSettings(Section):
    """AWS Secrets Manager; credentials come from boto3's default chain."""

    region: str | None = None
    endpoint_url: str | None = None


class SecretsSettings(Section):
    """Secret stores and caching (key ``secrets``)."""

    cache_ttl: float = Field(default=300.0, ge=0)
    refresh_interval: float = Field(default=60.0, gt=0)
    file_root: str = "/"
    vault: VaultSettings | None = None
    aws: AwsSecretsSettings | None = None


class GrpcTlsSettings(Section):
    """Server TLS, and mutual TLS when ``client_ca_file`` is set.

    Args:
        cert_file: PEM certificate chain the server presents.
        key_file: PEM private key of that certificate.
        client_ca_file: PEM CA bundle client certificates must chain to;
            setting it turns on mutual TLS.
        require_client_cert: With ``client_ca_file``, whether a client
            without a certificate is refused (True) or let through (False).
    """

    cert_file: Path
    key_file: Path
    client_ca_file: Path | None = None
    require_client_cert: bool = True


class GrpcKeepaliveSettings(Section):
    """HTTP/2 keepalive and connection age, in seconds.

    Args:
        time: Interval between server keepalive pings on an idle connection.
        timeout: How long a ping may go unanswered before the connection
            is closed.
        permit_without_calls: Whether clients may ping without active calls.
        min_ping_interval: The shortest interval between client pings the
            server accepts before it answers with GOAWAY.
        max_connection_idle: Close a connection idle this long (None: never).
        max_connection_age: Close a connection after this long, so clients
            rebalance (None: never).
        max_connection_age_grace: Time in-flight calls get after the above.
    """

    time: float = Field(default=7200.0, gt=0)
    timeout: float = Field(default=20.0, gt=0)
    permit_without_calls: bool = False
    min_ping_interval: float = Field(default=300.0, gt=0)
    max_connection_idle: float | None = Field(default=None, gt=0)
    max_connection_age: float | None = Field(default=None, gt=0)
    max_connection_age_grace: float | None = Field(default=None, gt=0)


class GrpcSettings(Section):
    """The gRPC server (key ``grpc``).

    Args:
        enabled: Whether the service serves gRPC at all.
        host: The interface to bind (``0.0.0.0``, ``::``, ``127.0.0.1``).
        port: The port; 0 picks a free one (tests).
        tls: TLS and mutual TLS; plaintext when absent.
        max_receive_message_bytes: Larger requests get RESOURCE_EXHAUSTED.
        max_send_message_bytes: Larger responses fail with RESOURCE_EXHAUSTED.
        keepalive: Keepalive pings and connection age.
        max_concurrent_rpcs: RPCs beyond this many in flight are refused
            with RESOURCE_EXHAUSTED (None: no limit).
        reuse_port: Let several processes bind the same port
            (``SO_REUSEPORT``); off, so a busy port is an error.
        grace_period: Seconds in-flight calls get when the server stops
            outside the drain choreography.
        reflection: Serve server reflection (v1 and v1alpha).
        health_service: Serve ``grpc.health.v1.Health``.
        health_watch_interval: Seconds between readiness checks for each
            open ``Health/Watch`` stream.
    """

    enabled: bool = True
    host: str = "0.0.0.0"
    port: int = Field(default=50051, ge=0, le=65535)
    tls: GrpcTlsSettings | None = None
    max_receive_message_bytes: int = Field(default=4 * 1024 * 1024, ge=1)
    max_send_message_bytes: int = Field(default=4 * 1024 * 1024, ge=1)
    keepalive: GrpcKeepaliveSettings = GrpcKeepaliveSettings()
    max_concurrent_rpcs: int | None = Field(default=None, ge=1)
    reuse_port: bool = False
    grace_period: float = Field(default=10.0, ge=0)
    reflection: bool = True
    health_service: bool = True
    health_watch_interval: float = Field(default=1.0, gt=0)

    @model_validator(mode="after")
    def _host_is_bare(self) -> GrpcSettings:
        if self.host.startswith("[") or not self.host:
            raise ValueError(f"grpc.host must be a bare host or address without brackets, got {self.host!r}")
        return self

    @property
    def address(self) -> str:
        """``host:port`` as grpc expects it, with IPv6 hosts bracketed."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def channel_options(self) -> list[tuple[str, int]]:
        """The grpc core channel arguments these settings stand for."""
        ka = self.keepalive
        options = [
            ("grpc.max_receive_message_length", self.max_receive_message_bytes),
            ("grpc.max_send_message_length", self.max_send_message_bytes),
            ("grpc.so_reuseport", int(self.reuse_port)),
            ("grpc.keepalive_time_ms", int(ka.time * 1000)),
            ("grpc.keepalive_timeout_ms", int(ka.timeout * 1000)),
            ("grpc.keepalive_permit_without_calls", int(ka.permit_without_calls)),
            ("grpc.http2.min_recv_ping_interval_without_data_ms", int(ka.min_ping_interval * 1000)),
            ("grpc.http2.min_ping_interval_without_data_ms", int(ka.min_ping_interval * 1000)),
        ]
        for key, value in (
            ("grpc.max_connection_idle_ms", ka.max_connection_idle),
            ("grpc.max_connection_age_ms", ka.max_connection_age),
            ("grpc.max_connection_age_grace_ms", ka.max_connection_age_grace),
        ):
            if value is not None:
                options.append((key, int(value * 1000)))
        return options


class Settings(Section):
    """The whole configuration; user sections are added as extra fields."""

    service: ServiceSettings = ServiceSettings()
    http: HttpSettings = HttpSettings()
    grpc: GrpcSettings = GrpcSettings()
    lifecycle: LifecycleSettings = LifecycleSettings()
    shutdown: ShutdownSettings = ShutdownSettings()
    health: HealthSettings = HealthSettings()
    logging: LoggingSettings = LoggingSettings()
    metrics: MetricsSettings = MetricsSettings()
    tracing: TracingSettings = TracingSettings()
    features: Annotated[dict[str, bool], Reloadable()] = Field(default_factory=dict)
    database: DatabaseSettings = DatabaseSettings()
    cache: CacheSettings = CacheSettings()
    security: SecuritySettings = SecuritySettings()
    secrets: SecretsSettings = SecretsSettings()
