"""Typed settings for the framework's own sections.

Every field can be set from a config file, an environment variable
(``MICROLIB__HTTP__PORT``) or the command line (``--set http.port=8081``).
Fields annotated with :class:`Reloadable` are applied on a hot reload; a
change to any other field is reported as "restart required".

Every process imports this module before it is ready, so it is written for a
cheap import: no ``from __future__ import annotations`` (pydantic would compile
and evaluate each of the ~270 field annotations from its text; written plainly
they are objects already), and no builtin as a ``default_factory`` (see
:func:`_no_items`).
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Self, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from microlib.core._json_depth import MAX_JSON_DEPTH

__all__ = [
    "AwsSecretsSettings",
    "CacheSettings",
    "CorsSettings",
    "DatabaseSettings",
    "GrpcKeepaliveSettings",
    "GrpcSettings",
    "GrpcTlsSettings",
    "HealthSettings",
    "HttpMiddlewareSettings",
    "HttpSettings",
    "IdempotencySettings",
    "IssuerSettings",
    "JobsSettings",
    "LifecycleSettings",
    "LogAdminSettings",
    "LoggingSettings",
    "MessagingConsumerSettings",
    "MessagingRetrySettings",
    "MessagingSettings",
    "MethodRule",
    "MetricsSettings",
    "MiddlewareName",
    "OpaSettings",
    "OutboxSettings",
    "Reloadable",
    "SchedulerSettings",
    "SecretsSettings",
    "SecurityHeadersSettings",
    "SecuritySettings",
    "ServiceSettings",
    "Settings",
    "ShutdownSettings",
    "TlsSettings",
    "TracingSettings",
    "TranscodingSettings",
    "VaultSettings",
]


@dataclass(frozen=True, slots=True)
class Reloadable:
    """Marks a field as safe to change while the service runs.

    Use it as ``Annotated[int, Reloadable()]``.
    """


class NotSecret:
    """Marks a field whose name reads like a secret's but whose value is not one.

    ``config show`` and config errors mask text under names such as ``keys``
    or ``token``; ``Annotated[list[str], NotSecret()]`` shows the value
    (``logging.redact_keys`` lists field names, not keys). A ``SecretStr``
    stays masked whatever the marker says.
    """


def _not_below(start: str) -> Any:
    """A validator of a backoff's cap: not below the pause it starts from, ``start``
    (declared before it), which it would otherwise silently overrule."""

    def check(cls: type[BaseModel], value: float, info: ValidationInfo) -> float:
        first = info.data.get(start)
        if first is not None and value < first:
            # Both named: when the cap is left at its default, the report points at the section.
            raise ValueError(f"{info.field_name} ({value:g}) must not be below {start} ({first:g})")
        return value

    return classmethod(check)


class Section(BaseModel):
    """Base of every settings section: unknown keys are errors, values frozen.

    Each section's validator is built when first needed (``defer_build``):
    a service validates its whole settings tree through one model, so
    compiling every section's own validator at import as well would cost
    each process start about as much again.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


S = TypeVar("S", bound=Section)


def _no_items() -> list[Any]:
    """An empty list: the ``default_factory`` of list fields, rather than ``list`` itself.

    pydantic reads each factory's signature (does it take the validated data?),
    and a builtin's only from its text: ``inspect`` tokenizes it, compiling the
    tokenizer's regular expressions once and tokenizing again on each of the
    dozens of reads at import and validation. A Python function's is read directly.
    """
    return []


def _no_entries() -> dict[Any, Any]:
    """An empty dict: the ``default_factory`` of dict fields (see :func:`_no_items`)."""
    return {}


def _defaults(section: type[S]) -> S:
    """``section()``: every field at its default, built without compiling the section's
    validator (:class:`Section`'s ``defer_build``). The defaults are valid values
    (``tests/config`` checks each against the validated ``section()``)."""
    return cast(S, section.model_construct())


class ServiceSettings(Section):
    """Who this instance is; the values default to the ``Service`` arguments."""

    name: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9-]{0,62}$")
    version: str | None = None
    environment: str = "development"
    instance_id: str | None = None


class TlsSettings(Section):
    """Server TLS, and mutual TLS when ``client_ca_file`` is set (``http.tls``, ``grpc.tls``).

    The files are read while the settings are validated: one that cannot be
    read, holds no PEM certificate or key, or a key that does not belong to
    the certificate is a configuration problem naming the key and the file.

    Args:
        cert_file: PEM certificate chain the server presents.
        key_file: Unencrypted PEM private key of that certificate.
        client_ca_file: PEM CA bundle client certificates must chain to;
            setting it turns on mutual TLS.
        require_client_cert: With ``client_ca_file``, whether a client
            without a certificate is refused (True) or let through (False).
            A client that presents a certificate is verified either way.
    """

    cert_file: Path
    key_file: Path
    client_ca_file: Path | None = None
    require_client_cert: bool = True

    @field_validator("cert_file", "client_ca_file")
    @classmethod
    def _holds_certificates(cls, path: Path | None) -> Path | None:
        if path is not None:
            from microlib.config._tls import check_certificates  # only where TLS is configured

            check_certificates(path)
        return path

    @field_validator("key_file")
    @classmethod
    def _holds_the_key(cls, path: Path, info: ValidationInfo) -> Path:
        from microlib.config._tls import check_key

        check_key(path, info.data.get("cert_file"))
        return path


class HttpSettings(Section):
    """The HTTP server (uvicorn in the service's own event loop); ``tls`` turns on HTTPS."""

    enabled: bool = True
    host: str = "0.0.0.0"
    port: int = Field(default=8080, ge=0, le=65535)
    backlog: int = Field(default=2048, ge=1)
    keepalive_timeout: float = Field(default=5.0, gt=0)
    header_timeout: float = Field(
        default=10.0, gt=0, description="seconds a request's head may take to arrive (slowloris); 408 after"
    )
    max_header_bytes: int = Field(
        default=64 * 1024, ge=1024, description="largest request line and headers accepted; 400 beyond"
    )
    limit_concurrency: int | None = Field(default=None, ge=1)
    tls: TlsSettings | None = None


MiddlewareName = Literal["cors", "security_headers", "body_limit", "timeout", "gzip"]
_DEFAULT_ORDER: tuple[MiddlewareName, ...] = ("cors", "security_headers", "body_limit", "timeout", "gzip")


class CorsSettings(Section):
    """Cross-origin requests; off while ``allow_origins`` is empty."""

    allow_origins: list[str] = Field(default_factory=_no_items)
    allow_origin_regex: str | None = None
    allow_methods: list[str] = Field(default_factory=lambda: ["GET", "POST", "PUT", "PATCH", "DELETE"])
    allow_headers: list[str] = Field(default_factory=_no_items)
    allow_credentials: bool = False
    expose_headers: list[str] = Field(default_factory=_no_items)
    max_age: int = Field(default=600, ge=0)


class SecurityHeadersSettings(Section):
    """Headers added to every response (an empty value leaves one out)."""

    content_type_options: str = "nosniff"
    frame_options: str = "DENY"
    referrer_policy: str = "no-referrer"
    content_security_policy: str = ""
    hsts_max_age: int = Field(default=0, ge=0, description="Strict-Transport-Security max-age; 0 is off")


class HttpMiddlewareSettings(Section):
    """The ``http_middleware`` config section."""

    order: list[MiddlewareName] = Field(default_factory=lambda: list(_DEFAULT_ORDER))
    cors: CorsSettings = _defaults(CorsSettings)
    security_headers: SecurityHeadersSettings = _defaults(SecurityHeadersSettings)
    max_body_bytes: int = Field(default=1024 * 1024, ge=0, description="0 disables the limit")
    request_timeout: float = Field(default=30.0, ge=0, description="seconds; 0 disables the timeout")
    gzip_minimum_size: int = Field(default=1024, ge=0)
    gzip_level: int = Field(default=6, ge=1, le=9)


class TranscodingSettings(Section):
    """The ``transcoding`` settings section.

    Args:
        emit_defaults: Write fields that hold their default value.
        unknown_fields: ``reject`` (400 naming the field) or ``ignore``
            unknown JSON fields and query parameters.
        original_names: Write proto field names instead of lowerCamelCase.
        streaming: Framing of server streams when the client does not ask
            for one: ``ndjson`` or ``sse``.
        max_json_depth: The deepest nesting of a JSON body; a deeper one is
            a 400 naming the limit (reason ``JSON_TOO_DEEP``).
        docs: Serve the OpenAPI document ``microlib codegen`` wrote for the
            included servicers' bindings, with its Swagger UI page.
        docs_prefix: Where: ``<docs_prefix>/openapi.json``, ``/openapi.yaml``
            and ``/docs`` (each document under its slugged title when the
            servicers come from several generated packages).
    """

    emit_defaults: bool = False
    unknown_fields: Literal["reject", "ignore"] = "reject"
    original_names: bool = False
    streaming: Literal["ndjson", "sse"] = "ndjson"
    max_json_depth: int = Field(default=MAX_JSON_DEPTH, ge=1)
    docs: bool = True
    docs_prefix: str = Field(default="", pattern=r"^(/[A-Za-z0-9._~-]+)*$")


class LifecycleSettings(Section):
    """Bounds on each component's start and stop; the start-up heap's place in the collector."""

    start_timeout: float = Field(default=30.0, gt=0)
    stop_timeout: float = Field(default=10.0, gt=0)
    freeze_heap: bool = True


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
    groups: dict[Literal["readiness", "liveness"], list[str]] = Field(default_factory=_no_entries)


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
    levels: Annotated[dict[str, _LogLevel], Reloadable()] = Field(default_factory=_no_entries)
    format: Literal["auto", "json", "console"] = "auto"
    access_log: Annotated[bool, Reloadable()] = True
    redact_keys: Annotated[list[str], NotSecret()] = Field(default_factory=_no_items)
    admin: LogAdminSettings = _defaults(LogAdminSettings)


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
    headers: dict[str, str] = Field(default_factory=_no_entries)
    timeout: float = Field(default=10.0, gt=0)
    sample_ratio: float = Field(default=1.0, ge=0.0, le=1.0)
    resource_attributes: dict[str, str] = Field(default_factory=_no_entries)
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
        pool_pre_ping: Test a connection that sat in the pool over a second
            as it leaves it, so a restarted server is recovered from
            without a restart.
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
        echo: Log every statement (development only); bound parameters
            are hidden unless ``log_parameters``.
        log_parameters: Show bound parameters in logged statements and in
            error messages (development only: they hold request data).
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
    connect_backoff_max: float = Field(default=8.0, gt=0, validate_default=True)
    _capped = field_validator("connect_backoff_max")(_not_below("connect_backoff"))
    check_timeout: float = Field(default=2.0, gt=0)
    migrate_on_start: bool = False
    migrations: str = "migrations"
    migrate_lock_timeout: float = Field(default=300.0, gt=0)
    seed: str | None = None
    echo: bool = False
    log_parameters: bool = False


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


_BROKER_SCHEMES = ("memory", "amqp", "amqps", "kafka", "redis", "rediss")


class MessagingRetrySettings(Section):
    """How often and how patiently a failed message is tried again.

    Args:
        max_attempts: Attempts in all, the first included; then the message
            is dead-lettered.
        initial_backoff: Seconds before the second attempt.
        max_backoff: The backoff never grows beyond this.
        multiplier: Growth factor of the backoff between attempts.
        jitter: Fraction of each backoff drawn at random (0 to 1).
    """

    max_attempts: int = Field(default=5, ge=1)
    initial_backoff: float = Field(default=0.2, ge=0)
    max_backoff: float = Field(default=30.0, ge=0, validate_default=True)
    _capped = field_validator("max_backoff")(_not_below("initial_backoff"))
    multiplier: float = Field(default=2.0, ge=1)
    jitter: float = Field(default=0.2, ge=0, le=1)


class MessagingConsumerSettings(Section):
    """Overrides for one receive operation (``messaging.consumers.<operation>``).

    Args:
        retry: Replaces the contract's ``x-microlib-retry`` and ``messaging.retry``.
        prefetch: Replaces ``messaging.prefetch``.
        handler_timeout: Replaces ``messaging.handler_timeout``.
        group: Replaces ``messaging.group``.
        parameters: Values for the channel address's parameters; a
            parameter without one matches any value where the broker can
            (RabbitMQ, Kafka, memory).
    """

    retry: MessagingRetrySettings | None = None
    prefetch: int | None = Field(default=None, ge=1)
    handler_timeout: float | None = Field(default=None, gt=0)
    group: str | None = Field(default=None, min_length=1)
    parameters: dict[str, str] = Field(default_factory=_no_entries)


class OutboxSettings(Section):
    """The transactional outbox (``messaging.outbox``; docs/outbox.md).

    Args:
        enabled: Publish through the outbox: a publish inside a transaction
            of the service's database writes a row in it, and a relay sends
            the committed rows to the broker.
        outside_transaction: What a publish with no transaction open does:
            ``refuse`` (raise ``FailedPrecondition``) or ``direct`` (publish
            to the broker at once, without the outbox's guarantee).
        relay: Run a relay in this instance (several may run at once).
        batch_size: Rows a relay claims at once (at most one per key).
        poll_interval: Seconds between polls when no notification wakes the relay.
        backoff: Seconds the relay waits after a failed round, doubling.
        backoff_max: The backoff never grows beyond this.
        stalled_after: Seconds of failing rounds after which the relay
            reports itself stalled (a metric and a log line; readiness stays).
        retention: Seconds a sent row is kept before the cleanup deletes it.
        cleanup_interval: Seconds between two cleanups.
    """

    enabled: bool = False
    outside_transaction: Literal["refuse", "direct"] = "refuse"
    relay: bool = True
    batch_size: int = Field(default=100, ge=1, le=10000)
    poll_interval: float = Field(default=1.0, gt=0)
    backoff: float = Field(default=0.2, gt=0)
    backoff_max: float = Field(default=30.0, gt=0, validate_default=True)
    _capped = field_validator("backoff_max")(_not_below("backoff"))
    stalled_after: float = Field(default=10.0, ge=0)
    retention: float = Field(default=86400.0, ge=0)
    cleanup_interval: float = Field(default=300.0, gt=0)


class IdempotencySettings(Section):
    """Consumers that skip a message id they already handled (``messaging.idempotency``).

    Args:
        operations: The receive operations that deduplicate (opt in, by name).
        store: Where handled ids are kept: ``memory`` (this process),
            ``cache`` (the service's cache: Redis when ``cache.url`` says so)
            or ``database`` (the service's database, in the handler's own
            transaction when one is open).
        ttl: Seconds a handled id is remembered.
    """

    operations: list[str] = Field(default_factory=_no_items)
    store: Literal["memory", "cache", "database"] = "memory"
    ttl: float = Field(default=7 * 86400.0, gt=0)


class MessagingSettings(Section):
    """The ``messaging`` section: which broker, and how consumers behave.

    Args:
        url: ``memory://`` (embedded), ``amqp://user:pass@host:5672/vhost``
            (RabbitMQ), ``kafka://host:9092[,host:9092]`` or
            ``redis://host:6379/0`` (Redis Streams).
        group: The consumer group (RabbitMQ queue prefix, Kafka group id,
            Redis consumer group); None uses the service's name.
        prefetch: Messages a consumer handles at once.
        handler_timeout: Seconds a handler may run before it is cancelled
            (the attempt fails with DEADLINE_EXCEEDED); None for no limit.
        retry: The retry policy of consumers whose contract declares none.
        consumers: Overrides per receive operation, by operation name.
        connect_timeout: Seconds to connect at start.
        reconnect_backoff: Seconds before the first reconnection attempt.
        reconnect_backoff_max: The reconnection backoff never grows beyond this.
        publish_timeout: Seconds a publish may wait for the broker's confirmation.
        request_timeout: Seconds a request waits for its reply, unless the
            call gives its own ``timeout``.
        lag_interval: Seconds between two samples of each consumer's lag and
            dead letters (the ``microlib_messaging_consumer_lag`` and
            ``messaging_consumer_dead_letters`` gauges); None samples nothing.
        reclaim_idle: Redis: seconds a delivered, unacknowledged entry stays
            with a consumer before another one claims it (XAUTOCLAIM).
        topic_refresh: Kafka: seconds between two looks for new topics
            matching a consumer's pattern (an address with a parameter left
            unresolved): a message to a topic created since waits for the next.
        dead_letter_suffix: Appended to a queue, topic or stream name to
            name its dead-letter destination.
        outbox: The transactional outbox.
        idempotency: Consumers that deduplicate by message id.
        docs: Serve the AsyncAPI documents of the service's consumers and
            publishers over HTTP (``/asyncapi.json``, ``/asyncapi.yaml``,
            the page at ``/asyncapi``).
        docs_prefix: Where they are served (``/events`` serves
            ``/events/asyncapi.json``); with several documents, each is
            under ``<docs_prefix>/<document title, slugged>``.
    """

    url: str = "memory://"
    group: str | None = Field(default=None, min_length=1)
    prefetch: int = Field(default=16, ge=1)
    handler_timeout: float | None = Field(default=None, gt=0)
    retry: MessagingRetrySettings | None = None
    consumers: dict[str, MessagingConsumerSettings] = Field(default_factory=_no_entries)
    connect_timeout: float = Field(default=10.0, gt=0)
    reconnect_backoff: float = Field(default=0.5, gt=0)
    reconnect_backoff_max: float = Field(default=10.0, gt=0, validate_default=True)
    _capped = field_validator("reconnect_backoff_max")(_not_below("reconnect_backoff"))
    publish_timeout: float = Field(default=10.0, gt=0)
    request_timeout: float = Field(default=30.0, gt=0)
    lag_interval: float | None = Field(default=15.0, gt=0)
    reclaim_idle: float = Field(default=60.0, gt=0)
    topic_refresh: float = Field(default=5.0, gt=0)
    dead_letter_suffix: str = Field(default=".dlq", min_length=1)
    outbox: OutboxSettings = Field(default_factory=lambda: _defaults(OutboxSettings))
    idempotency: IdempotencySettings = Field(default_factory=lambda: _defaults(IdempotencySettings))
    docs: bool = True
    docs_prefix: str = Field(default="", pattern=r"^(/[^/]+)*$")

    # A field validator, so the problem names messaging.url and where its value came from.
    @field_validator("url")
    @classmethod
    def _known_scheme(cls, url: str) -> str:
        scheme, separator, _ = url.partition("://")
        if not separator or scheme not in _BROKER_SCHEMES:
            raise PydanticCustomError(
                "broker_url",
                "the scheme must be one of {schemes}",
                {"schemes": ", ".join(f"{s}://" for s in _BROKER_SCHEMES)},
            )
        return url


PRINCIPAL_AUDIENCE = "microlib:principal"
"""The ``aud`` of every principal assertion: never an audience of an API."""

PRINCIPAL_TOKEN_TYPE = "microlib-principal+jwt"
"""The ``typ`` of every principal assertion, so one is never taken for an access token."""

PRINCIPAL_ALGORITHMS = ("EdDSA", "ES256", "RS256")

_DEFAULT_PUBLIC_PATHS = [
    "/health",
    "/health/*",
    "/metrics",
    "/docs",
    "/docs/*",
    "/openapi.json",
    "/openapi.yaml",
    "/asyncapi",
    "/asyncapi/*",
    "/asyncapi.json",
    "/asyncapi.yaml",
]
_DEFAULT_PUBLIC_METHODS = [
    "grpc.health.v1.Health/*",
    "grpc.reflection.v1.ServerReflection/*",
    "grpc.reflection.v1alpha.ServerReflection/*",
]


class IssuerSettings(Section):
    """One trusted token issuer; exactly one of the key sources is set.

    ``discovery_url`` reads ``jwks_uri`` from the OIDC discovery document;
    ``jwks_url`` names the key set directly; ``keys`` holds static JWKs and
    ``jwks_file`` a JSON Web Key Set file (no network, for development,
    tests and air-gapped services; the file is read at load and at start).
    """

    issuer: str = Field(min_length=1)
    discovery_url: str | None = None
    jwks_url: str | None = None
    keys: list[dict[str, Any]] = Field(default_factory=_no_items)
    jwks_file: Path | None = None
    audiences: list[str] = Field(min_length=1)
    algorithms: list[str] = Field(default_factory=lambda: ["RS256", "ES256"], min_length=1)
    leeway: float = Field(default=30.0, ge=0)
    max_token_size: int = Field(default=8192, ge=64)
    require: list[str] = Field(default_factory=lambda: ["exp", "iat", "sub"])
    token_types: list[str] = Field(default_factory=_no_items)
    scope_claim: str = "scope"
    roles_claim: str = "roles"
    jwks_cache_ttl: float = Field(default=300.0, gt=0)
    jwks_min_refresh_interval: float = Field(default=30.0, ge=0)
    http_timeout: float = Field(default=5.0, gt=0)

    @field_validator("jwks_file")
    @classmethod
    def _holds_a_key_set(cls, path: Path | None) -> Path | None:
        if path is not None:
            from microlib.config.jwks import read_jwks  # only where an issuer names a key set file

            read_jwks(path)
        return path

    @model_validator(mode="after")
    def _one_key_source(self) -> Self:
        sources = [n for n in ("discovery_url", "jwks_url", "keys", "jwks_file") if getattr(self, n)]
        if len(sources) != 1:
            raise ValueError(
                f"issuer {self.issuer!r}: set exactly one of discovery_url, jwks_url, keys, jwks_file "
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
    scopes: list[str] = Field(default_factory=_no_items)
    roles: list[str] = Field(default_factory=_no_items)


class OpaSettings(Section):
    """Open Policy Agent: a decision API URL or local Rego policy files.

    ``include_request`` puts the decoded request in the policy input (proto3
    JSON for proto messages, ``model_dump`` for models), for per-resource
    rules; off by default, as the request then reaches OPA and its logs.
    """

    url: str | None = None
    policy_files: list[str] = Field(default_factory=_no_items)
    query: str = "data.microlib.authz.allow"
    cache_ttl: float = Field(default=5.0, ge=0)
    cache_size: int = Field(default=10_000, ge=0)
    timeout: float = Field(default=2.0, gt=0)
    include_request: bool = False

    @model_validator(mode="after")
    def _one_engine(self) -> Self:
        if bool(self.url) == bool(self.policy_files):
            raise ValueError("security.opa: set exactly one of url, policy_files")
        return self


class TrustedSigner(Section):
    """A service whose principal assertions this one accepts on messages and jobs.

    Set exactly one key source: ``keys`` (static public JWKs), ``jwks_file``
    or ``jwks_url`` (the signer's public keys).
    """

    issuer: str = Field(min_length=1)
    keys: list[dict[str, Any]] = Field(default_factory=_no_items)
    jwks_file: Path | None = None
    jwks_url: str | None = None
    algorithms: list[str] = Field(default_factory=lambda: list(PRINCIPAL_ALGORITHMS), min_length=1)

    def as_issuer(self) -> IssuerSettings:
        """The signer as a token issuer whose tokens are principal assertions."""
        return IssuerSettings(
            issuer=self.issuer,
            keys=self.keys,
            jwks_file=self.jwks_file,
            jwks_url=self.jwks_url,
            audiences=[PRINCIPAL_AUDIENCE],
            algorithms=self.algorithms,
            require=["iat", "sub"],
            token_types=[PRINCIPAL_TOKEN_TYPE],
            max_token_size=65536,
        )

    @model_validator(mode="after")
    def _one_key_source(self) -> Self:
        self.as_issuer()  # the issuer's own checks: one key source, no `none`
        return self


class IdentitySettings(Section):
    """The service's own identity: the principal of the work it starts itself."""

    subject: str | None = None
    scopes: list[str] = Field(default_factory=_no_items)
    roles: list[str] = Field(default_factory=_no_items)


class PropagationSettings(Section):
    """The principal that travels with each message published and job enqueued.

    ``signing_key_file`` is this service's PEM private key (Ed25519, EC P-256
    or RSA); its public key is trusted by this service without listing it.
    ``issuer`` names the signer in each assertion (``iss``); ``trusted`` lists
    the other services whose assertions consumers and workers here accept.
    ``ttl`` bounds an assertion's life (None: it never expires, so a message
    replayed from the dead letters days later still runs as its originator).
    """

    issuer: str | None = None
    signing_key_file: Path | None = None
    key_id: str = "microlib"
    ttl: float | None = Field(default=None, gt=0)
    identity: IdentitySettings = _defaults(IdentitySettings)
    trusted: list[TrustedSigner] = Field(default_factory=_no_items)

    @field_validator("signing_key_file")
    @classmethod
    def _holds_a_signing_key(cls, path: Path | None) -> Path | None:
        if path is not None:
            from microlib.config._tls import check_signing_key

            check_signing_key(path)
        return path


class SecuritySettings(Section):
    """Authentication and authorization for every transport (key ``security``)."""

    enabled: bool = True
    issuers: list[IssuerSettings] = Field(default_factory=_no_items)
    public_paths: Annotated[list[str], Reloadable()] = Field(
        default_factory=lambda: list(_DEFAULT_PUBLIC_PATHS)
    )
    public_methods: Annotated[list[str], Reloadable()] = Field(
        default_factory=lambda: list(_DEFAULT_PUBLIC_METHODS)
    )
    methods: Annotated[dict[str, MethodRule], Reloadable()] = Field(default_factory=_no_entries)
    deny_by_default: bool = False
    verify_cache_size: int = Field(default=4096, ge=0)
    verify_cache_ttl: float = Field(default=60.0, ge=0)
    realm: str = ""
    opa: OpaSettings | None = None
    propagation: PropagationSettings = _defaults(PropagationSettings)


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


class GrpcTlsSettings(TlsSettings):
    """``grpc.tls``: :class:`TlsSettings`, where a client CA requires a client certificate.

    grpcio's Python API can require and verify a client certificate, or not
    ask for one at all; it cannot ask for an optional one. A client CA with
    ``require_client_cert: false`` would be ignored, and no client verified,
    so that combination is refused.
    """

    @field_validator("require_client_cert")
    @classmethod
    def _required_with_a_client_ca(cls, required: bool, info: ValidationInfo) -> bool:
        if not required and info.data.get("client_ca_file") is not None:
            raise PydanticCustomError(
                "unsupported",
                "gRPC cannot verify an optional client certificate (grpcio only requires one or never "
                "asks): set it to true, so every client presents a certificate from client_ca_file, "
                "or remove client_ca_file for server-only TLS",
            )
        return required


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
        max_metadata_bytes: Requests whose metadata (headers) is larger get
            RESOURCE_EXHAUSTED, always; smaller metadata always reaches the
            service. grpc core's own default refuses a random share of the
            requests between 8 and 16 KiB, so the same request could get two
            answers; one limit (grpc's soft and hard limit alike) makes it one.
        keepalive: Keepalive pings and connection age.
        max_concurrent_rpcs: RPCs beyond this many in flight are refused
            with RESOURCE_EXHAUSTED (None: no limit).
        handshake_timeout: Seconds a new connection has to finish its
            handshake; a client that stalls in it is disconnected.
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
    max_metadata_bytes: int = Field(default=16 * 1024, ge=1024)
    keepalive: GrpcKeepaliveSettings = _defaults(GrpcKeepaliveSettings)
    max_concurrent_rpcs: int | None = Field(default=None, ge=1)
    handshake_timeout: float = Field(
        default=10.0,
        gt=0,
        description="seconds a new connection has to finish its handshake (TLS, HTTP/2 preface)",
    )
    reuse_port: bool = False
    grace_period: float = Field(default=10.0, ge=0)
    reflection: bool = True
    health_service: bool = True
    health_watch_interval: float = Field(default=1.0, gt=0)

    @model_validator(mode="after")
    def _host_is_bare(self) -> Self:
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
            ("grpc.max_metadata_size", self.max_metadata_bytes),
            ("grpc.absolute_max_metadata_size", self.max_metadata_bytes),
            ("grpc.so_reuseport", int(self.reuse_port)),
            ("grpc.server_handshake_timeout_ms", int(self.handshake_timeout * 1000)),
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


class SchedulerSettings(Section):
    """The scheduler: leadership lease and missed ticks.

    Args:
        enabled: Run the scheduler in this replica (every replica may; one
            leads at a time).
        lease_ttl: Seconds the lease lasts unless renewed; a replica that
            dies is replaced within this.
        renew_interval: Seconds between renewals; well under ``lease_ttl``.
        missed_ticks: ``skip``: a tick that could not fire on time (no
            leader, a pause) is counted as missed and dropped; ``catch_up``:
            the new leader fires the missed ticks, oldest first, at most
            ``max_catch_up`` per job.
        max_catch_up: Bound of ``catch_up`` per job and takeover.
        misfire_grace: Seconds after its time a tick still fires under
            ``skip``.
    """

    enabled: bool = True
    lease_ttl: float = Field(default=10.0, gt=0)
    renew_interval: float | None = Field(default=None, gt=0)
    missed_ticks: Literal["skip", "catch_up"] = "skip"
    max_catch_up: int = Field(default=10, ge=0)
    misfire_grace: float = Field(default=5.0, ge=0)

    @property
    def renew_every(self) -> float:
        """Seconds between renewals: ``renew_interval``, else a third of the TTL."""
        return self.renew_interval or self.lease_ttl / 3

    @model_validator(mode="after")
    def _renew_before_expiry(self) -> Self:
        if self.renew_every >= self.lease_ttl:
            raise ValueError(
                f"renew_interval ({self.renew_every}) must be shorter than lease_ttl ({self.lease_ttl})"
            )
        return self


class JobsSettings(Section):
    """The ``jobs`` section: the broker by URL, the worker and the scheduler.

    Args:
        url: ``memory://`` (embedded, this process), ``redis://host/0``,
            ``amqp://user:pass@host/vhost`` or ``postgresql://user@host/db``.
        store: Where dead letters, delayed jobs, results, idempotency keys
            and the scheduler lease live: ``redis://`` or ``postgresql://``.
            Defaults to ``url`` for Redis and PostgreSQL; required with
            ``amqp://``.
        namespace: Prefix of every key, table row and queue name; defaults
            to the service's name.
        worker: Run a worker in this replica.
        queues: The queues this replica's worker takes jobs from; all the
            included jobs' queues by default. A queue no included job
            travels on fails the start (its jobs would all be dead-lettered).
        concurrency: Jobs run at once per replica.
        poll_interval: Seconds between looks for delayed jobs that came due.
        redelivery_timeout: Seconds after which a job taken by a replica
            that died is handed to another (Redis, PostgreSQL); a live
            replica renews its claim every third of it.
        result_ttl: Seconds a job's outcome is kept.
        dead_letter_interval: Seconds between reads of how many dead letters
            wait (the ``job_dead_letters`` gauge), on replicas that run a worker.
        idempotency_ttl: Seconds an idempotency key is remembered.
        scheduler: The scheduler's settings.
    """

    url: str = "memory://"
    store: str | None = None
    namespace: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]+$")
    worker: bool = True
    queues: list[str] | None = None
    concurrency: int = Field(default=10, ge=1)
    poll_interval: float = Field(default=0.5, gt=0)
    redelivery_timeout: float = Field(default=300.0, gt=0)
    result_ttl: float = Field(default=86400.0, gt=0)
    dead_letter_interval: float = Field(default=30.0, gt=0)
    idempotency_ttl: float = Field(default=86400.0, gt=0)
    scheduler: SchedulerSettings = _defaults(SchedulerSettings)

    @property
    def backend(self) -> str:
        """``memory``, ``redis``, ``amqp`` or ``postgresql``, from the URL."""
        return _jobs_scheme(self.url)

    @property
    def store_url(self) -> str | None:
        """The store's URL: ``store``, else ``url`` when it can hold one."""
        if self.store is not None:
            return self.store
        return self.url if self.backend in ("redis", "postgresql") else None

    @model_validator(mode="after")
    def _known_backends(self) -> Self:
        if self.backend not in ("memory", "redis", "amqp", "postgresql"):
            raise ValueError(
                f"url: unsupported scheme in {self.url!r}; use memory://, redis://, amqp:// or postgresql://"
            )
        if self.backend == "amqp" and self.store is None:
            raise ValueError("store: required with an amqp:// url (a redis:// or postgresql:// URL)")
        if self.store is not None and _jobs_scheme(self.store) not in ("redis", "postgresql"):
            raise ValueError(f"store: unsupported scheme in {self.store!r}; use redis:// or postgresql://")
        return self


def _jobs_scheme(url: str) -> str:
    scheme = url.partition("://")[0].lower()
    scheme = scheme.split("+")[0]
    return {"rediss": "redis", "amqps": "amqp", "postgres": "postgresql"}.get(scheme, scheme)


class Settings(Section):
    """The whole configuration; user sections are added as extra fields."""

    service: ServiceSettings = _defaults(ServiceSettings)
    http: HttpSettings = _defaults(HttpSettings)
    grpc: GrpcSettings = _defaults(GrpcSettings)
    lifecycle: LifecycleSettings = _defaults(LifecycleSettings)
    shutdown: ShutdownSettings = _defaults(ShutdownSettings)
    health: HealthSettings = _defaults(HealthSettings)
    logging: LoggingSettings = _defaults(LoggingSettings)
    metrics: MetricsSettings = _defaults(MetricsSettings)
    tracing: TracingSettings = _defaults(TracingSettings)
    features: Annotated[dict[str, bool], Reloadable()] = Field(default_factory=_no_entries)
    database: DatabaseSettings = _defaults(DatabaseSettings)
    cache: CacheSettings = _defaults(CacheSettings)
    messaging: MessagingSettings = _defaults(MessagingSettings)
    security: SecuritySettings = _defaults(SecuritySettings)
    secrets: SecretsSettings = _defaults(SecretsSettings)
    http_middleware: HttpMiddlewareSettings = _defaults(HttpMiddlewareSettings)
    transcoding: TranscodingSettings = _defaults(TranscodingSettings)
    jobs: JobsSettings = _defaults(JobsSettings)
