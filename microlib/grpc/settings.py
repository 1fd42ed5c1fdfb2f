"""The ``grpc`` settings section: address, TLS, limits, keepalive, shutdown."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from microlib.config.model import Section

__all__ = ["GrpcKeepaliveSettings", "GrpcSettings", "GrpcTlsSettings"]


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
