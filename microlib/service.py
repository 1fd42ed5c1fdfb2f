"""Service: the object a user builds and runs.

A Service owns its configuration, its components, its interceptor chain and
the one lifecycle they share: components start in registration order (the
gRPC server last; the HTTP server first, its routes closed until the rest
has started, so its probes answer while no traffic reaches a route before
its dependencies are up) and stop in reverse, and shutdown follows one
bounded choreography.
"""

from __future__ import annotations

import asyncio
import gc
import os
import re
import signal
import socket
import sys
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.middleware import Middleware
from starlette.types import ASGIApp

from microlib.config import LiveConfig, Subscriber
from microlib.config._schema import check_sections
from microlib.config.errors import ConfigError, Problem
from microlib.config.model import Settings
from microlib.core.chain import Chain, Interceptor
from microlib.core.errors import ContractMismatch
from microlib.core.extras import require
from microlib.core.lifecycle import (
    Component,
    Drainable,
    DrainExpired,
    Leaving,
    Registration,
    ShutdownError,
    start_all,
    stop_all,
)
from microlib.core.propagation import Propagation
from microlib.http.app import HttpApp
from microlib.http.edge import edge_middleware
from microlib.http.management import ManagementServer, management_routes
from microlib.http.middleware import build_middleware
from microlib.http.probes import StartingGate, add_probes, probe_paths
from microlib.http.server import HttpServer
from microlib.observability.health import Health, Phase
from microlib.observability.identity import ServiceIdentity
from microlib.observability.metrics import Instrumented, Metrics
from microlib.observability.stack import Observability

if TYPE_CHECKING:
    import httpx

    from microlib.contract.definition import ServiceDefinition
    from microlib.data import Cache, Database
    from microlib.http.included import IncludedDocuments
    from microlib.jobs import Jobs
    from microlib.messaging import ApplicationDefinition, Publisher
    from microlib.messaging.publishing import BrokerPublisher
    from microlib.messaging.runtime import Messaging

__all__ = ["Service", "ServiceInfo", "ShutdownHook"]

T = TypeVar("T", bound=BaseModel)
C = TypeVar("C")

# The pip extra of each messaging.url scheme's broker driver.
_BROKER_EXTRAS = {
    "amqp": "rabbitmq",
    "amqps": "rabbitmq",
    "kafka": "kafka",
    "redis": "redis",
    "rediss": "redis",
}

ShutdownHook = Callable[[], Awaitable[None]]
"""An async callable run during shutdown, after servers drained."""

log = structlog.get_logger("microlib.service")


class ServiceInfo(BaseModel):
    """Who a running instance is; attached to every log line, metric and span.

    Args:
        name: DNS-label style (``bookshop``, ``order-api``).
        version: The deployed version.
        environment: ``development``, ``staging``, ``production``...
        instance_id: Unique per process; defaults to host, pid and a nonce.
    """

    model_config = ConfigDict(frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,62}$")
    version: str = Field(min_length=1)
    environment: str = Field(min_length=1)
    instance_id: str = Field(min_length=1)


class Service:
    """A microservice: configuration, components, chain and lifecycle.

    Args:
        name: The service name (lower case letters, digits and dashes).
        version: The service's version.
        sections: User configuration sections, by key (``{"app": AppSettings}``).
        interceptors: The user's interceptors, outermost first; they run in
            the chain's ``user`` slot, inside logging and outside auth.
        database: Give the service a :class:`~microlib.data.Database` from
            the ``database`` section (SQLite by default, PostgreSQL by URL).
        cache: Give the service a cache from the ``cache`` section
            (in-memory by default, Redis by URL).
        defaults: The service's own configuration defaults, nested by key
            (``{"security": {"enabled": False}}``); files, the environment
            and ``--set`` override them, and reports name them ``code``.

    Raises:
        ValueError: if ``name`` or ``version`` is invalid, naming the rule, or a
            key of ``sections`` is not lowercase or is one of microlib's own.
        TypeError: if a section of ``sections`` is not a pydantic model.
    """

    def __init__(
        self,
        name: str,
        *,
        version: str = "0.0.0",
        sections: Mapping[str, type[BaseModel]] | None = None,
        interceptors: Sequence[Interceptor] = (),
        database: bool = False,
        cache: bool = False,
        defaults: Mapping[str, Any] | None = None,
    ) -> None:
        _validate_identity(name, version)
        # Checked here, not when the configuration is first loaded: the error names the user's line.
        check_sections(Settings, sections or {})
        self.name = name
        self.version = version
        self.sections: Mapping[str, type[BaseModel]] = {
            **(sections or {}),
        }
        self.chain = Chain(interceptors)
        self.propagation = Propagation()
        """Headers every message published and job enqueued carries (the signed principal)."""
        self.http = HttpApp(self.chain)
        self._registrations: list[Registration] = []
        self._hooks: list[ShutdownHook] = []
        self._live: LiveConfig[Settings] | None = None
        self._config_subscribers: list[Subscriber] = []
        self._health: Health | None = None
        self._started: list[Component] = []
        self._stop_requested: asyncio.Event | None = None
        self._overran = ""
        self._shutdown_step = ""
        self._assembled = False
        self._instance_id = _instance_id()
        self._defaults = dict(defaults or {})
        self._wants_database = database
        self._wants_cache = cache
        self._observability: Observability | None = None
        self._servicers: list[tuple[ServiceDefinition, object]] = []
        self._documents: IncludedDocuments | None = None  # made by the first OpenAPI include
        self._database: Database | None = None
        self._cache: Cache | None = None
        self._consumers: list[object] = []
        self._publisher: BrokerPublisher | None = None
        self._messaging: Messaging | None = None
        self._jobs: Jobs | None = None
        self._manifests: set[Path] = set()

    # -- configuration ---------------------------------------------------

    def configure(
        self,
        *,
        files: Sequence[str | Path] = (),
        overrides: Sequence[str] = (),
        environ: Mapping[str, str] | None = None,
    ) -> Settings:
        """Load the configuration now, from files, environment and overrides.

        Without a call, the first use of :attr:`config` loads defaults and
        the environment.

        Raises:
            microlib.config.ConfigError: listing every invalid key.
        """
        if self._assembled:
            raise RuntimeError("configure() must be called before the service starts")
        # ${secret:...} in config files; the stores load only when one is used.
        from microlib.security import references

        references.register()
        self._live = LiveConfig(
            Settings,
            sections=self.sections,
            files=[Path(f) for f in files],
            overrides=overrides,
            environ=environ,
            values=self._defaults,
            watch=bool(files),
        )
        for callback in self._config_subscribers:
            self._live.subscribe(callback)
        return self._live.settings

    def on_config_change(self, callback: Subscriber) -> Subscriber:
        """Call ``callback(old, new, changed_paths)`` after a reload is applied.

        Only changes to reloadable fields are ever applied; the callback
        survives a later :meth:`configure`.
        """
        self._config_subscribers.append(callback)
        if self._live is not None:
            self._live.subscribe(callback)
        return callback

    @property
    def live_config(self) -> LiveConfig[Settings]:
        """The configuration component: current snapshot, reloads, subscribers."""
        if self._live is None:
            self.configure()
        assert self._live is not None
        return self._live

    @property
    def config(self) -> Settings:
        """The current configuration snapshot (immutable; replaced on reload)."""
        return self.live_config.settings

    def section(self, key: str, model: type[T]) -> T:
        """A user configuration section, typed.

        Raises:
            KeyError: if ``key`` was not declared in ``sections``.
        """
        if key not in self.sections:
            raise KeyError(f"no configuration section {key!r}; declared: {sorted(self.sections)}")
        value = getattr(self.config, key)
        assert isinstance(value, model)
        return value

    @property
    def info(self) -> ServiceInfo:
        """The instance's identity, config values over constructor arguments."""
        s = self.config.service
        return ServiceInfo(
            name=s.name or self.name,
            version=s.version or self.version,
            environment=s.environment,
            instance_id=s.instance_id or self._instance_id,
        )

    # -- composition -----------------------------------------------------

    def add(
        self, component: Component, *, critical: bool = True, groups: Iterable[str] = ("readiness",)
    ) -> None:
        """Register a component; it starts after the ones added before it.

        Args:
            component: The component.
            critical: Whether readiness depends on its check.
            groups: Health groups it counts in (``readiness``, ``liveness``);
                ``health.groups`` in the config overrides this.
        """
        if self._assembled:
            raise RuntimeError("components must be added before the service starts")
        if any(r.name == component.name for r in self._registrations):
            raise ValueError(f"a component named {component.name!r} is already registered")
        self._registrations.append(Registration(component, critical, frozenset(groups)))

    def include(self, servicer: object, *, prefix: str | None = None) -> None:
        """Serve a generated servicer interface's implementation over gRPC,
        serve an OpenAPI-first implementation over HTTP, or consume a
        generated consumer interface's messages.

        The contract is found on the servicer's class (the generated
        interface sets ``__microlib_service__``, ``__microlib_openapi__`` for
        an OpenAPI document's handlers, or ``__microlib_asyncapi__`` for an
        AsyncAPI consumer). Refused at once: a servicer, handler object or
        consumer that lacks a method of its contract, naming it. Generated
        job handlers (``__microlib_jobs__``) run on the service's job worker
        instead (docs/jobs.md).

        An OpenAPI document's operations are served through the service's
        chain at ``prefix``, by default the path of the document's first
        server (``servers: [{url: /api}]``), with the document at
        ``PREFIX/openapi.json`` and Swagger UI at ``PREFIX/docs``. Include
        one object per tag, or one implementing several.

        Raises:
            TypeError: the servicer implements no generated interface, or
                lacks methods (``ContractMismatch``).
        """
        if self._assembled:
            raise RuntimeError("servicers must be included before the service starts")
        if isinstance(servicer, type):
            name = servicer.__qualname__
            raise ContractMismatch(
                f"service.include({name}) was given the class: include an instance, service.include({name}())"
            )
        self._check_generated(servicer)
        # Imported at the first include: a service that includes nothing never loads them.
        from microlib.http.included import IncludedDocuments, implements_openapi

        if implements_openapi(servicer):
            if self._documents is None:
                self._documents = IncludedDocuments()
            self._documents.add(servicer, prefix=prefix)
            return
        if prefix is not None:
            raise TypeError(f"prefix= is for OpenAPI handlers; {type(servicer).__qualname__} implements none")
        if any("__microlib_asyncapi__" in cls.__dict__ for cls in type(servicer).__mro__):
            from microlib.messaging.drift import check_consumer
            from microlib.messaging.runtime import application_of

            application = application_of(servicer)
            if application is None:
                raise TypeError(
                    f"{type(servicer).__qualname__}.__microlib_asyncapi__ is not an ApplicationDefinition"
                )
            check_consumer(application, servicer)
            self._consumers.append(servicer)
            return
        if getattr(type(servicer), "__microlib_jobs__", None) is not None:
            self.jobs.include(servicer)
            return
        if not any("__microlib_service__" in cls.__dict__ for cls in type(servicer).__mro__):
            # Said before the gRPC extra is required: an HTTP-only service may include anything.
            raise ContractMismatch(
                f"{type(servicer).__qualname__} implements no generated interface: include an instance of a "
                "class deriving from one that `microlib codegen` generated (a servicer, the handlers of an "
                "OpenAPI tag, a consumer or job handlers)"
            )
        require("grpc", f"the gRPC servicer {type(servicer).__qualname__} (service.include)")
        from microlib.grpc.handlers import check_servicer
        from microlib.grpc.server import definition_of

        definition = definition_of(servicer)
        check_servicer(definition, servicer)
        self._servicers.append((definition, servicer))

    def _check_generated(self, servicer: object) -> None:
        """Refuse generated code older than its contracts (edited since ``microlib codegen``)."""
        from microlib.core._manifest import manifest_of, stale_generation

        for cls in type(servicer).__mro__:
            if any(marker in cls.__dict__ for marker in _GENERATED_MARKERS):
                module_file = getattr(sys.modules.get(cls.__module__), "__file__", None)
                manifest = manifest_of(module_file) if module_file else None
                if manifest is None or manifest in self._manifests:
                    return
                self._manifests.add(manifest)
                stale = stale_generation(manifest)
                if stale:
                    raise ContractMismatch(stale)
                return

    @property
    def consumers(self) -> tuple[object, ...]:
        """The AsyncAPI consumers included so far, in order (``microlib messages`` reads them)."""
        return tuple(self._consumers)

    @property
    def jobs(self) -> Jobs:
        """The service's jobs: ``include`` handlers, ``enqueue`` (through the
        generated enqueuers), the queue once assembled."""
        if self._jobs is None:
            from microlib.jobs import Jobs

            self._jobs = Jobs(self.name, propagation=self.propagation)
        return self._jobs

    def on_shutdown(self, hook: ShutdownHook) -> ShutdownHook:
        """Run ``hook`` on shutdown, after the servers drained, in order added."""
        self._hooks.append(hook)
        return hook

    @property
    def health(self) -> Health:
        """The health state that the probes report."""
        if self._health is None:
            s = self.config.health
            self._health = Health((), check_timeout=s.check_timeout, cache_ttl=s.cache_ttl)
        return self._health

    @property
    def app(self) -> ASGIApp:
        """The service's HTTP application, probes and routes included.

        Building it completes the service's composition: components and
        routes cannot be added afterwards.
        """
        self._assemble()
        return self.http.app

    @property
    def database(self) -> Database:
        """The service's database, once the service is assembled.

        Raises:
            RuntimeError: if the service was not built with ``database=True``
                or has not started yet.
        """
        return _built(self._database, "database", self._wants_database)

    @property
    def cache(self) -> Cache:
        """The service's cache, once the service is assembled.

        Raises:
            RuntimeError: if the service was not built with ``cache=True``
                or has not started yet.
        """
        return _built(self._cache, "cache", self._wants_cache)

    def component(self, name: str) -> Component:
        """The registered component called ``name``.

        Raises:
            KeyError: if there is none.
        """
        for r in self._registrations:
            if r.name == name:
                return r.component
        raise KeyError(f"no component named {name!r}")

    def _assemble(self) -> list[Registration]:
        """Add the framework's components once, from the configuration."""
        if self._assembled:
            return self._registrations
        settings = self.config
        for extra, needed_by in self._extras(settings):
            require(extra, needed_by)
        observability = self._observe(settings)
        management = self._serve_management(observability, settings)
        for registration in self._registrations:
            if isinstance(registration.component, Instrumented):
                registration.component.instrument(observability.metrics)
        self._registrations[:0] = [
            Registration(observability, critical=False, groups=frozenset()),
            Registration(self.live_config, critical=False, groups=frozenset()),
        ]
        if management is not None:
            self._registrations.insert(2, Registration(management, critical=False))
        self._add_data_components(settings)
        self._add_messaging(settings)
        self._add_jobs()
        self._add_grpc(settings)
        self._add_transcoding()
        if self._documents is not None:
            self._documents.mount(self.http, self.chain)
        add_probes(self.http, self.health, settings.health)
        if settings.http.enabled:
            # Right after logs, metrics and config: the probes answer while the
            # dependencies start (StartingGate keeps the routes closed until then).
            server = HttpServer(self.http.app, settings.http)
            self._registrations.insert(2, Registration(server, critical=False))
        clash = _shared_port(self._listeners(settings), self.live_config)
        if clash is not None:
            raise clash
        self._assembled = True
        groups = settings.health.groups
        known = {r.name for r in self._registrations}
        for group, names in groups.items():
            unknown = sorted(set(names) - known)
            if unknown:
                raise self._unservable(
                    f"health.groups.{group}",
                    "unknown_component",
                    f"names unknown component(s) {unknown}; known: {sorted(known)}",
                    f"[{', '.join(names)}]",
                )
        registrations = [
            Registration(r.component, r.critical, _groups_for(r, groups)) for r in self._registrations
        ]
        for registration in registrations:
            self.health.register(registration)
        self._registrations = registrations
        return registrations

    def _unservable(self, key: str, rule: str, message: str, value: str) -> ConfigError:
        """A setting valid on its own that this service cannot serve, reported as the
        configuration's other problems are: with where it was set."""
        return ConfigError([Problem(key, self.live_config.current.origin(key), rule, message, value)])

    def _listeners(self, settings: Settings) -> list[tuple[str, str, int]]:
        """The servers this service will start: each one's settings section, host and port."""
        listeners = []
        if settings.http.enabled:
            listeners.append(("http", settings.http.host, settings.http.port))
        if self._servicers and settings.grpc.enabled:
            listeners.append(("grpc", settings.grpc.host, settings.grpc.port))
        if settings.metrics.port is not None:
            listeners.append(("metrics", settings.metrics.host, settings.metrics.port))
        return listeners

    def _extras(self, settings: Settings) -> list[tuple[str, str]]:
        """The pip extras the configuration turns on, each with the setting that needs it.

        Checked before anything is built, so a missing one stops the start
        with one line naming the setting and the ``pip install`` that adds it.
        """
        needed: list[tuple[str, str]] = []
        tracing = settings.tracing
        if tracing.enabled and tracing.exporter.startswith("otlp"):
            needed.append(("otlp", f"tracing.exporter: {tracing.exporter}"))
        if self._wants_database:
            needed.append(("data", "Service(database=True)"))
            url = settings.database.url or ""
            if url.startswith("postgresql"):
                needed.append(("postgres", f"database.url {url.partition('://')[0]}://"))
        if self._wants_cache and settings.cache.url.startswith("redis"):
            needed.append(("redis", f"cache.url {settings.cache.url.partition('://')[0]}://"))
        messaging = settings.messaging
        if self._consumers or self._publisher is not None:
            scheme = messaging.url.partition("://")[0]
            extra = _BROKER_EXTRAS.get(scheme)
            if extra is not None:
                needed.append((extra, f"messaging.url {scheme}://"))
            if messaging.outbox.enabled:
                needed.append(("data", "messaging.outbox.enabled"))
        return needed

    def _observe(self, settings: Settings) -> Observability:
        """Build logs, metrics and traces, and put them in the chain and the app."""
        info = self.info
        identity = ServiceIdentity(info.name, info.version, info.environment, info.instance_id)
        observability = self._observability = Observability(settings, identity)
        for slot, interceptor in observability.interceptors().items():
            self.chain.install(slot, interceptor)
        # The probes are counted, not traced or access-logged: a kubelet asks every few seconds.
        self.http.add_middleware(
            edge_middleware(observability, untraced_paths=probe_paths(settings.health)), outermost=True
        )
        probes = settings.health.path.rstrip("/")
        self.http.add_middleware(Middleware(StartingGate, health=self.health, probes=probes))
        for middleware in build_middleware(self.config.http_middleware):
            self.http.add_middleware(middleware)
        self.on_config_change(lambda old, new, changed: observability.apply(new))
        return observability

    def _serve_management(self, observability: Observability, settings: Settings) -> ManagementServer | None:
        """Serve ``/metrics`` and the log-level endpoint where the settings put them.

        Returns:
            The management server to register when ``metrics.port`` moves them
            there; ``None`` when they were routed on the service's own port.
        """
        routes = management_routes(observability)
        if settings.metrics.port is not None:
            return ManagementServer(routes, host=settings.metrics.host, port=settings.metrics.port)
        if settings.logging.admin.enabled and not self.chain.installed("authz"):
            raise self._unservable(
                "logging.admin.enabled",
                "unguarded_admin_endpoint",
                "the log-level endpoint would be served on the service's own HTTP port with no access "
                "control (no authz interceptor in the chain); serve it on the management port "
                "(set metrics.port), or install security (microlib.security.install(service)) and "
                'give it a rule (security.methods: {"http//admin/*": {roles: [admin]}})',
                "true",
            )
        for route in routes:
            # Management routes on the service's own port run the chain, as any route: authn and
            # authz decide who reads the metrics (public_paths lists them) and who changes levels.
            self.http.route(route.path, methods=sorted(route.methods or ()))(route.endpoint)
        return None

    def http_client(self, **kwargs: Any) -> httpx.AsyncClient:
        """An ``httpx.AsyncClient`` whose requests are traced, propagated and measured
        with the service's observability (``microlib.http.traced_client``).

        Args:
            kwargs: Passed to ``httpx.AsyncClient`` (``base_url``, ``timeout``...).
        """
        from microlib.http.client import traced_client

        observability = self.observability
        return traced_client(tracing=observability.tracing, metrics=observability.metrics, **kwargs)

    @property
    def publisher(self) -> Publisher:
        """Sends the messages of AsyncAPI send operations (wrap it in a generated publisher).

        Asking for it before the service starts gives the service its
        messaging component (the ``messaging`` section picks the broker);
        it publishes once the service has started.

        Raises:
            RuntimeError: the service was assembled without messaging.
        """
        if self._publisher is None and self._assembled:
            raise RuntimeError(
                "this service has no messaging: ask for service.publisher, or include a consumer, "
                "before it starts"
            )
        return self._broker_publisher()

    def _broker_publisher(self) -> BrokerPublisher:
        if self._publisher is None:
            from microlib.messaging.publishing import BrokerPublisher

            self._publisher = BrokerPublisher(self.propagation)
        return self._publisher

    @property
    def messaging(self) -> Messaging:
        """The messaging component (broker, publisher, consumers), once assembled."""
        return _built(self._messaging, "messaging", bool(self._consumers) or self._publisher is not None)

    @property
    def metrics(self) -> Metrics:
        """The service's own metrics registry (exposed at ``/metrics``).

        Raises:
            RuntimeError: before the service is assembled (started, or
                ``.app`` built).
        """
        return _built(self._observability, "observability", True).metrics

    @property
    def observability(self) -> Observability:
        """The service's logs, metrics and traces, once it is assembled."""
        return _built(self._observability, "observability", True)

    def _add_grpc(self, settings: Settings) -> None:
        """The deadline and validation slots, and a gRPC server for the servicers."""
        from microlib.grpc.deadline import DeadlineInterceptor

        self.chain.install("deadline", DeadlineInterceptor())
        if not self._servicers:
            return  # validation checks proto messages: without servicers, none arrive
        from microlib.grpc.validation import ValidationInterceptor

        self.chain.install("validation", ValidationInterceptor())
        if not settings.grpc.enabled:
            return
        from microlib.grpc.server import GrpcServer

        server = GrpcServer(settings.grpc, interceptors=self.chain, health=self.health)
        for definition, servicer in self._servicers:
            server.add(servicer, definition)
        self.add(server, critical=False)

    def _add_transcoding(self) -> None:
        """Serve every RPC with a ``google.api.http`` rule over REST too,
        through the same servicer and chain."""
        if not self._servicers:
            return
        from microlib.http.transcoding import add_transcoded_routes

        settings = self.config.transcoding
        documents: dict[Path, str] = {}
        for definition, servicer in self._servicers:
            if any(m.http_rules for m in definition.methods.values()):
                add_transcoded_routes(self.http, definition, servicer, self.chain, settings)
                if definition.openapi_document is not None:
                    documents.setdefault(definition.openapi_document, definition.full_name)
        if settings.docs:
            self._serve_openapi(documents, settings.docs_prefix)

    def _serve_openapi(self, documents: Mapping[Path, str], prefix: str) -> None:
        """Each generated document at ``prefix`` (under its slugged title when several);
        its ``servers`` is the root, where transcoded routes are."""
        from microlib.http.docs import openapi_routes

        for path, name in documents.items():
            where = prefix if len(documents) == 1 else f"{prefix}/{_slug(name)}"
            self.http.add_routes(
                openapi_routes(path, title=name, prefix=where, server_url="/", chain=self.chain)
            )

    def _add_messaging(self, settings: Settings) -> None:
        """The broker, publisher and consumers, after the data components, before the servers."""
        if not self._consumers and self._publisher is None:
            return
        from microlib.messaging.runtime import Messaging, application_of

        info = self.info
        messaging = self._messaging = Messaging(
            self.chain,
            self._broker_publisher(),
            settings.messaging,
            group=info.name,
            client_name=info.instance_id,
            tracing=self.observability.tracing,
            metrics=self.metrics,
        )
        documents: dict[str, ApplicationDefinition] = {}
        for consumer in self._consumers:
            application = application_of(consumer)
            assert application is not None
            messaging.include(consumer, application)
            documents.setdefault(application.title, application)
        # With the outbox, writes (and so publishes) do not need the broker: it gates no readiness.
        self._registrations.append(Registration(messaging, critical=not settings.messaging.outbox.enabled))
        if settings.messaging.docs:
            self._serve_asyncapi([*documents.values(), *self._broker_publisher().documents.values()])
        if settings.messaging.outbox.enabled:
            self._add_outbox(settings, messaging)
        if settings.messaging.idempotency.operations:
            self._add_deduplication(settings, messaging)

    def _serve_asyncapi(self, applications: list[ApplicationDefinition]) -> None:
        """Each document at ``messaging.docs_prefix`` (under its slugged title when several)."""
        from microlib.http.docs import asyncapi_routes

        unique = list({a.title: a for a in applications}.values())
        prefix = self.config.messaging.docs_prefix
        for application in unique:
            where = prefix if len(unique) == 1 else f"{prefix}/{_slug(application.title)}"
            self.http.add_routes(
                asyncapi_routes(application.document, title=application.title, prefix=where, chain=self.chain)
            )

    def _add_outbox(self, settings: Settings, messaging: Messaging) -> None:
        """Divert the publisher into the outbox; its relay starts after the broker, stops before it."""
        if self._database is None:
            raise self._unservable(
                "messaging.outbox.enabled",
                "needs_database",
                "needs the service's database: Service(..., database=True)",
                "true",
            )
        from microlib.messaging.outbox import Outbox

        outbox = Outbox(
            self._database, messaging.publisher, lambda: messaging.broker, settings.messaging, self.metrics
        )
        if outbox.relay is not None:
            # A stalled relay never takes the service out of rotation: it can still take writes.
            self._registrations.append(Registration(outbox.relay, critical=False))

    def _add_deduplication(self, settings: Settings, messaging: Messaging) -> None:
        """Consumers of ``messaging.idempotency.operations`` skip the message ids they handled."""
        from microlib.data import MemoryCache
        from microlib.messaging.idempotency import (
            CacheIdempotency,
            DatabaseIdempotency,
            Deduplicate,
            IdempotencyStore,
        )

        own = settings.messaging.idempotency
        store: IdempotencyStore
        if own.store == "database":
            if self._database is None:
                raise self._unservable(
                    "messaging.idempotency.store",
                    "needs_database",
                    "needs Service(..., database=True)",
                    "database",
                )
            store = DatabaseIdempotency(self._database, ttl=own.ttl)
        elif own.store == "cache":
            if self._cache is None:
                raise self._unservable(
                    "messaging.idempotency.store", "needs_cache", "needs Service(..., cache=True)", "cache"
                )
            store = CacheIdempotency(self._cache, ttl=own.ttl)
        else:
            store = CacheIdempotency(MemoryCache("processed", max_entries=100_000), ttl=own.ttl)
        group = settings.messaging.group or self.info.name
        self.chain.install("user", Deduplicate(store, own.operations, group=group, metrics=self.metrics))

    def migration_branches(self) -> list[Path]:
        """Revision directories of the microlib features this service's configuration turns on.

        ``microlib db upgrade`` and ``database.migrate_on_start`` apply them
        with the application's own revisions (the outbox's table).
        """
        messaging = self.config.messaging
        if messaging.outbox.enabled or (
            messaging.idempotency.operations and messaging.idempotency.store == "database"
        ):
            from microlib.messaging.outbox.table import MIGRATIONS

            return [MIGRATIONS]
        return []

    def _add_jobs(self) -> None:
        """The jobs' queue, worker and scheduler, when a jobs contract is included."""
        if self._jobs is None or not self._jobs.wanted:
            return
        settings = self.config.jobs
        own = self._jobs.queues
        unknown = sorted(set(settings.queues or ()) - own) if settings.worker and own else []
        if unknown:
            raise self._unservable(
                "jobs.queues",
                "unknown_queue",
                f"no job of this service travels on {', '.join(unknown)} (its jobs' queues: "
                f"{', '.join(sorted(own))}): its worker would dead-letter what it took from there",
                f"[{', '.join(settings.queues or ())}]",
            )
        for component in self._jobs.components(settings, self.chain, self.metrics, namespace=self.info.name):
            self.add(component, critical=component.name == "jobs-queue")

    def _add_data_components(self, settings: Settings) -> None:
        # Imported here: a service without a database does not pay for
        # SQLAlchemy's import.
        position = len([r for r in self._registrations if not r.groups])
        if self._wants_database:
            from microlib.data import Database

            self._database = Database(
                settings.database,
                metrics=self.metrics,
                tracer_provider=self.observability.tracing.provider,
                migration_branches=self.migration_branches(),
            )
            self._registrations.insert(position, Registration(self._database))
            position += 1
        if self._wants_cache:
            from microlib.data import open_cache

            self._cache = open_cache(settings.cache, namespace=self.name, metrics=self.metrics)
            self._registrations.insert(position, Registration(self._cache, critical=False))

    # -- lifecycle -------------------------------------------------------

    async def start(self) -> None:
        """Start every component in order; the service is then ready.

        Raises:
            microlib.core.lifecycle.StartupError: naming the component that
                failed; those started before it were stopped. Also, before
                any starts, when a served OpenAPI operation requires a
                security scheme that nothing enforces.
        """
        registrations = self._assemble()
        info = self.info
        log.info("service starting", service=info.name, version=info.version, instance=info.instance_id)
        # Before any component starts: contract security that nothing enforces refuses the start.
        # Only an OpenAPI app declares security, and only install() (security.feature) enforces it:
        # with neither module loaded there is nothing to check, and the check's imports are not paid.
        if "microlib.http.openapi" in sys.modules or "microlib.security.feature" in sys.modules:
            from microlib.security.enforcement import check_served

            check_served(self.http.routes, [r.component for r in registrations], self.chain)
        self.health.phase = Phase.STARTING
        self._overran = ""

        def starting(name: str | None) -> None:
            self.health.waiting_for = name

        # A non-critical component that is not a server can run degraded; a
        # server that cannot listen has nothing to degrade to.
        optional = [
            r.component for r in registrations if not r.critical and not isinstance(r.component, Drainable)
        ]
        self._started = await start_all(
            [r.component for r in registrations],
            self.config.lifecycle.start_timeout,
            optional=optional,
            starting=starting,
        )
        self.health.phase = Phase.RUNNING
        log.info("service ready", service=info.name)

    async def stop(self) -> None:
        """Shut down: refuse readiness, drain servers, run hooks, stop components.

        The whole choreography is bounded by ``shutdown.timeout``; what is
        left when it expires is abandoned and logged. Work the drain had to
        cancel, or an expired budget, makes :meth:`serve` raise
        :class:`~microlib.core.lifecycle.ShutdownError` once stopped.
        """
        s = self.config.shutdown
        try:
            async with asyncio.timeout(s.timeout):
                await self._shutdown()
        except TimeoutError:
            self._overran = (
                f"shutdown exceeded its budget (shutdown.timeout: {s.timeout:g}s) waiting for "
                f"{self._shutdown_step}"
            )
            log.error("shutdown exceeded its budget", timeout=s.timeout, waiting_for=self._shutdown_step)
        finally:
            self.health.phase = Phase.STOPPED
            self._started = []
            log.info("service stopped", service=self.name)

    async def _shutdown(self) -> None:
        s = self.config.shutdown
        if self.health.phase is Phase.STOPPED:
            return
        self.health.phase = Phase.STOPPING
        log.info("shutdown started", drain_delay=s.drain_delay)
        for component in self._started:
            if isinstance(component, Leaving):
                component.leaving()
        if s.drain_delay:
            # Load balancers keep routing until they see readiness fail.
            self._shutdown_step = "shutdown.drain_delay"
            await asyncio.sleep(s.drain_delay)
        await self._drain(s.drain_timeout)
        for hook in self._hooks:
            self._shutdown_step = f"shutdown hook {getattr(hook, '__qualname__', repr(hook))}"
            try:
                async with asyncio.timeout(s.hook_timeout):
                    await hook()
            except Exception as exc:
                log.error(
                    "shutdown hook failed", hook=getattr(hook, "__qualname__", repr(hook)), error=str(exc)
                )
        await stop_all(self._started, self.config.lifecycle.stop_timeout, stopping=self._stopping)

    def _stopping(self, component: str) -> None:
        self._shutdown_step = f"the stop of component {component}"

    async def _drain(self, timeout: float) -> None:
        """Drain every server at once, within one budget.

        Each drain stops accepting as its first step, so no listener keeps
        taking new work (on a fresh connection) while another one drains.
        """
        drainables = [c for c in reversed(self._started) if isinstance(c, Drainable)]
        draining = [c.name for c in drainables]

        def drained(name: str | None) -> None:
            if name is not None:
                draining.remove(name)
            self._shutdown_step = f"the drain of {', '.join(draining)}"

        async def drain(name: str, done: Awaitable[None]) -> None:
            # Cancelled (the shutdown's budget ran out), a drain is still what it waits for.
            try:
                await done
            except Exception:
                drained(name)
                raise
            drained(name)

        drained(None)
        outcomes = await asyncio.gather(
            *(drain(c.name, c.drain(timeout)) for c in drainables), return_exceptions=True
        )
        for component, outcome in zip(drainables, outcomes, strict=True):
            if isinstance(outcome, DrainExpired):
                self._overran = "shutdown exceeded its budget (see the log for what was cancelled)"
                log.error("drain exceeded its budget", component=component.name, cancelled=outcome.cancelled)
            elif isinstance(outcome, BaseException):
                log.error("component failed to drain", component=component.name, error=str(outcome))

    async def serve(self) -> None:
        """Start, run until SIGTERM or SIGINT, then shut down gracefully.

        A second signal during shutdown exits the process at once.

        Raises:
            microlib.core.lifecycle.StartupError: a component failed to start.
            microlib.core.lifecycle.ShutdownError: the service stopped, but
                its drain cancelled work or the shutdown exceeded its budget.
        """
        loop = asyncio.get_running_loop()
        stop = self._stop_requested = asyncio.Event()
        signals = (signal.SIGTERM, signal.SIGINT)

        def on_signal(signum: int) -> None:
            if stop.is_set():
                log.error("second signal, exiting now", signal=signal.Signals(signum).name)
                # os._exit runs no atexit hook: the line, held for the loop turn's one write, goes now.
                if self._observability is not None:
                    self._observability.logs.flush()
                sys.stderr.flush()
                os._exit(1)
            log.info("signal received", signal=signal.Signals(signum).name)
            stop.set()

        for sig in signals:
            loop.add_signal_handler(sig, on_signal, sig)
        try:
            await self.start()
            if self.config.lifecycle.freeze_heap:
                # What start-up built (modules, routes, clients) lives as long as the
                # process: out of the collector's reach, the full collections that
                # requests in flight trigger walk only what requests made (ADR 0014).
                gc.freeze()
            await stop.wait()
        finally:
            await self.stop()
            for sig in signals:
                loop.remove_signal_handler(sig)
        if self._overran:
            raise ShutdownError(self._overran)

    def request_stop(self) -> None:
        """Ask a :meth:`serve` in progress to shut down, as SIGTERM would."""
        if self._stop_requested is not None:
            self._stop_requested.set()

    def run(self) -> None:
        """Serve on uvloop when installed, else asyncio; blocks until stopped."""
        try:
            import uvloop
        except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
            asyncio.run(self.serve())
        else:
            uvloop.run(self.serve())


def _built(component: C | None, what: str, wanted: bool) -> C:
    if component is not None:
        return component
    if not wanted:
        raise RuntimeError(f"this service has no {what}: build it with Service(..., {what}=True)")
    raise RuntimeError(f"service.{what} exists once the service is assembled (started, or .app built)")


def _groups_for(registration: Registration, configured: Mapping[Any, list[str]]) -> frozenset[str]:
    """The registration's groups, with the configured membership overriding."""
    groups = set(registration.groups)
    for group, names in configured.items():
        if registration.name in names:
            groups.add(group)
        else:
            groups.discard(group)
    return frozenset(groups)


# The attributes a generated servicer, handler, consumer or jobs interface carries.
_GENERATED_MARKERS = (
    "__microlib_service__",
    "__microlib_openapi__",
    "__microlib_asyncapi__",
    "__microlib_jobs__",
)

_ANY_ADDRESS = frozenset({"0.0.0.0", "::", ""})


def _shared_port(listeners: Sequence[tuple[str, str, int]], live: LiveConfig[Settings]) -> ConfigError | None:
    """Two of the service's servers set to listen on one port: the second would fail to
    bind, naming only its own setting, though either could be the one to change."""
    problems = []
    for index, (section, host, port) in enumerate(listeners):
        for other, other_host, other_port in listeners[:index]:
            overlap = host == other_host or host in _ANY_ADDRESS or other_host in _ANY_ADDRESS
            if port != 0 and port == other_port and overlap:
                key, other_key = f"{section}.port", f"{other}.port"
                where = live.current.origin(other_key)
                problems.append(
                    Problem(
                        key,
                        live.current.origin(key),
                        "shared_port",
                        f"the {section} server would listen on port {port}, as the {other} server does"
                        f" ({other_key}, {where}); give each server a port of its own",
                        str(port),
                    )
                )
    return ConfigError(problems) if problems else None


def _validate_identity(name: str, version: str) -> None:
    try:
        ServiceInfo(name=name, version=version, environment="x", instance_id="x")
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ValueError(f"invalid service identity: {problems}") from None


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "asyncapi"


def _instance_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
