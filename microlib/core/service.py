"""Service: the object a user builds and runs.

A Service owns its configuration, its components, its interceptor chain and
the one lifecycle they share: components start in registration order (the
servers last, so no traffic arrives before its dependencies are up) and
stop in reverse, and shutdown follows one bounded choreography.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.routing import Route
from starlette.types import ASGIApp

from microlib.config import LiveConfig, Subscriber
from microlib.config.model import Settings
from microlib.core.chain import Chain, Interceptor
from microlib.core.lifecycle import Component, Drainable, Registration, start_all, stop_all
from microlib.http.app import HttpApp
from microlib.http.middleware import HttpMiddlewareSettings, build_middleware
from microlib.http.probes import add_probes
from microlib.http.server import HttpServer
from microlib.http.transcoding import TranscodingSettings, add_transcoded_routes
from microlib.observability.health import Health, Phase
from microlib.observability.identity import ServiceIdentity
from microlib.observability.metrics import Metrics
from microlib.observability.stack import Observability

if TYPE_CHECKING:
    from microlib.data import Cache, Database
    from microlib.grpc.definition import ServiceDefinition

__all__ = ["Service", "ServiceInfo", "ShutdownHook"]

T = TypeVar("T", bound=BaseModel)
C = TypeVar("C")

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

    Raises:
        ValueError: if ``name`` or ``version`` is invalid, naming the rule.
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
    ) -> None:
        _validate_identity(name, version)
        self.name = name
        self.version = version
        self.sections: Mapping[str, type[BaseModel]] = {
            "http_middleware": HttpMiddlewareSettings,
            "transcoding": TranscodingSettings,
            **(sections or {}),
        }
        self.chain = Chain(interceptors)
        self.http = HttpApp(self.chain)
        self._registrations: list[Registration] = []
        self._hooks: list[ShutdownHook] = []
        self._live: LiveConfig[Settings] | None = None
        self._config_subscribers: list[Subscriber] = []
        self._health: Health | None = None
        self._started: list[Component] = []
        self._stop_requested: asyncio.Event | None = None
        self._assembled = False
        self._instance_id = _instance_id()
        self._wants_database = database
        self._wants_cache = cache
        self._observability: Observability | None = None
        self._servicers: list[tuple[ServiceDefinition, object]] = []
        self._database: Database | None = None
        self._cache: Cache | None = None

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

    def include(self, servicer: object) -> None:
        """Serve a generated servicer interface's implementation over gRPC.

        The contract is found on the servicer's class (the generated
        interface sets ``__microlib_service__``). Startup refuses a servicer
        that lacks a method of its contract, naming it.

        Raises:
            TypeError: the servicer implements no generated interface, or
                lacks methods.
        """
        if self._assembled:
            raise RuntimeError("servicers must be included before the service starts")
        from microlib.grpc.handlers import check_servicer
        from microlib.grpc.server import definition_of

        definition = definition_of(servicer)
        check_servicer(definition, servicer)
        self._servicers.append((definition, servicer))

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
        observability = self._observe(settings)
        self._registrations[:0] = [
            Registration(observability, critical=False, groups=frozenset()),
            Registration(self.live_config, critical=False, groups=frozenset()),
        ]
        if observability.management is not None:
            self._registrations.insert(2, Registration(observability.management, critical=False))
        self._add_data_components(settings)
        self._add_grpc(settings)
        self._add_transcoding()
        add_probes(self.http, self.health, settings.health)
        if settings.http.enabled:
            self.add(HttpServer(self.http.app, settings.http), critical=False)
        self._assembled = True
        groups = settings.health.groups
        known = {r.name for r in self._registrations}
        for group, names in groups.items():
            unknown = sorted(set(names) - known)
            if unknown:
                raise ValueError(
                    f"health.groups.{group} names unknown component(s) {unknown}; known: {sorted(known)}"
                )
        registrations = [
            Registration(r.component, r.critical, _groups_for(r, groups)) for r in self._registrations
        ]
        for registration in registrations:
            self.health.register(registration)
        self._registrations = registrations
        return registrations

    def _observe(self, settings: Settings) -> Observability:
        """Build logs, metrics and traces, and put them in the chain and the app."""
        info = self.info
        identity = ServiceIdentity(info.name, info.version, info.environment, info.instance_id)
        observability = self._observability = Observability(settings, identity)
        for slot, interceptor in observability.interceptors().items():
            self.chain.install(slot, interceptor)
        probes = settings.health.path.rstrip("/")
        self.http.add_middleware(
            observability.middleware(untraced_paths=(probes, f"{probes}/*")), outermost=True
        )
        for middleware in build_middleware(self.section("http_middleware", HttpMiddlewareSettings)):
            self.http.add_middleware(middleware)
        for route in observability.routes():
            assert isinstance(route, Route)
            self.http.add_route(route.path, route.endpoint, methods=sorted(route.methods or ()))
        self.on_config_change(lambda old, new, changed: observability.apply(new))
        return observability

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
        from microlib.grpc.validation import ValidationInterceptor

        self.chain.install("deadline", DeadlineInterceptor())
        self.chain.install("validation", ValidationInterceptor())
        if not self._servicers or not settings.grpc.enabled:
            return
        from microlib.grpc.server import GrpcServer

        server = GrpcServer(settings.grpc, interceptors=self.chain, health=self.health)
        for definition, servicer in self._servicers:
            server.add(servicer, definition)
        self.add(server, critical=False)

    def _add_transcoding(self) -> None:
        """Serve every RPC with a ``google.api.http`` rule over REST too,
        through the same servicer and chain."""
        settings = self.section("transcoding", TranscodingSettings)
        for definition, servicer in self._servicers:
            if any(m.http_rules for m in definition.methods.values()):
                add_transcoded_routes(self.http, definition, servicer, self.chain, settings)

    def _add_data_components(self, settings: Settings) -> None:
        # Imported here: a service without a database does not pay for
        # SQLAlchemy's import.
        position = len([r for r in self._registrations if not r.groups])
        if self._wants_database:
            from microlib.data import Database

            self._database = Database(
                settings.database, metrics=self.metrics, tracer_provider=self.observability.tracing.provider
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
                failed; those started before it were stopped.
        """
        registrations = self._assemble()
        info = self.info
        log.info("service starting", service=info.name, version=info.version, instance=info.instance_id)
        self.health.phase = Phase.STARTING
        self._started = await start_all(
            [r.component for r in registrations], self.config.lifecycle.start_timeout
        )
        self.health.phase = Phase.RUNNING
        log.info("service ready", service=info.name)

    async def stop(self) -> None:
        """Shut down: refuse readiness, drain servers, run hooks, stop components.

        The whole choreography is bounded by ``shutdown.timeout``; what is
        left when it expires is abandoned and logged.
        """
        s = self.config.shutdown
        try:
            async with asyncio.timeout(s.timeout):
                await self._shutdown()
        except TimeoutError:
            log.error("shutdown exceeded its budget", timeout=s.timeout)
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
        if s.drain_delay:
            # Load balancers keep routing until they see readiness fail.
            await asyncio.sleep(s.drain_delay)
        for component in reversed(self._started):
            if isinstance(component, Drainable):
                await component.drain(s.drain_timeout)
        for hook in self._hooks:
            try:
                async with asyncio.timeout(s.hook_timeout):
                    await hook()
            except Exception as exc:
                log.error(
                    "shutdown hook failed", hook=getattr(hook, "__qualname__", repr(hook)), error=str(exc)
                )
        await stop_all(self._started, self.config.lifecycle.stop_timeout)

    async def serve(self) -> None:
        """Start, run until SIGTERM or SIGINT, then shut down gracefully.

        A second signal during shutdown exits the process at once.
        """
        loop = asyncio.get_running_loop()
        stop = self._stop_requested = asyncio.Event()
        signals = (signal.SIGTERM, signal.SIGINT)

        def on_signal(signum: int) -> None:
            if stop.is_set():
                log.error("second signal, exiting now", signal=signal.Signals(signum).name)
                sys.stderr.flush()
                os._exit(1)
            log.info("signal received", signal=signal.Signals(signum).name)
            stop.set()

        for sig in signals:
            loop.add_signal_handler(sig, on_signal, sig)
        try:
            await self.start()
            await stop.wait()
        finally:
            await self.stop()
            for sig in signals:
                loop.remove_signal_handler(sig)

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


def _validate_identity(name: str, version: str) -> None:
    try:
        ServiceInfo(name=name, version=version, environment="x", instance_id="x")
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ValueError(f"invalid service identity: {problems}") from None


def _instance_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
