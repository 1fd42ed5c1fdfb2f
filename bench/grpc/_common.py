"""Code generation for the gRPC benchmark and the sample message.

Everything generated goes to ``bench/grpc/_gen/`` (ignored by git, ruff and
mypy): ``microlib codegen`` output (``benchgen``, and ``benchgen_upb`` with
``messages = "upb"``), protobuf (upb) modules with grpcio stubs, betterproto2
messages with betterproto2's own grpclib server, and protobuf-py (Buf's
idiomatic protobuf, ``pp``) messages.
"""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PROTOS = HERE / "protos"
PROTO = "benchpb/v1/bench.proto"
GEN = HERE / "_gen"

# The ten-field message both load generators send (k6 reads the JSON form).
ITEM_JSON = {
    "id": "item-000123",
    "name": "A reasonably descriptive item name",
    "count": "1099511627776",
    "price": 19.99,
    "tags": ["red", "large", "sale", "new"],
    "labels": {"team": "catalog", "region": "eu-west-1", "tier": "gold"},
    "createdAt": "2026-11-24T10:00:00Z",
    "owner": {"name": "Ann Example", "email": "ann@example.com"},
    "status": "STATUS_ACTIVE",
    "active": True,
}
CREATED_AT = datetime.datetime(2026, 11, 24, 10, 0, tzinfo=datetime.UTC)


def generate() -> None:
    """(Re)generate everything under ``_gen`` from the benchmark proto."""
    root = HERE.parents[1]
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        "PYTHONPATH": f"{root}:{root / 'codegen'}",
    }
    protoc = [sys.executable, "-m", "grpc_tools.protoc", f"-I{PROTOS}"]
    for kind, out_args in (
        ("upb", ["--python_out={out}", "--grpc_python_out={out}"]),
        ("bp", ["--python_betterproto2_out=client_generation=async,server_generation=async:{out}"]),
        # protoc runs protoc-gen-py (protobuf-py's plugin) for --py_out.
        ("pp", ["--py_out={out}"]),
    ):
        out = GEN / kind
        out.mkdir(parents=True, exist_ok=True)
        args = [a.format(out=out) for a in out_args]
        subprocess.run([*protoc, *args, PROTO], check=True, capture_output=True, env=env)
    (GEN / "__init__.py").touch()
    codegen = [sys.executable, "-m", "microlib.cli", "codegen", str(PROTOS / PROTO), "-I", str(PROTOS)]
    for package, layer in (("benchgen", "betterproto2"), ("benchgen_upb", "upb")):
        subprocess.run(
            [*codegen, "--messages", layer, "--out", str(GEN / package)],
            check=True,
            capture_output=True,
            cwd=root,
            env=env,
        )


def upb_item() -> Any:
    """``ITEM_JSON`` as grpcio-tools' (upb) ``Item``; after :func:`import_path`."""
    from benchpb.v1 import bench_pb2 as pb
    from google.protobuf import json_format

    return json_format.ParseDict(ITEM_JSON, pb.Item())


def import_path() -> None:
    """Make ``_gen`` importable: ``benchgen.benchpb.v1`` and ``benchgen_upb.benchpb.v1``
    (microlib codegen), ``benchpb.v1.bench_pb2`` (grpcio-tools), ``bp.benchpb.v1``
    (betterproto2) and ``pp.benchpb.v1.bench_pb`` (protobuf-py)."""
    for path in (str(GEN / "upb"), str(GEN)):
        if path not in sys.path:
            sys.path.insert(0, path)
