"""The gRPC server component: ports, TLS, limits, reflection, health, drain.

It is a lifecycle :class:`~microlib.core.lifecycle.Component` and a
:class:`~microlib.core.lifecycle.Drainable`: on shutdown ``drain`` refuses new
calls at once and lets in-flight ones finish within the timeout, while the
health service reports NOT_SERVING.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import grpc
import structlog
from google.protobuf import descriptor_pb2
from grpc_health.v1 import health_pb2

from microlib.config.model import GrpcSettings, TlsSettings
from microlib.contract.definition import ServiceDefinition
from microlib.core.chain import Interceptor
from microlib.core.errors import ContractMismatch
from microlib.core.lifecycle import DrainExpired
from microlib.grpc._inflight import InFlight
from microlib.grpc.handlers import ChainLike, check_servicer, method_handlers, wrapper_for
from microlib.grpc.health import HealthService
from microlib.grpc.reflection import add_reflection, descriptor_pool_for
from microlib.observability.health import Health

__all__ = ["GrpcServer"]

log = structlog.get_logger("microlib.grpc")

# Time the calls the drain cancels get to send their UNAVAILABLE.
_ANSWER_GRACE = 1.0


class GrpcServer:
    """Serves servicers over grpc.aio through the shared interceptor chain.

    Args:
        settings: The ``grpc`` settings section.
        interceptors: The service's interceptors, first outermost, or its
            chain (an object with ``wrap(handler)``).
        health: The service's health registry; the gRPC health service is
            SERVING only while its readiness is up. Without it, readiness is
            "started and not draining".
        name: The component name in health reports and logs.

    Example::

        server = GrpcServer(GrpcSettings(port=50051), interceptors=[...])
        server.add(BookshopServicer())
        await server.start()
    """

    def __init__(
        self,
        settings: GrpcSettings | None = None,
        *,
        interceptors: Sequence[Interceptor] | ChainLike = (),
        health: Health | None = None,
        name: str = "grpc",
    ) -> None:
        self.name = name
        self.settings = settings or GrpcSettings()
        self._wrap = wrapper_for(interceptors)
        self._health = health
        self._services: dict[str, tuple[ServiceDefinition, object]] = {}
        self._server: grpc.aio.Server | None = None
        self._health_service: HealthService | None = None
        self._port = 0
        self._draining = False
        self._calls = InFlight()

    def add(self, servicer: object, definition: ServiceDefinition | None = None) -> None:
        """Serve ``servicer`` once the server starts.

        Args:
            servicer: An implementation of a generated servicer interface.
            definition: The contract; found on the servicer's class
                (``__microlib_service__``) when omitted.

        Raises:
            TypeError: the servicer lacks a method of its contract, or no
                definition was given or found.
            ValueError: the service is already served, or the server started.
        """
        if self._server is not None:
            raise ValueError("servicers must be added before the gRPC server starts")
        definition = definition or definition_of(servicer)
        if definition.full_name in self._services:
            raise ValueError(f"service {definition.full_name} is already served")
        check_servicer(definition, servicer)
        self._services[definition.full_name] = (definition, servicer)

    @property
    def services(self) -> tuple[str, ...]:
        """The fully qualified names of the served services."""
        return tuple(self._services)

    @property
    def port(self) -> int:
        """The bound port (the real one when configured as 0); 0 before start."""
        return self._port

    @property
    def serving(self) -> bool:
        """Whether the server accepts new calls."""
        return self._server is not None and not self._draining

    async def start(self) -> None:
        """Bind the port and start serving.

        Raises:
            OSError: the address cannot be bound or a TLS file cannot be read,
                naming the setting.
            RuntimeError: the server is already running.
        """
        if self._server is not None:
            raise RuntimeError("the gRPC server is already running")
        settings = self.settings
        mutual_tls = settings.tls is not None and settings.tls.client_ca_file is not None
        handlers = {
            d.full_name: method_handlers(d, s, self._wrap, client_certificates=mutual_tls, calls=self._calls)
            for d, s in self._services.values()
        }
        served = list(handlers)
        if settings.health_service:
            served.append(health_pb2.DESCRIPTOR.services_by_name["Health"].full_name)
        pool = None
        if settings.reflection:
            pool = descriptor_pool_for(
                (d for d, _ in self._services.values()), extra=[_file_proto(health_pb2.DESCRIPTOR)]
            )
        server = grpc.aio.server(
            options=settings.channel_options(), maximum_concurrent_rpcs=settings.max_concurrent_rpcs
        )
        try:
            for name, method_handler in handlers.items():
                server.add_registered_method_handlers(name, method_handler)
            if settings.health_service:
                self._health_service = HealthService(
                    handlers, self._ready, interval=settings.health_watch_interval
                )
                self._health_service.add_to(server)
            if pool is not None:
                add_reflection(server, served, pool)
            self._port = _bind(server, settings)
            await server.start()
        except BaseException:
            await server.stop(None)
            raise
        self._server = server
        self._draining = False
        log.info("gRPC server started", address=settings.address, port=self._port, services=served)

    async def drain(self, timeout: float) -> None:
        """Refuse new calls at once and wait up to ``timeout`` s for in-flight ones.

        Raises:
            DrainExpired: calls were still running after ``timeout``; each was
                cancelled and answered ``UNAVAILABLE`` with a retry pushback.
        """
        if self._server is None:
            return
        self._draining = True
        if self._health_service is not None:
            self._health_service.close()
        log.info("gRPC server draining", timeout=timeout)
        # grpc.aio stops accepting as the stop begins; its own cancellation, after
        # the grace, only catches a call that ignored being cancelled by ours.
        stopping = asyncio.ensure_future(self._server.stop(timeout + _ANSWER_GRACE))
        await asyncio.sleep(0)
        cancelled = await self._calls.expire(timeout)
        await stopping
        if cancelled:
            raise DrainExpired(self.name, cancelled)

    async def stop(self) -> None:
        """Stop serving, giving in-flight calls ``grpc.grace_period`` seconds."""
        server, self._server = self._server, None
        if server is None:
            return
        self._draining = True
        if self._health_service is not None:
            self._health_service.close()
        await server.stop(self.settings.grace_period)

    async def check(self) -> Mapping[str, Any] | None:
        """Healthy while serving; the details name the port and services.

        Raises:
            RuntimeError: when not started or draining.
        """
        if not self.serving:
            raise RuntimeError("gRPC server is not serving")
        return {"port": self._port, "services": sorted(self._services)}

    async def _ready(self) -> bool:
        if not self.serving:
            return False
        if self._health is None:
            return True
        return (await self._health.report("readiness")).up


def definition_of(servicer: object) -> ServiceDefinition:
    """The contract a servicer implements, from its generated interface.

    Raises:
        ContractMismatch: no class of the servicer carries ``__microlib_service__``.
    """
    for cls in type(servicer).__mro__:
        found = cls.__dict__.get("__microlib_service__")
        if isinstance(found, ServiceDefinition):
            return found
    raise ContractMismatch(
        f"{type(servicer).__qualname__} implements no generated servicer interface "
        "(no __microlib_service__ on its classes); pass definition= explicitly"
    )


def _bind(server: grpc.aio.Server, settings: GrpcSettings) -> int:
    address = settings.address
    message = f"cannot bind the gRPC server to {address} (settings grpc.host, grpc.port)"
    # Asked first: grpc's own refusal gives no reason, and its C core logs a line to stderr.
    refusal = _bind_refusal(settings.host, settings.port, reuse_port=settings.reuse_port)
    if refusal is not None:
        raise OSError(refusal.errno, f"{message}: {refusal.strerror}")
    try:
        if settings.tls is None:
            return int(server.add_insecure_port(address))
        return int(server.add_secure_port(address, _credentials(settings.tls)))
    except RuntimeError as exc:  # pragma: no cover - taken since it was asked
        raise OSError(message) from exc


def _bind_refusal(host: str, port: int, *, reuse_port: bool) -> OSError | None:
    """The system's refusal to bind ``host:port`` (grpc's own error does not give it),
    or None when the address binds now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:
        # As grpc binds: an address left in TIME_WAIT is not a refusal, and with reuse_port a
        # port other processes hold with SO_REUSEPORT is shared, not taken.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc
    return None


def _credentials(tls: TlsSettings) -> grpc.ServerCredentials:
    cert = _read(tls.cert_file, "grpc.tls.cert_file")
    key = _read(tls.key_file, "grpc.tls.key_file")
    if tls.client_ca_file is None:
        return grpc.ssl_server_credentials([(key, cert)])
    ca = _read(tls.client_ca_file, "grpc.tls.client_ca_file")
    # Always required: without it grpcio does not even ask for a certificate, so
    # the CA would verify no one (GrpcTlsSettings refuses require_client_cert: false).
    return grpc.ssl_server_credentials([(key, cert)], root_certificates=ca, require_client_auth=True)


def _read(path: Path, key: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise OSError(f"{key}: cannot read {str(path)!r}: {exc.strerror or exc}") from exc


def _file_proto(file: Any) -> descriptor_pb2.FileDescriptorProto:
    proto = descriptor_pb2.FileDescriptorProto()
    file.CopyToProto(proto)
    return proto
