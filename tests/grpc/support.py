"""The echo test service: protoc-generated upb modules and a servicer.

Until ``microlib codegen`` lands, the tests describe the service to the
runtime with a :class:`ServiceDefinition` built here from grpcio-tools output;
the generated ``EchoServiceStub`` doubles as the plain grpcio client.
"""

from __future__ import annotations

import asyncio
import importlib
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from google.protobuf import descriptor_pb2
from protobuf.wkt.google.protobuf import descriptor_pb, duration_pb, field_mask_pb, timestamp_pb
from protovalidate._gen.buf.validate import validate_pb

import microlib.core.errors as errors
from microlib.contract import MethodDefinition, MethodKind, ServiceDefinition
from microlib.core.context import CallContext, current_context
from microlib.grpc import make_validator
from tests.codegen.conftest import codegen

PROTOS = Path(__file__).parent / "protos"


def generate_with_layer(proto: str, out: Path, package: str, layer: str) -> ModuleType:
    """Run ``microlib codegen --messages <layer>`` on ``protos/<proto>`` into
    ``out/<package>``, put ``out`` on ``sys.path`` and import ``package``."""
    result = codegen(PROTOS / proto, "--out", out / package, "-I", PROTOS, "--messages", layer)
    assert result.returncode == 0, result.stderr
    sys.path.insert(0, str(out))
    return importlib.import_module(package)


@dataclass
class Generated:
    """The modules and descriptor set grpcio-tools produced."""

    pb2: ModuleType
    pb2_grpc: ModuleType
    file_descriptor_set: bytes


def generate(out: Path, proto: str = "echotest/v1/echo.proto") -> Generated:
    """Run grpc_tools.protoc on a test proto into ``out`` and import it.

    ``buf/validate/validate.proto`` comes from protovalidate's own descriptor,
    which is passed to protoc as a descriptor set.
    """
    validate_set = descriptor_pb2.FileDescriptorSet()
    for module in (descriptor_pb, duration_pb, field_mask_pb, timestamp_pb, validate_pb):
        validate_set.file.add().ParseFromString(module.desc().proto.to_binary())
    (out / "validate.binpb").write_bytes(validate_set.SerializeToString())
    includes = Path(importlib.import_module("google.api").__path__[0]).parent.parent
    fds = out / "echo.binpb"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"-I{PROTOS}",
            f"-I{includes}",
            f"--descriptor_set_in={out / 'validate.binpb'}",
            f"--python_out={out}",
            f"--grpc_python_out={out}",
            "--include_imports",
            f"--descriptor_set_out={fds}",
            proto,
            "buf/validate/validate.proto",
        ],
        check=True,
        capture_output=True,
    )
    sys.path.insert(0, str(out))
    name = proto.removesuffix(".proto").replace("/", ".")
    return Generated(
        importlib.import_module(f"{name}_pb2"),
        importlib.import_module(f"{name}_pb2_grpc"),
        fds.read_bytes(),
    )


def definition_for(generated: Generated, service: str = "EchoService") -> ServiceDefinition:
    """The ServiceDefinition codegen would emit, built from upb classes."""
    descriptor = generated.pb2.DESCRIPTOR.services_by_name[service]
    methods = {}
    for m in descriptor.methods:
        request = getattr(generated.pb2, m.input_type.name)
        response = getattr(generated.pb2, m.output_type.name)
        kind = {
            (False, False): MethodKind.UNARY_UNARY,
            (False, True): MethodKind.UNARY_STREAM,
            (True, False): MethodKind.STREAM_UNARY,
            (True, True): MethodKind.STREAM_STREAM,
        }[(m.client_streaming, m.server_streaming)]
        methods[m.name] = MethodDefinition(
            name=m.name,
            python_name=re.sub(r"(?<!^)(?=[A-Z])", "_", m.name).lower(),
            kind=kind,
            request_type=request,
            response_type=response,
            decode_request=request.FromString,
            encode_response=response.SerializeToString,
            encode_request=request.SerializeToString,
            decode_response=response.FromString,
            validate_request=make_validator(request, lambda message: message),
        )
    return ServiceDefinition(descriptor.full_name, methods, object, generated.file_descriptor_set)


@dataclass
class Record:
    """What the servicer observed, for assertions."""

    cancelled: asyncio.Event = field(default_factory=asyncio.Event)
    started: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    contexts: list[Any] = field(default_factory=list)


class EchoServicer:
    """Echoes; the request's ``message`` selects special behaviour.

    ``raise:<Code>`` raises that microlib error with details, ``boom`` a
    plain exception, ``hang`` waits (recording cancellation), ``wait`` waits
    for ``record.release``, ``fail-after:N`` ends a stream with an error.
    """

    def __init__(self, pb2: ModuleType, record: Record) -> None:
        self.pb2 = pb2
        self.record = record

    async def echo(self, request: Any, ctx: CallContext) -> Any:
        assert current_context() is ctx
        self.record.contexts.append(ctx)
        ctx.response_metadata["x-echoed"] = request.message
        ctx.response_trailers["x-echoed-after"] = request.message
        await self._behave(request.message)
        return self.pb2.EchoResponse(
            message=request.message, index=request.count, payload=request.payload, metadata=ctx.metadata
        )

    async def expand(self, request: Any, ctx: CallContext) -> AsyncIterator[Any]:
        for index in range(request.count):
            if request.message == f"fail-after:{index}":
                raise errors.ResourceExhausted("quota used up", reason="QUOTA", domain="echo.test")
            yield self.pb2.EchoResponse(message=request.message, index=index)
        await self._behave(request.message)

    async def collect(self, requests: AsyncIterator[Any], ctx: CallContext) -> Any:
        parts = [request.message async for request in requests]
        await self._behave(parts[-1] if parts else "")
        return self.pb2.EchoResponse(message="+".join(parts), index=len(parts))

    async def chat(self, requests: AsyncIterator[Any], ctx: CallContext) -> AsyncIterator[Any]:
        index = 0
        async for request in requests:
            await self._behave(request.message)
            yield self.pb2.EchoResponse(message=request.message, index=index)
            index += 1

    async def _behave(self, message: str) -> None:
        if message.startswith("raise:"):
            code = errors.Code[message.removeprefix("raise:")]
            raise errors.Error(
                f"echo failed with {code.name}",
                code=code,
                reason="ECHO_FAILED",
                domain="echo.test",
                metadata={"code": code.name},
                violations=[errors.FieldViolation("message", "asked to fail", "echo.fail")],
            )
        if message == "boom":
            raise RuntimeError("secret internals: password=hunter2")
        if message in ("hang", "wait"):
            self.record.started.set()
            try:
                if message == "hang":
                    await asyncio.Event().wait()
                await self.record.release.wait()
            except asyncio.CancelledError:
                self.record.cancelled.set()
                raise
