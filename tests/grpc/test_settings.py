"""The ``grpc`` settings section and the grpc core options it stands for."""

from __future__ import annotations

import pydantic
import pytest

from microlib.grpc import GrpcKeepaliveSettings, GrpcSettings


def test_defaults() -> None:
    """Port 50051 on all interfaces, 4 MiB messages, reflection and health on."""
    s = GrpcSettings()
    assert (s.address, s.reflection, s.health_service, s.max_concurrent_rpcs) == (
        "0.0.0.0:50051",
        True,
        True,
        None,
    )
    assert dict(s.channel_options())["grpc.max_receive_message_length"] == 4 * 1024 * 1024


def test_options_carry_limits_and_keepalive() -> None:
    """Message sizes, SO_REUSEPORT and keepalive become grpc core channel arguments, in milliseconds."""
    s = GrpcSettings(
        max_receive_message_bytes=1000,
        max_send_message_bytes=2000,
        keepalive=GrpcKeepaliveSettings(
            time=30, timeout=5, permit_without_calls=True, max_connection_age=600
        ),
    )
    options = dict(s.channel_options())
    assert options["grpc.max_receive_message_length"] == 1000
    assert options["grpc.max_send_message_length"] == 2000
    assert options["grpc.max_metadata_size"] == options["grpc.absolute_max_metadata_size"] == 16 * 1024
    assert options["grpc.so_reuseport"] == 0
    assert (options["grpc.keepalive_time_ms"], options["grpc.keepalive_timeout_ms"]) == (30_000, 5_000)
    assert options["grpc.keepalive_permit_without_calls"] == 1
    assert options["grpc.max_connection_age_ms"] == 600_000
    assert "grpc.max_connection_idle_ms" not in options


def test_ipv6_hosts_are_bracketed_and_bad_values_refused() -> None:
    """IPv6 hosts are written bare; bracketed hosts, bad ports and unknown keys are errors."""
    assert GrpcSettings(host="::", port=9).address == "[::]:9"
    with pytest.raises(pydantic.ValidationError, match="without brackets"):
        GrpcSettings(host="[::1]")
    with pytest.raises(pydantic.ValidationError):
        GrpcSettings(port=70000)
    with pytest.raises(pydantic.ValidationError):
        GrpcSettings.model_validate({"prot": 1})
