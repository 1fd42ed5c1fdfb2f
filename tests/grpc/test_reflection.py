"""Server reflection (v1 and v1alpha) through grpcio-reflection's own client."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_reflection.v1alpha import reflection_pb2
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from microlib.grpc import GrpcServer, GrpcSettings
from microlib.grpc.reflection import descriptor_pool_for

EXPECTED = [
    "echotest.v1.EchoService",
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
]


class _V1Database(ProtoReflectionDescriptorDatabase):  # type: ignore[misc]
    """grpcio's reflection client, speaking v1 (same messages, other path)."""

    def __init__(self, channel: grpc.Channel) -> None:
        super().__init__(channel)
        self._stub = _V1Stub(channel)


class _V1Stub:
    def __init__(self, channel: grpc.Channel) -> None:
        self.ServerReflectionInfo = channel.stream_stream(
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
            response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
        )


def _describe(
    port: int, database: type[ProtoReflectionDescriptorDatabase]
) -> tuple[list[str], list[str], Any]:
    # grpcio-reflection's client is synchronous: it runs in a thread.
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        db = database(channel)
        services = sorted(db.get_services())
        pool = descriptor_pool.DescriptorPool(db)
        service = pool.FindServiceByName("echotest.v1.EchoService")
        methods = [m.name for m in service.methods]
        request = pool.FindMessageTypeByName("echotest.v1.EchoRequest")
        v1 = pool.FindServiceByName("grpc.reflection.v1.ServerReflection")
        return services, methods, (request.fields_by_name["tags"].message_type.full_name, v1.full_name)


@pytest.mark.parametrize("database", [ProtoReflectionDescriptorDatabase, _V1Database], ids=["v1alpha", "v1"])
async def test_reflection_lists_and_describes(
    server: GrpcServer, database: type[ProtoReflectionDescriptorDatabase]
) -> None:
    """A reflection client lists every service and resolves their files, on v1 and v1alpha."""
    services, methods, (tag, v1) = await asyncio.to_thread(_describe, server.port, database)
    assert services == EXPECTED
    assert methods == ["Echo", "Expand", "Collect", "Chat"]
    assert tag == "echotest.v1.Tag"
    assert v1 == "grpc.reflection.v1.ServerReflection"


async def test_reflection_can_be_turned_off(make_server: Any, settings: GrpcSettings) -> None:
    """With grpc.reflection off, the reflection service is not served."""
    server = make_server(settings.model_copy(update={"reflection": False}))
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            info = channel.stream_stream("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                # No request message: sending one races the server's UNIMPLEMENTED,
                # and grpc core then reports its failed send as INTERNAL.
                async for _ in info(iter(())):
                    pass
            assert caught.value.code() is grpc.StatusCode.UNIMPLEMENTED
    finally:
        await server.stop()


def test_conflicting_descriptor_sets_are_reported(definition: Any) -> None:
    """Two services declaring different contents for one file name are refused, naming it."""
    fds = descriptor_pb2.FileDescriptorSet.FromString(definition.file_descriptor_set)
    fds.file[-1].package = "other"
    other = replace(definition, full_name="other.Service", file_descriptor_set=fds.SerializeToString())
    with pytest.raises(ValueError, match=r"other.Service: file 'echotest/v1/echo.proto' differs"):
        descriptor_pool_for([definition, other])


def test_same_file_with_other_source_info_is_accepted(definition: Any) -> None:
    """Two services may carry the same file built with and without comments."""
    fds = descriptor_pb2.FileDescriptorSet.FromString(definition.file_descriptor_set)
    fds.file[-1].source_code_info.location.add(path=[4, 0], span=[3, 0, 10], leading_comments=" Echo.\n")
    other = replace(definition, full_name="other.Service", file_descriptor_set=fds.SerializeToString())
    pool = descriptor_pool_for([definition, other])
    assert pool.FindServiceByName("echotest.v1.EchoService").full_name == "echotest.v1.EchoService"


def test_descriptor_set_missing_an_import_is_reported(definition: Any) -> None:
    """A set without the files its service imports is refused, naming the file."""
    fds = descriptor_pb2.FileDescriptorSet.FromString(definition.file_descriptor_set)
    only_service = descriptor_pb2.FileDescriptorSet(file=[fds.file[-1]])
    broken = replace(definition, file_descriptor_set=only_service.SerializeToString())
    with pytest.raises(ValueError, match=r"file 'echotest/v1/echo.proto' cannot be loaded for reflection"):
        descriptor_pool_for([broken])


def test_unparsable_descriptor_set_is_reported(definition: Any) -> None:
    """A descriptor set that does not parse is refused, naming the service."""
    broken = replace(definition, file_descriptor_set=b"\xff\xff")
    with pytest.raises(ValueError, match=r"echotest\.v1\.EchoService: file_descriptor_set does not parse"):
        descriptor_pool_for([broken])


_DETAILS = ["google.rpc.Status", "google.rpc.ErrorInfo", "google.rpc.BadRequest", "google.rpc.RetryInfo"]


def _error_details(port: int) -> list[str]:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        pool = descriptor_pool.DescriptorPool(ProtoReflectionDescriptorDatabase(channel))
        return [pool.FindMessageTypeByName(name).full_name for name in _DETAILS]


async def test_reflection_serves_the_error_details_microlib_sends(server: GrpcServer) -> None:
    """grpcurl and buf curl decode the status details (Status, ErrorInfo, BadRequest, RetryInfo)
    by asking reflection for their files, though no contract of the service imports them."""
    found = await asyncio.to_thread(_error_details, server.port)
    assert found == _DETAILS
