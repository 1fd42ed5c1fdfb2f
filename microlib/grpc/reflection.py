"""Server reflection, v1 and v1alpha, from the services' descriptor sets.

grpcio-reflection implements only ``grpc.reflection.v1alpha``; ``v1`` has the
same messages with the same field numbers under another package, so the one
servicer answers on both paths. Descriptors come from the
``FileDescriptorSet`` each :class:`ServiceDefinition` carries and are loaded
into a private pool, never the process-wide default one.
"""

from __future__ import annotations

from collections.abc import Iterable

import grpc
from google.protobuf import any_pb2, descriptor_pb2, descriptor_pool, duration_pb2
from google.protobuf.message import DecodeError
from google.rpc import error_details_pb2, status_pb2
from grpc_reflection.v1alpha import reflection_pb2
from grpc_reflection.v1alpha.reflection import aio as reflection_aio

from microlib.contract.definition import ServiceDefinition

__all__ = ["REFLECTION_SERVICES", "add_reflection", "descriptor_pool_for"]

_V1ALPHA = "grpc.reflection.v1alpha"
_V1 = "grpc.reflection.v1"
REFLECTION_SERVICES = (f"{_V1}.ServerReflection", f"{_V1ALPHA}.ServerReflection")
"""The reflection services :func:`add_reflection` registers."""


def descriptor_pool_for(
    definitions: Iterable[ServiceDefinition], extra: Iterable[descriptor_pb2.FileDescriptorProto] = ()
) -> descriptor_pool.DescriptorPool:
    """A pool holding every file the services' descriptor sets carry.

    Args:
        definitions: The served services.
        extra: Further files (the health service's, for instance). The
            files of the error details microlib sends (``google.rpc.Status``,
            ``ErrorInfo``, ``BadRequest``, ``RetryInfo``...) are always added.

    Returns:
        A fresh pool; a file present in several sets is added once.

    Raises:
        ValueError: when a set is not a valid ``FileDescriptorSet``, lacks a
            file another imports, or two sets disagree on a file, naming the
            service and the file.
    """
    pool = descriptor_pool.DescriptorPool()
    seen: dict[str, bytes] = {}

    def add(origin: str, file: descriptor_pb2.FileDescriptorProto) -> None:
        # Compared without source info: comments and spans may differ
        # between two builds of the same file.
        bare = descriptor_pb2.FileDescriptorProto()
        bare.CopyFrom(file)
        bare.ClearField("source_code_info")
        raw = bare.SerializeToString(deterministic=True)
        known = seen.get(file.name)
        if known is None:
            try:
                pool.Add(file)
            except TypeError as exc:
                reason = f"cannot be loaded for reflection: {exc}"
                raise ValueError(f"{origin}: file {file.name!r} {reason}") from exc
            seen[file.name] = raw
        elif known != raw:
            raise ValueError(f"{origin}: file {file.name!r} differs from the one another service declared")

    for definition in definitions:
        fds = descriptor_pb2.FileDescriptorSet()
        try:
            fds.ParseFromString(definition.file_descriptor_set)
        except DecodeError as exc:
            raise ValueError(f"{definition.full_name}: file_descriptor_set does not parse: {exc}") from exc
        for file in fds.file:
            add(definition.full_name, file)
    for file in (*extra, *_error_detail_files(), _reflection_file(_V1ALPHA), _reflection_file(_V1)):
        # A service's set may already carry one of microlib's own files.
        if file.name not in seen:
            add("microlib", file)
    return pool


def add_reflection(
    server: grpc.aio.Server, service_names: Iterable[str], pool: descriptor_pool.DescriptorPool
) -> None:
    """Serve reflection v1 and v1alpha for ``service_names`` on ``server``.

    Args:
        server: The grpc.aio server, not yet started.
        service_names: What ``list_services`` answers (the reflection
            services themselves are added).
        pool: Where file and symbol lookups are resolved.
    """
    names = sorted({*service_names, *REFLECTION_SERVICES})
    servicer = reflection_aio.ReflectionServicer(names, pool=pool)
    handler = grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo,
        request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
        response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
    )
    for package in (_V1ALPHA, _V1):
        server.add_registered_method_handlers(
            f"{package}.ServerReflection", {"ServerReflectionInfo": handler}
        )


def _error_detail_files() -> list[descriptor_pb2.FileDescriptorProto]:
    # The status details microlib sends (grpc.errors): clients such as grpcurl
    # decode them by asking reflection for the files of their type URLs, which
    # no contract needs to import. Imports first: a pool loads a file after its dependencies.
    files = []
    for module in (any_pb2, duration_pb2, status_pb2, error_details_pb2):
        file = descriptor_pb2.FileDescriptorProto()
        module.DESCRIPTOR.CopyToProto(file)
        files.append(file)
    return files


def _reflection_file(package: str) -> descriptor_pb2.FileDescriptorProto:
    # v1 is v1alpha renamed: same messages, same numbers; build its file so
    # that clients can describe the v1 service too.
    file = descriptor_pb2.FileDescriptorProto()
    reflection_pb2.DESCRIPTOR.CopyToProto(file)
    if package == _V1ALPHA:
        return file
    old, new = f".{_V1ALPHA}.", f".{package}."
    file.name = f"grpc/reflection/{package.rsplit('.', 1)[1]}/reflection.proto"
    file.package = package
    file.options.Clear()
    for message in file.message_type:
        for field in message.field:
            if field.HasField("type_name"):
                field.type_name = field.type_name.replace(old, new)
    for service in file.service:
        for method in service.method:
            method.input_type = method.input_type.replace(old, new)
            method.output_type = method.output_type.replace(old, new)
    return file
