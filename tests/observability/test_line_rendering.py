"""A line rendered by the pipeline's fast path is the line structlog's general chain writes.

The fast path (``LogPipeline._render``) writes a clean event's JSON from the
event's own encoding and the pipeline's fields rendered once. These tests
draw many events (odd text, unicode, numbers at orjson's limits, secrets,
the pipeline's own field names, exceptions, bound context, spans and
services of every kind) and compare the lines byte for byte.
"""

from __future__ import annotations

import collections
import datetime
import enum
import io
import logging
import random
import time
import types
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from pydantic import SecretStr

from microlib.observability import ServiceIdentity
from microlib.observability._lean_tracer import attach, detach
from microlib.observability._structlog_private import merge_contextvars
from microlib.observability.identity import _current, _Serving
from microlib.observability.logging import _PIPELINE_FIELDS, AccessLog, LogPipeline, _IsoTimestamper
from tests.observability.helpers import make_observability

_TEXT = [
    "",
    "plain",
    'quote " and \\ backslash',
    "tab\tnew line\ncarriage\r",
    "\x00\x01\x1f\x7f",
    "</script>&'",
    "/orders/{id}",
    "é",
    "Zürich ☃",
    "😀 emoji",
    "\u2028\u2029",
    "\ud800",
    "a" * 300,
    "0123456789abcdef0123456789abcdef",
]
_NUMBERS: list[Any] = [
    0,
    -1,
    201,
    2**31,
    2**53 + 1,
    2**63 - 1,
    2**63,
    2**64 - 1,
    2**64,
    -(2**63),
    -(2**63) - 1,
    2**70,
    0.0,
    -0.0,
    0.1,
    1.5,
    12.345,
    0.001,
    1e16,
    1e-7,
    123456789.123,
    1e308,
    float("nan"),
    float("inf"),
    -float("inf"),
    True,
    False,
    None,
]


class _Colour(enum.Enum):
    RED = "red"


class _Level(enum.IntEnum):
    HIGH = 3


class _Text(str):
    pass


class _Items(list[Any]):
    pass


_OTHER: list[Any] = [
    _Colour.RED,
    _Level.HIGH,
    _Text("sub-text"),
    _Items([{"token": "t"}]),
    uuid.UUID(int=5),
    collections.OrderedDict(password="p", kept=1),
    types.MappingProxyType({"cookie": "c"}),
    'x":{"password":"p"}',
    b"\xff",
    b"bytes",
    SecretStr("hunter2"),
    {"nested": "x", "password": "p", 1: "one"},
    [("Authorization", "Bearer t"), ("accept", "*/*"), (b"cookie", b"c")],
    ["a", 1, None],
    (1, 2),
    datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
    {1, 2},
]
# Names a caller uses, secrets (always and by redact_keys), and the fields the pipeline adds.
_KEYS = [
    "method",
    "path",
    "route",
    "status",
    "duration_ms",
    "request_size",
    "response_size",
    "code",
    "user",
    "note",
    "Città",
    "request_id",
    "kind",
    "password",
    "Authorization",
    "set_cookie",
    "api_key",
    "API-KEY",
    "token",
    "x-microlib-principal",
    *sorted(_PIPELINE_FIELDS),
]
_LOGGERS = ["microlib.access", "microlib.http", "café.accès", 'quo"te\\name']
_METHODS = ["info", "error", "warning", "warn", "debug", "critical"]
_IDENTITIES = [
    None,
    ServiceIdentity("other", "9.9", "prod", "i-2"),
    ServiceIdentity("commandes", "1.0-é", "prod", "i-3"),
    ServiceIdentity('odd "name"', "1\\0", "env\n", "i\t4"),
]
_TRACERS: dict[str, trace.Tracer] = {"sdk": TracerProvider().get_tracer("test")}


@pytest.fixture(params=[["api_key"], ["api_key", "instance", "span_id"]])
def pipeline(request: pytest.FixtureRequest) -> Iterator[tuple[LogPipeline, io.StringIO]]:
    """A JSON pipeline at DEBUG with extra redact keys (some the pipeline's own fields), to a buffer."""
    obs, stream = make_observability(
        "orders", logging={"level": "DEBUG", "redact_keys": request.param}, tracing={"exporter": "none"}
    )
    _TRACERS["lean"] = obs.tracing.tracer
    yield obs.logs, stream
    obs.logs.flush()


# The values of a usual line: ASCII text, numbers in 64 bits.
_USUAL = [
    value
    for value in [*_TEXT, *_NUMBERS]
    if value is None
    or not isinstance(value, str | int)
    or (value.isascii() if isinstance(value, str) else -(2**63) <= value < 2**64)
]


def _value(rng: random.Random, usual: bool) -> Any:
    if usual:
        return rng.choice(_USUAL)
    return rng.choice(rng.choice([_TEXT, _NUMBERS, _OTHER]))


def _fields(rng: random.Random, usual: bool) -> dict[str, Any]:
    plain_only = usual or rng.random() < 0.5
    if usual or rng.random() < 0.5:
        # An access line's own shape, its values drawn.
        names = rng.choice(
            [
                ["method", "path", "route", "status", "duration_ms", "request_size", "response_size"],
                ["code", "duration_ms"],
            ]
        )
    else:
        names = rng.sample(_KEYS, rng.randint(0, 6))
    fields = {name: _value(rng, usual) if plain_only else _value(rng, False) for name in names}
    if not usual and rng.random() < 0.1:
        fields["exc_info"] = ValueError("broken invariant")
    return fields


def _bound(rng: random.Random, usual: bool) -> dict[str, Any]:
    if usual:
        names = rng.sample(["request_id", "kind", "method", "user"], rng.randint(0, 3))
    else:
        names = rng.sample(
            ["request_id", "kind", "method", "user", "password", "level", "service"], rng.randint(0, 3)
        )
    return {name: _value(rng, usual) for name in names}


def _general(name: str, method_name: str, event: str, fields: dict[str, Any]) -> None:
    # The configured chain, run processor by processor by structlog itself.
    chain = tuple(structlog.get_config()["processors"])
    logger = structlog.wrap_logger(logging.getLogger(name), processors=chain)
    getattr(logger, method_name)(event, **fields)


def _direct(name: str, method_name: str, event: str, fields: dict[str, Any]) -> None:
    AccessLog(name).write(method_name, event, dict(fields))


def _shortcut(name: str, method_name: str, event: str, fields: dict[str, Any]) -> None:
    getattr(structlog.get_logger(name).bind(), method_name)(event, **fields)


def _written(stream: io.StringIO, write: Any, *args: Any) -> str:
    stream.seek(0)
    stream.truncate()
    write(*args)
    return stream.getvalue()


def _rendered(
    logs: LogPipeline, name: str, method_name: str, event: str, fields: dict[str, Any]
) -> str | None:
    """What the fast path renders for the event, when the event is one it may render."""
    event_dict = {**fields, "event": event}
    merge_contextvars(None, method_name, event_dict)
    if not (logs._own_fields_harmless and logs._redactor.clean(event_dict)):
        return None
    return logs._render(name, method_name, event_dict)


def test_drawn_lines_are_the_general_chains(
    pipeline: tuple[LogPipeline, io.StringIO], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over a thousand drawn events: the same bytes on every path, the fast path's included."""
    logs, stream = pipeline
    rng = random.Random(19)
    fast = 0
    for case in range(1000):
        # One clock for the paths: the timestamps are equal only if the rest is. Whole seconds too.
        now = 1_796_526_467_000_000_000 + rng.choice([0, 1000, 546_432_123, 999_999_999])
        monkeypatch.setattr(time, "time_ns", lambda now=now: now)
        # Half the events are usual ones (ASCII names and services, plain values), half anything.
        usual = rng.random() < 0.5
        name = rng.choice(_LOGGERS[:2] if usual else _LOGGERS)
        method_name = rng.choice(_METHODS)
        event = rng.choice(["http request", "call completed", *_TEXT])
        fields = _fields(rng, usual)
        bound = _bound(rng, usual)
        traced = rng.choice(["", "lean", "sdk", "invalid"])
        identity = rng.choice(_IDENTITIES[:2] if usual else _IDENTITIES)
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(**bound)
        span = trace.INVALID_SPAN
        if traced in _TRACERS:
            span = _TRACERS[traced].start_span("call")
        token = attach(trace.set_span_in_context(span)) if traced else None
        serving = _current.set(_Serving(identity, trace.get_tracer("t"))) if identity else None
        try:
            general = _written(stream, _general, name, method_name, event, fields)
            context = (
                f"case {case}: {method_name} {name!r} {event!r} {fields!r} {bound!r} {traced} {identity}"
            )
            assert general.count("\n") == 1, context
            assert general.endswith("\n"), context
            assert general.isascii(), context
            assert _written(stream, _direct, name, method_name, event, fields) == general, context
            assert _written(stream, _shortcut, name, method_name, event, fields) == general, context
            rendered = _rendered(logs, name, method_name, event, fields)
            if rendered is not None:
                fast += 1
                assert rendered == general, context
        finally:
            if serving is not None:
                _current.reset(serving)
            if token is not None:
                detach(token)
            span.end()
    # The comparison means something only if the fast path took a good share of the events;
    # with the pipeline's own fields among the redact keys, it takes none.
    assert fast > 300 if logs._own_fields_harmless else fast == 0


_ACCESS_LINES: list[tuple[str, str, str, dict[str, Any]]] = [
    (
        "microlib.http",
        "info",
        "http request",
        {
            "method": "POST",
            "path": "/v1/orders",
            "route": "/v1/orders",
            "status": 201,
            "duration_ms": 0.123,
            "request_size": 57,
            "response_size": 40,
        },
    ),
    (
        "microlib.http",
        "error",
        "http request",
        {
            "method": "GET",
            "path": "/v1/orders/7",
            "route": "/v1/orders/{id}",
            "status": 500,
            "duration_ms": 1.0,
            "request_size": 0,
            "response_size": 0,
        },
    ),
    ("microlib.access", "info", "call completed", {"code": "OK", "duration_ms": 0.005}),
    ("microlib.access", "error", "call completed", {"code": "INTERNAL", "duration_ms": 12.5}),
]


@pytest.mark.parametrize(("name", "method_name", "event", "fields"), _ACCESS_LINES)
@pytest.mark.parametrize("traced", ["", "lean", "sdk"])
@pytest.mark.parametrize(
    "bound", [{}, {"request_id": "0123456789abcdef"}, {"request_id": "r", "kind": "grpc"}]
)
def test_access_lines_take_the_fast_path(
    pipeline: tuple[LogPipeline, io.StringIO],
    name: str,
    method_name: str,
    event: str,
    fields: dict[str, Any],
    traced: str,
    bound: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The HTTP edge's and the chain's access lines are the fast path's, and the general chain's bytes."""
    logs, stream = pipeline
    monkeypatch.setattr(time, "time_ns", lambda: 1_796_526_467_546_432_123)
    structlog.contextvars.bind_contextvars(**bound)
    span = _TRACERS[traced].start_span("call") if traced else trace.INVALID_SPAN
    token = attach(trace.set_span_in_context(span))
    try:
        general = _written(stream, _general, name, method_name, event, fields)
        rendered = _rendered(logs, name, method_name, event, fields)
        if logs._own_fields_harmless:
            assert rendered == general
        else:
            assert rendered is None
        assert _written(stream, _direct, name, method_name, event, fields) == general
    finally:
        detach(token)
        span.end()


def test_lines_written_while_tapped_are_tapped(pipeline: tuple[LogPipeline, io.StringIO]) -> None:
    """A tap sees the event of a line the fast path would otherwise write."""
    logs, stream = pipeline
    access = AccessLog("microlib.access")
    # Its field names seen once, the line is clean: the fast path's but for the tap.
    access.write("info", "call completed", {"code": "OK", "duration_ms": 1.0})
    with logs.tap() as entries:
        access.write("info", "call completed", {"code": "TAPPED", "duration_ms": 1.0})
    assert [entry["code"] for entry in entries] == ["TAPPED"]
    access.write("info", "call completed", {"code": "OK", "duration_ms": 1.0})
    assert len(entries) == 1
    assert stream.getvalue().count("\n") == 3


def test_what_orjson_refuses_or_escapes_is_left_to_the_general_path(
    pipeline: tuple[LogPipeline, io.StringIO],
) -> None:
    """Integers beyond 64 bits, text beyond ASCII, an empty event: None from the fast path."""
    logs, _ = pipeline
    for value in [2**64, -(2**63) - 1, "ü", "\ud800"]:
        assert logs._render("microlib.access", "info", {"event": "x", "deep": value}) is None
    assert logs._render("microlib.access", "info", {}) is None
    assert logs._render("café", "info", {"event": "x"}) is None
    assert logs._render("microlib.access", "info", {"event": "x", "deep": "/v1/{id}[0]"}) is not None


def test_events_naming_the_pipelines_fields_are_never_clean(
    pipeline: tuple[LogPipeline, io.StringIO],
) -> None:
    """The redactor never counts the pipeline's own fields harmless: such events are not the fast path's."""
    logs, _ = pipeline
    assert logs._redactor.harmless(["event"])
    for name in _PIPELINE_FIELDS:
        logs._redactor.harmless([name])
    assert logs._redactor.clean({"event": "x"})
    for name in _PIPELINE_FIELDS:
        assert not logs._redactor.clean({"event": "x", name: "mine"})


def _reference_stamp(nanos: int) -> str:
    # structlog's TimeStamper(fmt="iso", utc=True) for a clock read to the microsecond, in integers.
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
    return (epoch + datetime.timedelta(microseconds=nanos // 1000)).isoformat().replace("+00:00", "Z")


def test_timestamps_are_structlogs_iso_utc(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whole seconds, microseconds of one to six digits, and the seconds they share or cross."""
    rng = random.Random(6)
    stamper = _IsoTimestamper()
    second = 1_796_526_467_000_000_000
    times = [second + offset for offset in (0, 999, 1000, 1999, 10_000, 999_000, 999_999_999, 1_000_000_000)]
    times += [rng.randrange(0, 4_102_444_800_000_000_000) for _ in range(2000)]
    times += sorted(second + rng.randrange(0, 3_000_000_000) for _ in range(2000))
    for nanos in times:
        monkeypatch.setattr(time, "time_ns", lambda nanos=nanos: nanos)
        assert stamper.now() == _reference_stamp(nanos), nanos
