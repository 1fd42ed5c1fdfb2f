"""Run protoc (from grpcio-tools) and the betterproto2 plugin in a subprocess.

protoc writes the descriptor set (with source info, for comments) and
betterproto2's message modules into a scratch folder; its diagnostics become
one :class:`~microlib_codegen.errors.CodegenError` with ``file:line:column:
message`` lines, paths shown relative to the working directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from google.protobuf import descriptor_pb2

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
    with tempfile.TemporaryDirectory(prefix="microlib-codegen-") as scratch:
        work = Path(scratch)
        out = work / "messages"
        out.mkdir()
        fds = work / "set.binpb"
        argv = [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            *(f"-I{root}" for root in includes),
            *_validate_descriptor(includes, work),
            f"--plugin={_PLUGIN}={_plugin_path()}",
            "--include_imports",
            "--include_source_info",
            f"--descriptor_set_out={fds}",
            f"--python_betterproto2_out=client_generation=none:{out}",
            *files,
        ]
        # betterproto2 shells out to `ruff` and looks for config from its
        # working directory: an empty one keeps its output machine-neutral.
        env = dict(os.environ)
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        proc = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            detail = (
                _relative((proc.stderr or proc.stdout).strip()) or f"protoc exited with {proc.returncode}"
            )
            raise CodegenError(detail)
        messages = {
            path.relative_to(out).as_posix(): path.read_text(encoding="utf-8")
            for path in sorted(out.rglob("*"))
            if path.is_file() and path.suffix == ".py"
        }
        return ProtocOutput(descriptor_set=fds.read_bytes(), message_files=messages)
