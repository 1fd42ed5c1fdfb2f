"""Run protoc (from grpcio-tools), then the betterproto2 plugin, each in a subprocess.

protoc writes the descriptor set (with source info, for comments) into a
scratch folder; its diagnostics become one
:class:`~microlib_codegen.errors.CodegenError` with ``file:line:column:
message`` lines, paths shown relative to the working directory. The plugin
is then given only the files whose types the contract reaches (see
:func:`_files_reached`), as protoc would give it, and writes their message
modules.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path

from google.protobuf import descriptor_pb2
from google.protobuf.compiler import plugin_pb2

from microlib_codegen.errors import CodegenError

__all__ = ["ProtocOutput", "builtin_includes", "run_protoc"]

_PLUGIN = "protoc-gen-python_betterproto2"


@dataclass(frozen=True, slots=True)
class ProtocOutput:
    """What one protoc run produced.

    Args:
        descriptor_set: The serialized ``FileDescriptorSet`` (imports and
            source info included).
        message_files: betterproto2's files by path relative to its root.
    """

    descriptor_set: bytes
    message_files: dict[str, str]


def builtin_includes() -> list[Path]:
    """Include roots every generation gets after the user's own.

    microlib's vendored ``contracts/`` (``google/api``...) when running from
    a checkout; the ``.proto`` sources googleapis-common-protos ships (every
    ``google/api``, ``google/rpc`` and ``google/type`` file an API may import:
    ``client.proto``, ``resource.proto``, ``money.proto``...); then the
    well-known types from grpcio-tools. ``buf/validate/validate.proto``
    comes from protovalidate's descriptor (see :func:`_validate_descriptor`).
    """
    import google.api
    import grpc_tools

    roots: list[Path] = []
    vendored = Path(__file__).resolve().parents[2] / "contracts"
    if (vendored / "google" / "api" / "annotations.proto").is_file():
        roots.append(vendored)
    roots.append(Path(next(iter(google.api.__path__))).parents[1])
    roots.append(Path(next(iter(grpc_tools.__path__))) / "_proto")
    return roots


def _validate_descriptor(includes: list[Path], work: Path) -> list[str]:
    """``--descriptor_set_in`` for ``buf/validate/validate.proto`` unless an include root has it.

    protovalidate ships the file's descriptor, not its source; protoc can
    import from a descriptor set just as well.
    """
    if any((root / "buf" / "validate" / "validate.proto").is_file() for root in includes):
        return []
    try:
        import protovalidate
    except ModuleNotFoundError:
        return []
    file = descriptor_pb2.FileDescriptorProto.FromString(
        protovalidate.ViolationPb.desc().file.proto.to_binary()
    )
    # betterproto2 requires source info on every file, even an empty one.
    file.source_code_info.SetInParent()
    fds = descriptor_pb2.FileDescriptorSet(file=[file])
    path = work / "buf-validate.binpb"
    path.write_bytes(fds.SerializeToString(deterministic=True))
    return [f"--descriptor_set_in={path}"]


# googleapis-common-protos ships these sources under another name than googleapis gives them
# (its own `operations_proto.py` holds the Python names), and APIs import them by googleapis' path:
# every Google Cloud API with a long-running operation imports `google/longrunning/operations.proto`.
_RENAMED = {"google/longrunning/operations.proto": "google/longrunning/operations_proto.proto"}


def _renamed_sources(includes: list[Path], work: Path) -> list[str]:
    """An include root holding each file of :data:`_RENAMED` under its googleapis path.

    Only for a file no include root has under that path and one has under the shipped name.
    """
    root = work / "renamed"
    for path, shipped in _RENAMED.items():
        if any((r / path).is_file() for r in includes):
            continue
        source = next((r / shipped for r in includes if (r / shipped).is_file()), None)
        if source is not None:
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, root / path)
    return [f"-I{root}"] if root.is_dir() else []


def _plugin_path() -> str:
    beside = Path(sys.executable).parent / _PLUGIN
    if beside.is_file():
        return str(beside)
    found = shutil.which(_PLUGIN)
    if found is None:
        raise CodegenError(f"{_PLUGIN} not found: install microlib[codegen] (betterproto2-compiler)")
    return found


def _relative(text: str) -> str:
    cwd = f"{Path.cwd()}{os.sep}"
    return text.replace(cwd, "")


def run_protoc(files: list[str], includes: list[Path]) -> ProtocOutput:
    """Compile ``files`` (names relative to an include root).

    Args:
        files: Contract names, e.g. ``shop/v1/shop.proto``, sorted by the caller.
        includes: Include roots, searched in order.

    Returns:
        The descriptor set and betterproto2's message modules.

    Raises:
        CodegenError: protoc reported errors (each as ``file:line:col: msg``).
    """
    plugin = _plugin_path()
    with tempfile.TemporaryDirectory(prefix="microlib-codegen-") as scratch:
        work = Path(scratch)
        fds = work / "set.binpb"
        argv = [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            *(f"-I{root}" for root in includes),
            *_renamed_sources(includes, work),
            *_validate_descriptor(includes, work),
            "--include_imports",
            "--include_source_info",
            f"--descriptor_set_out={fds}",
            *files,
        ]
        proc = subprocess.run(argv, cwd=work, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            detail = (
                _relative((proc.stderr or proc.stdout).strip()) or f"protoc exited with {proc.returncode}"
            )
            raise CodegenError(detail)
        descriptor_set = fds.read_bytes()
        messages = _betterproto2(plugin, descriptor_set, files, work, includes)
        return ProtocOutput(descriptor_set=descriptor_set, message_files=messages)


def _betterproto2(
    plugin: str, descriptor_set: bytes, files: list[str], work: Path, includes: list[Path]
) -> dict[str, str]:
    """betterproto2's message modules of ``files`` and of the files whose types they reach.

    betterproto2 renders every file of its request, and protoc's request
    holds every import: ``google/api/annotations.proto`` alone brings the 55
    classes of ``google/protobuf/descriptor.proto``, each a dataclass a
    service's start would build. The request is protoc's less the files no
    rendered type refers to.
    """
    fds = descriptor_pb2.FileDescriptorSet.FromString(descriptor_set)
    reached = _files_reached(fds, files)
    groups = [line for file in fds.file if file.name in reached for line in _groups(file, includes)]
    if groups:
        raise CodegenError("\n".join(groups))
    request = plugin_pb2.CodeGeneratorRequest(
        file_to_generate=files,
        parameter="client_generation=none",
        proto_file=[file for file in fds.file if file.name in reached],
    )
    # betterproto2 shells out to `ruff` and looks for config from its
    # working directory: an empty one keeps its output machine-neutral.
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    proc = subprocess.run(
        [plugin],
        input=request.SerializeToString(),
        cwd=work,
        env=env,
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        stderr = proc.stderr.decode(errors="replace").strip()
        raise CodegenError(f"{_PLUGIN}: {stderr or f'exited with {proc.returncode}'}")
    response = plugin_pb2.CodeGeneratorResponse.FromString(proc.stdout)
    if response.error:
        raise CodegenError(f"{_PLUGIN}: {response.error}")
    return {file.name: file.content for file in response.file if file.name.endswith(".py")}


def _files_reached(fds: descriptor_pb2.FileDescriptorSet, files: Collection[str]) -> set[str]:
    """``files`` and, transitively, the files declaring a type that a field or method of theirs names.

    Every message of a file reached is rendered, so each type it names must be
    in the request too; a file imported only for its options (``extend``) is not.
    """
    declaring = {
        name: file.name
        for file in fds.file
        for name in _declared(file.package, file.message_type, file.enum_type)
    }
    by_name = {file.name: file for file in fds.file}
    reached: set[str] = set()
    pending = list(files)
    while pending:
        name = pending.pop()
        if name not in reached:
            reached.add(name)
            pending.extend(declaring[t] for t in _named_types(by_name[name]) if t in declaring)
    return reached


def _declared(
    scope: str,
    messages: Collection[descriptor_pb2.DescriptorProto],
    enums: Collection[descriptor_pb2.EnumDescriptorProto],
) -> Iterator[str]:
    for enum in enums:
        yield f"{scope}.{enum.name}".lstrip(".")
    for message in messages:
        full = f"{scope}.{message.name}".lstrip(".")
        yield full
        yield from _declared(full, message.nested_type, message.enum_type)


def _groups(file: descriptor_pb2.FileDescriptorProto, includes: list[Path]) -> Iterator[str]:
    """A ``file:line:column: ...`` line for each group field of ``file``.

    betterproto2 has no type for a proto2 ``group``: its plugin stopped with a traceback. A
    message field that an edition encodes ``DELIMITED`` (the same wire format) it takes for a
    length-prefixed one, so its messages' bytes would not be what every other runtime reads.
    """
    found = next((root / file.name for root in includes if (root / file.name).is_file()), None)
    shown = _relative(str(found)) if found is not None else file.name
    spans = {tuple(loc.path): loc.span for loc in file.source_code_info.location}
    features = descriptor_pb2.FeatureSet
    # Source paths: FileDescriptorProto.message_type is field 4, DescriptorProto.nested_type 3
    # and DescriptorProto.field 2. A feature is the field's own, else the nearest scope's.
    pending: list[tuple[tuple[int, ...], str, descriptor_pb2.DescriptorProto, int]] = [
        ((4, i), message.name, message, file.options.features.message_encoding)
        for i, message in enumerate(file.message_type)
    ]
    while pending:
        path, name, message, inherited = pending.pop(0)
        encoding = message.options.features.message_encoding or inherited
        entries = {f".{file.package}.{name}.{n.name}" for n in message.nested_type if n.options.map_entry}
        for i, field in enumerate(message.field):
            delimited = (
                field.type == field.TYPE_MESSAGE
                and field.type_name not in entries
                and (field.options.features.message_encoding or encoding) == features.DELIMITED
            )
            if field.type == field.TYPE_GROUP or delimited:
                line, column = spans.get((*path, 2, i), (-1, -1))[:2]
                yield (
                    f"{shown}:{line + 1}:{column + 1}: {file.package}.{name}.{field.name}: a group "
                    "(proto2 group, or message_encoding = DELIMITED) is not supported: "
                    "make it a length-prefixed message field"
                )
        # A map's entries are length-prefixed whatever the scope says.
        pending.extend(
            ((*path, 3, i), f"{name}.{nested.name}", nested, encoding)
            for i, nested in enumerate(message.nested_type)
            if not nested.options.map_entry
        )


def _named_types(file: descriptor_pb2.FileDescriptorProto) -> Iterator[str]:
    """The full names of the types a file's fields and methods refer to."""
    messages = list(file.message_type)
    while messages:
        message = messages.pop()
        messages.extend(message.nested_type)
        yield from (field.type_name.lstrip(".") for field in message.field if field.type_name)
    for service in file.service:
        for method in service.method:
            yield method.input_type.lstrip(".")
            yield method.output_type.lstrip(".")
