"""The access line's direct path writes what structlog's general path writes, byte for byte."""

from __future__ import annotations

import dataclasses
import datetime
import io
import logging
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import structlog
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from pydantic import SecretStr

from microlib.observability import ServiceIdentity
from microlib.observability._lean_tracer import attach, detach, lean_tracing
from microlib.observability.identity import _current, _Serving
from microlib.observability.logging import _JSON, AccessLog, _dumps, _fallback
from microlib.observability.processors import REDACTED, add_service_fields, add_trace_ids
from tests.observability.helpers import make_observability

_NAME = "microlib.access"

# What a line's caller passes: the access lines' own fields, and what a user could add.
_FIELDS: list[tuple[str, str, dict[str, Any]]] = [
    ("info", "call completed", {"code": "OK", "duration_ms": 0.123}),
    ("error", "call completed", {"code": "INTERNAL", "duration_ms": 12.5}),
    (
        "info",
        "http request",
        {
            "method": "POST",
            "path": "/orders/é☃",
            "route": "/orders/{id}",
            "status": 201,
            "duration_ms": 1.0,
            "request_size": 57,
            "response_size": 0,
        },
    ),
    ("info", "résumé ✓", {"city": "Zürich", "big": 2**70, "raw": b"\xff", "nested": {1: "one"}}),
    ("info", "secrets", {"password": "hunter2", "api_key": "k", "headers": [("Authorization", "t")]}),
    ("info", "secret value", {"token_value": SecretStr("s"), "deep": {"cookie": "c", "ok": [1, 2.5]}}),
    ("warning", "overrides", {"service": "mine", "trace_id": "given", "level": "custom", "logger": "x"}),
    ("error", "failed", {"exc_info": ValueError("broken invariant")}),
    ("info", "context named", {"request_id": "from the call", "kind": "mine"}),
]

# What is bound for the call: plain fields, a secret and a redact key, non-ASCII.
_BOUND: list[dict[str, Any]] = [
    {},
    {"request_id": "0123456789abcdef"},
    {"request_id": "r-1", "kind": "grpc", "method": "orders.v1.Orders/Get"},
    {"password": "bound secret", "api_key": "bound key", "user": "Łukasz"},
    {"env": "bound env", "span_id": "bound span", "instance": 7},
]


@pytest.fixture(params=[["api_key"], ["api_key", "instance", "span_id"]])
def lines(request: pytest.FixtureRequest) -> Iterator[io.StringIO]:
    """A JSON pipeline at DEBUG with extra redact keys (some the pipeline's own fields), to a buffer."""
    obs, stream = make_observability(
        "orders", logging={"level": "DEBUG", "redact_keys": request.param}, tracing={"exporter": "none"}
    )
    _TRACERS["lean"] = obs.tracing.tracer
    yield stream
    obs.logs.flush()


# Spans of microlib's own tracer (the service's) and of the SDK's (a user's provider).
_TRACERS: dict[str, trace.Tracer] = {"sdk": TracerProvider().get_tracer("test")}


def _general(method_name: str, event: str, fields: dict[str, Any]) -> None:
    # The same chain, not as the configured list: structlog runs it processor by processor.
    chain = tuple(structlog.get_config()["processors"])
    logger = structlog.wrap_logger(logging.getLogger(_NAME), processors=chain)
    getattr(logger, method_name)(event, **fields)


def _shortcut(method_name: str, event: str, fields: dict[str, Any]) -> None:
    getattr(structlog.get_logger(_NAME).bind(), method_name)(event, **fields)


def _direct(method_name: str, event: str, fields: dict[str, Any]) -> None:
    AccessLog(_NAME).write(method_name, event, dict(fields))


def _written(stream: io.StringIO, write: Any, method_name: str, event: str, fields: dict[str, Any]) -> str:
    stream.seek(0)
    stream.truncate()
    write(method_name, event, fields)
    return stream.getvalue()


@pytest.mark.parametrize("bound", _BOUND)
@pytest.mark.parametrize("traced", ["", "lean", "sdk"])
@pytest.mark.parametrize("serving", [False, True])
def test_direct_lines_equal_the_general_paths(
    lines: io.StringIO, monkeypatch: pytest.MonkeyPatch, bound: dict[str, Any], traced: str, serving: bool
) -> None:
    """Every case's line is the same bytes on the direct path, the shortcut and structlog's chain."""
    # One clock for the three: the timestamps are equal only if the rest is.
    monkeypatch.setattr(time, "time_ns", lambda: 1_796_526_467_546_432_123)
    structlog.contextvars.bind_contextvars(**bound)
    span = trace.INVALID_SPAN
    token = None
    if traced:
        span = _TRACERS[traced].start_span("call")
        assert span.get_span_context().is_valid
        token = attach(trace.set_span_in_context(span))
    other = _current.set(_Serving(ServiceIdentity("other", "9.9", "prod", "i-2"), trace.get_tracer("t")))
    if not serving:
        _current.reset(other)
    try:
        for method_name, event, fields in _FIELDS:
            general = _written(lines, _general, method_name, event, fields)
            assert general.count("\n") == 1
            assert general.isascii()
            assert _written(lines, _shortcut, method_name, event, fields) == general
            assert _written(lines, _direct, method_name, event, fields) == general
    finally:
        if serving:
            _current.reset(other)
        if token is not None:
            detach(token)
        span.end()


def test_bound_secrets_are_redacted_on_the_direct_path(lines: io.StringIO) -> None:
    """Context bound by the user goes through redaction like the line's own fields."""
    structlog.contextvars.bind_contextvars(password="p", api_key="k", note="kept")
    AccessLog(_NAME).write("info", "call completed", {"code": "OK", "duration_ms": 1.0})
    line = lines.getvalue()
    assert f'"password":"{REDACTED}"' in line
    assert f'"api_key":"{REDACTED}"' in line
    assert '"note":"kept"' in line
    assert '"p"' not in line
    assert '"k"' not in line


def test_direct_path_respects_another_configuration(lines: io.StringIO) -> None:
    """A logger bound under another structlog configuration writes through that configuration."""
    seen: list[dict[str, Any]] = []

    def keep(_: Any, __: str, event_dict: dict[str, Any]) -> Any:
        seen.append(event_dict)
        raise structlog.DropEvent

    structlog.configure(processors=[keep])
    AccessLog(_NAME).write("info", "call completed", {"code": "OK"})
    assert seen == [{"code": "OK", "event": "call completed"}]
    assert lines.getvalue() == ""


def _reference_service_fields(event_dict: dict[str, Any], identity: ServiceIdentity) -> dict[str, Any]:
    event_dict.setdefault("service", identity.name)
    event_dict.setdefault("version", identity.version)
    event_dict.setdefault("env", identity.environment)
    event_dict.setdefault("instance", identity.instance_id)
    return event_dict


@pytest.mark.parametrize(
    "given",
    [{}, {"event": "x"}, {"env": "mine"}, {"instance": None, "a": 1}, {"service": "s", "version": "v"}],
)
def test_service_fields_are_added_as_setdefault_adds_them(given: dict[str, Any]) -> None:
    """Same keys, order and values as one ``setdefault`` per field, for each service in turn."""
    for identity in (ServiceIdentity("a", "1", "e", "i"), ServiceIdentity("b", "2", "f", "j")):
        token = _current.set(_Serving(identity, trace.get_tracer("t")))
        try:
            ours = add_service_fields(None, "info", dict(given))
        finally:
            _current.reset(token)
        expected = _reference_service_fields(dict(given), identity)
        assert list(ours.items()) == list(expected.items())


@pytest.mark.parametrize("given", [{}, {"trace_id": "mine"}, {"span_id": "mine", "event": "x"}])
@pytest.mark.parametrize("traced", ["sdk", "lean", "both"])
def test_trace_ids_are_those_of_the_current_span(given: dict[str, Any], traced: str) -> None:
    """Same keys, order and values as the API's current span formatted in hex, and none without one:
    for the SDK's spans, microlib's own (read without the API) and the two in turn (the ids of
    the span before are never reused for another)."""
    tracers = {"sdk": [_TRACERS["sdk"]], "lean": [_lean_tracer()], "both": [_TRACERS["sdk"], _lean_tracer()]}[
        traced
    ]
    assert add_trace_ids(None, "info", dict(given)) == given
    for tracer in [*tracers, *tracers]:
        span = tracer.start_span("call")
        token = attach(trace.set_span_in_context(span))
        try:
            for _ in range(2):
                ours = add_trace_ids(None, "info", dict(given))
                context = trace.get_current_span().get_span_context()
                expected = dict(given)
                expected.setdefault("trace_id", format(context.trace_id, "032x"))
                expected.setdefault("span_id", format(context.span_id, "016x"))
                assert list(ours.items()) == list(expected.items())
        finally:
            detach(token)
            span.end()
    assert add_trace_ids(None, "info", dict(given)) == given


def _lean_tracer() -> trace.Tracer:
    return lean_tracing(Resource.create({}), 1.0, "1")[1]


_EVERY_OPTION = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def _reference_dumps(event: Any) -> str:
    # One encoding with every option, the standard library's for what orjson rejects or escapes.
    try:
        line = orjson.dumps(event, default=_fallback, option=_EVERY_OPTION)
    except TypeError:
        return _JSON.encode(event)
    return line.decode() if line.isascii() else _JSON.encode(event)


@dataclasses.dataclass
class _Point:
    x: int


@pytest.mark.parametrize(
    "event",
    [
        {"event": "plain", "status": 200, "ok": True, "none": None, "ratio": 0.5},
        {"event": "nested", "fields": {"a": [1, {"b": 2}]}},
        {"event": "int keys", "nested": {1: "one", 2.5: "x", None: "n"}},
        {1: "top-level int key"},
        {
            "event": "when",
            "at": datetime.datetime(2026, 1, 2, tzinfo=datetime.UTC),
            "day": datetime.date(2026, 1, 2),
        },
        {"event": "odd", "raw": b"\xff", "point": _Point(1), "set": {1}, "big": 2**70},
        {"event": "Zürich ✓", "surrogate": "\ud800"},
    ],
)
def test_json_rendering_equals_one_encoding_with_every_option(event: dict[Any, Any]) -> None:
    """Text keys encoded without OPT_NON_STR_KEYS give the bytes the encoding with it gives."""
    assert _dumps(event) == _reference_dumps(event)
