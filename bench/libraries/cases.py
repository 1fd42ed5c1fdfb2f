"""The cases of ``bench/libraries/callgrind.py``: each library against microlib's own code, same input.

``python -m bench.libraries.cases CASE N`` sets the case up, runs the
operation 200 times to warm up, then ``N`` times. Case names are
``group.what.side``; the first side of a group is the library.
"""

from __future__ import annotations

import collections
import contextvars
import importlib
import importlib.util
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

Operation = Callable[[], object]
_LABELS = ("method", "route", "status")
_VALUES = ("GET", "/items/{id}", "200")


# ---------------------------------------------------------------- metrics


def _metric_sides() -> dict[str, Any]:
    import prometheus_client
    from prometheus_client.registry import CollectorRegistry

    from microlib.observability import PrometheusMetrics
    from microlib.observability.prometheus import DEFAULT_BUCKETS

    registry = CollectorRegistry(auto_describe=True)
    ours = PrometheusMetrics(process_metrics=False)
    return {
        "prometheus_client": (
            prometheus_client.Counter("requests", "Requests.", _LABELS, registry=registry),
            prometheus_client.Histogram(
                "duration", "D.", _LABELS, buckets=DEFAULT_BUCKETS, registry=registry
            ),
        ),
        "microlib": (
            ours.counter("requests", "Requests.", _LABELS),
            ours.histogram("duration", "D.", _LABELS, buckets=DEFAULT_BUCKETS),
        ),
    }


def _counter(side: str) -> Operation:
    return _metric_sides()[side][0].labels(*_VALUES).inc


def _histogram(side: str) -> Operation:
    observe = _metric_sides()[side][1].labels(*_VALUES).observe
    return lambda: observe(0.0123)


def _labels(side: str) -> Operation:
    labels = _metric_sides()[side][0].labels
    return lambda: labels(*_VALUES)


# ---------------------------------------------------------------- logs


def _merge(side: str) -> Operation:
    import structlog
    from opentelemetry import context, trace

    from microlib.observability._structlog_private import merge_contextvars

    # A request's context: OpenTelemetry's current span, a few other
    # libraries' variables, and the three fields microlib binds.
    context.attach(trace.set_span_in_context(trace.NonRecordingSpan(trace.INVALID_SPAN_CONTEXT)))
    for i in range(5):
        contextvars.ContextVar(f"library_{i}").set(i)
    structlog.contextvars.bind_contextvars(request_id="r-1", kind="http", method="GET /items/{id}")
    merge = structlog.contextvars.merge_contextvars if side == "structlog" else merge_contextvars
    return lambda: merge(None, "info", {"event": "request"})


# ---------------------------------------------------------------- JSON


def _json_sides(side: str) -> tuple[Any, Any, Any]:
    """(message, the side's dump, the side's load) for bench/codec's 10-field message."""
    from bench.codec.run import _messages
    from microlib.contract.message_json import _slow, message_json
    from microlib.contract.protojson import JsonOptions

    sys.path.insert(0, os.environ["BENCH_LIBRARIES_GEN"])
    module = importlib.import_module("benchgen.bench.v1")
    codecs = importlib.import_module("benchgen._codec").CODECS
    message = _messages(module)["10-field"]
    codec = codecs[module.Ten]
    if side == "betterproto2":
        return message, module.Ten.to_dict, module.Ten.from_dict
    if side == "json_format":
        mapping = _slow(codec, JsonOptions())
    else:
        mapping = message_json(next(iter(codecs.values())).encode, module.Ten, JsonOptions())
    return message, mapping.dump, mapping.load


def _json_dump(side: str) -> Operation:
    message, dump, _ = _json_sides(side)
    return lambda: dump(message)


def _json_load(side: str) -> Operation:
    message, _, load = _json_sides(side)
    value = _json_sides("json_format")[1](message)
    return lambda: load(value)


def _protobuf_py_ten() -> Any:
    # protoc-gen-py's module for bench.proto, loaded by path: its package is
    # named ``bench`` too.
    path = Path(os.environ["BENCH_LIBRARIES_GEN"]) / "pbpy" / "bench" / "v1" / "bench_pb.py"
    spec = importlib.util.spec_from_file_location("pbpy_bench", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Ten


def _json_text(side: str) -> tuple[Callable[[], str], Callable[[str], object], str]:
    """(dump to text, load from text, the text) of the 10-field message, end to end."""
    import orjson

    message, dump, load = _json_sides("microlib" if side.startswith("protobuf_py") else side)
    codec = importlib.import_module("benchgen._codec").CODECS[type(message)]
    text = codec.to_json(message)
    if side == "json_format":
        return lambda: codec.to_json(message), codec.from_json, text
    if side == "microlib":
        return lambda: orjson.dumps(dump(message)).decode(), lambda t: load(orjson.loads(t)), text
    ten = _protobuf_py_ten()
    if side == "protobuf_py_native":
        native = ten.from_binary(codec.encode(message))
        return native.to_json, ten.from_json, text
    # betterproto2 dataclass <-> protobuf-py message through the wire format.
    return (
        lambda: ten.from_binary(codec.encode(message)).to_json(),
        lambda t: codec.decode(ten.from_json(t).to_binary()),
        text,
    )


# ---------------------------------------------------------------- message layers (issue 19's opt-in)


def _layer(side: str) -> tuple[Any, Callable[[], bytes], Callable[[bytes], object], Callable[[], str], Any]:
    """(message, encode, decode, to JSON text, from JSON text) of the 10-field message on one layer.

    ``upb``: protobuf's upb class (the generated package's own pool) with
    ``json_format``; ``protobuf_py``: protoc-gen-py's class; ``betterproto2``:
    the default dataclass through microlib's generated codec and converters.
    """
    message, _, _ = _json_sides("microlib")
    codec = importlib.import_module("benchgen._codec").CODECS[type(message)]
    if side == "betterproto2":
        dump, load, _ = _json_text("microlib")
        return message, lambda: codec.encode(message), codec.decode, dump, load
    if side == "upb":
        from google.protobuf import json_format

        upb = codec.to_upb(message)
        cls = type(upb)

        def from_json(text: str) -> object:
            return json_format.Parse(text, cls())

        return (
            upb,
            upb.SerializeToString,
            cls.FromString,
            lambda: json_format.MessageToJson(upb, indent=None),
            from_json,
        )
    ten = _protobuf_py_ten()
    native = ten.from_binary(codec.encode(message))
    return native, native.to_binary, ten.from_binary, native.to_json, ten.from_json


def _layer_operation(side: str, what: str) -> Operation:
    """``encode``, ``to_json``, or the way back (``decode``, ``from_json``) of what they give."""
    _, encode, decode, to_json, from_json = _layer(side)
    out, back = (encode, decode) if what in ("encode", "decode") else (to_json, from_json)
    if what in ("encode", "to_json"):
        return out
    produced = out()
    return lambda: back(produced)


def _json_to_text(side: str) -> Operation:
    return _json_text(side)[0]


def _json_from_text(side: str) -> Operation:
    _, load, text = _json_text(side)
    return lambda: load(text)


# ---------------------------------------------------------------- config

_TOML = """
[service]
name = "orders"
environment = "production"

[http]
port = 8080
host = "0.0.0.0"

[database]
url = "postgresql+asyncpg://orders@db/orders"
pool_size = 10
options = { statement_timeout = "5s", application_name = "orders" }

[logging]
level = "INFO"
format = "json"
loggers = { "sqlalchemy.engine" = "WARNING", "uvicorn.access" = "WARNING" }

[tracing]
exporter = "otlp-grpc"
endpoint = "http://collector:4317"
sample_ratio = 0.1

[security]
deny_by_default = true
public_paths = ["/healthz", "/readyz", "/metrics"]

[[security.issuers]]
issuer = "https://id.example.com"
audience = "orders"
jwks_url = "https://id.example.com/.well-known/jwks.json"
"""


def _toml(side: str) -> Operation:
    import tomllib

    from microlib.config._toml import parse_toml

    if side == "tomllib":
        return lambda: tomllib.loads(_TOML)
    return lambda: parse_toml(_TOML)


_ENVIRON = {"DB_HOST": "db", "PORT": "8080", "LEVEL": "INFO"}


def _interpolation(side: str) -> Operation:
    from microlib.config._interpolation import interpolate

    def tree(env: Callable[[str, str | None], str]) -> dict[str, Any]:
        return {
            "service": {"name": "orders", "environment": "production"},
            "http": {"port": env("PORT", None), "host": "0.0.0.0"},
            "database": {"url": f"postgresql://orders@{env('DB_HOST', None)}/orders", "pool_size": 10},
            "logging": {"level": env("LEVEL", "WARNING"), "format": env("FORMAT", "json")},
            "tracing": {"endpoint": f"http://{env('COLLECTOR', 'collector')}:4317", "sample_ratio": 0.1},
            "security": {"public_paths": ["/healthz", "/readyz", "/metrics"]},
        }

    if side == "omegaconf":
        from omegaconf import OmegaConf

        os.environ.update(_ENVIRON)

        def oc(name: str, default: str | None) -> str:
            return f"${{oc.env:{name}}}" if default is None else f"${{oc.env:{name},{default}}}"

        config = OmegaConf.create(tree(oc))
        return lambda: OmegaConf.to_container(config, resolve=True)

    def ours(name: str, default: str | None) -> str:
        return f"${{{name}}}" if default is None else f"${{{name}:{default}}}"

    plain = tree(ours)
    return lambda: interpolate(plain, _ENVIRON)


def _layer_merge(side: str) -> Operation:
    """The layers of a service configured by code defaults, one file, the environment and
    two ``--set``s, merged as ``config.loader`` merges them on every load."""
    from microlib.config.loader import _merge
    from microlib.config.sources import EnvSource, Layer, MappingSource, OverrideSource

    code = {"security": {"enabled": False}, "transcoding": {"docs_prefix": "/rest"}}
    file = {
        "service": {"environment": "production"},
        "http": {"port": 8080, "host": "0.0.0.0"},
        "database": {"url": "postgresql://orders@db/orders", "pool_size": 10},
        "logging": {"level": "INFO", "format": "json", "levels": {"sqlalchemy.engine": "WARNING"}},
        "tracing": {"exporter": "otlp-grpc", "endpoint": "http://collector:4317", "sample_ratio": 0.1},
        "security": {"enabled": True, "public_paths": ["/healthz", "/readyz", "/metrics"]},
    }
    environ = {"MICROLIB__HTTP__PORT": "8081", "MICROLIB__LOGGING__LEVEL": "WARNING"}
    layers = [
        MappingSource(code).load(),
        MappingSource(file).load(),
        EnvSource(environ, "MICROLIB").load(),
        OverrideSource(["grpc.port=0", "logging.level=DEBUG"]).load(),
    ]
    if side == "omegaconf":
        from omegaconf import OmegaConf

        # config.loader's merge before ADR 0012 replaced it: leaves boxed so omegaconf keeps them whole.
        class Box:
            __slots__ = ("leaf",)

            def __init__(self, leaf: Any) -> None:
                self.leaf = leaf

        def boxed(tree: dict[str, Any]) -> dict[str, Any]:
            return {key: boxed(node) if isinstance(node, dict) else Box(node) for key, node in tree.items()}

        def merge(layers: list[Layer]) -> Any:
            configs = [OmegaConf.create(boxed(layer.tree), flags={"allow_objects": True}) for layer in layers]
            return OmegaConf.to_container(OmegaConf.merge(*configs), resolve=False)

        def unboxed(tree: dict[str, Any]) -> dict[str, Any]:
            return {k: unboxed(v) if isinstance(v, dict) else v.leaf for k, v in tree.items()}

        theirs = unboxed(merge(layers))
        ours = _merge(layers)
        # The same tree, keys in the same order at every level.
        if theirs != ours or repr(theirs) != repr(ours):
            raise AssertionError("omegaconf and config.loader merge the layers differently")
        return lambda: merge(layers)
    return lambda: _merge(layers)


# ---------------------------------------------------------------- email formats


def _email(side: str, fmt: str) -> Operation:
    """One address checked as JSON Schema's ``email`` or ``idn-email`` (RFC 5321, RFC 6531):
    by email-validator as pydantic's ``EmailStr`` calls it, or by the format plan's check."""
    address = "ann.reader@shop.example" if fmt == "email" else "jörg.müller@bücher.example"
    if side == "email_validator":
        from email_validator import validate_email

        return lambda: validate_email(address, check_deliverability=False)
    from microlib.core._formats import _CHECKS

    check = _CHECKS[fmt]
    if not check(address):
        raise AssertionError(f"{address} is an {fmt}")
    return lambda: check(address)


# ---------------------------------------------------------------- validation


def _validation(side: str) -> Operation:
    """A valid ``CreateOrderRequest`` of the transcoded HTTP bench (a pattern, a range, a
    length, two REQUIRED fields), through the validator its codec builds, as the route
    calls it. ``protovalidate`` is the general path (conversion to upb, the REQUIRED walk,
    ``collect_violations``), ``microlib`` the compiled simple rules (ADR 0016)."""
    if not (Path(__file__).parents[1] / "http" / "_gen").exists():
        from bench.http.run import generate

        generate()
    from bench.http._gen import _codec
    from bench.http._gen._messages.benchorders.v1 import CreateOrderRequest
    from microlib.grpc import validation

    validate = validation.make_validator(
        _codec._pb_benchorders__v1__CreateOrderRequest, _codec.to_pb_benchorders__v1__CreateOrderRequest
    )
    message = CreateOrderRequest(sku="ABC-1234", quantity=3, note="leave at the door")
    fast_check = validation._fast_check
    if side == "protovalidate":  # compiled without a fast check: every message takes the general path
        validation._fast_check = lambda *args: None
    try:
        validate(message)  # the rules are compiled at the first call
    finally:
        validation._fast_check = fast_check
    return lambda: validate(message)


CASES: dict[str, Callable[[], Operation]] = {
    "loop": lambda: lambda: None,
    "metrics.counter.prometheus_client": lambda: _counter("prometheus_client"),
    "metrics.counter.microlib": lambda: _counter("microlib"),
    "metrics.histogram.prometheus_client": lambda: _histogram("prometheus_client"),
    "metrics.histogram.microlib": lambda: _histogram("microlib"),
    "metrics.labels.prometheus_client": lambda: _labels("prometheus_client"),
    "metrics.labels.microlib": lambda: _labels("microlib"),
    "logs.merge.structlog": lambda: _merge("structlog"),
    "logs.merge.microlib": lambda: _merge("microlib"),
    "json.dump.json_format": lambda: _json_dump("json_format"),
    "json.dump.betterproto2": lambda: _json_dump("betterproto2"),
    "json.dump.microlib": lambda: _json_dump("microlib"),
    "json.load.json_format": lambda: _json_load("json_format"),
    "json.load.betterproto2": lambda: _json_load("betterproto2"),
    "json.load.microlib": lambda: _json_load("microlib"),
    "json.to_text.json_format": lambda: _json_to_text("json_format"),
    "json.to_text.microlib": lambda: _json_to_text("microlib"),
    "json.to_text.protobuf_py_via_wire": lambda: _json_to_text("protobuf_py_via_wire"),
    "json.to_text.protobuf_py_native": lambda: _json_to_text("protobuf_py_native"),
    "json.from_text.json_format": lambda: _json_from_text("json_format"),
    "json.from_text.microlib": lambda: _json_from_text("microlib"),
    "json.from_text.protobuf_py_via_wire": lambda: _json_from_text("protobuf_py_via_wire"),
    "json.from_text.protobuf_py_native": lambda: _json_from_text("protobuf_py_native"),
    **{
        f"layer.{what}.{side}": (lambda what=what, side=side: _layer_operation(side, what))
        for what in ("encode", "decode", "to_json", "from_json")
        for side in ("upb", "protobuf_py", "betterproto2")
    },
    "toml.parse.tomllib": lambda: _toml("tomllib"),
    "toml.parse.microlib": lambda: _toml("microlib"),
    "interpolation.resolve.omegaconf": lambda: _interpolation("omegaconf"),
    "interpolation.resolve.microlib": lambda: _interpolation("microlib"),
    "config.merge.omegaconf": lambda: _layer_merge("omegaconf"),
    "config.merge.microlib": lambda: _layer_merge("microlib"),
    "email.check.email_validator": lambda: _email("email_validator", "email"),
    "email.check.microlib": lambda: _email("microlib", "email"),
    "idn_email.check.email_validator": lambda: _email("email_validator", "idn-email"),
    "idn_email.check.microlib": lambda: _email("microlib", "idn-email"),
    "validate.order.protovalidate": lambda: _validation("protovalidate"),
    "validate.order.microlib": lambda: _validation("microlib"),
}


def generate(target: Path, *, protobuf_py: bool) -> None:
    """Generate bench/codec's contracts into ``target``, outside valgrind (protoc and ruff are slow there).

    microlib's generated package goes to ``target/benchgen``; with
    ``protobuf_py``, protoc-gen-py's classes go to ``target/pbpy``.
    """
    from microlib_codegen import CodegenConfig, build
    from microlib_codegen._protoc import builtin_includes
    from microlib_codegen.check import write

    contracts = Path(__file__).parents[1] / "codec" / "contracts"
    out = target / "benchgen"
    write(build(CodegenConfig(contracts=(contracts,), out=out)).files, out)
    if protobuf_py:
        (target / "pbpy").mkdir()
        subprocess.run(
            [sys.executable, "-m", "grpc_tools.protoc", f"-I{contracts}",
             *(f"-I{include}" for include in builtin_includes()), f"--py_out={target / 'pbpy'}",
             "bench/v1/bench.proto"],
            check=True,
        )  # fmt: skip


def main() -> None:
    """Run one case: ``python -m bench.libraries.cases CASE N``."""
    case, n = sys.argv[1], int(sys.argv[2])
    operation = CASES[case]()
    for _ in range(200):
        operation()
    # The only call of deque_init, which callgrind.py's --toggle-collect counts.
    collections.deque((operation() for _ in range(n)), maxlen=0)


if __name__ == "__main__":
    main()
