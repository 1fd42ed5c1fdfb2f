"""The edge's record of a request: every request starts from the same state, shared with no other."""

from __future__ import annotations

from opentelemetry import trace

from microlib.observability import ServiceIdentity
from microlib.observability._exchange import _NO_STAMPS, _Exchange, _Stamps

_IDENTITY = ServiceIdentity("orders", version="1", environment="test")
_TRACER = trace.NoOpTracer()


def _state(exchange: _Exchange) -> tuple[object, ...]:
    return (
        exchange.method,
        exchange.status,
        exchange.sent,
        exchange.received,
        exchange.routes,
        exchange.opaque,
        exchange.tokens,
        exchange.wire_receive,
        exchange.wire_send,
        exchange.stamps,
    )


def test_a_record_starts_from_the_given_fields_and_nothing_else() -> None:
    """The given fields as given (the rest of the constructor's defaulted), everything else at its start."""
    given = _Exchange(trace.INVALID_SPAN, "req-1", _IDENTITY, _TRACER, "GET", "/orders", 7, False)
    assert (given.span, given.request_id, given.identity, given.tracer) == (
        trace.INVALID_SPAN,
        "req-1",
        _IDENTITY,
        _TRACER,
    )
    assert (given.verb, given.path, given.start, given.observed) == ("GET", "/orders", 7, False)
    bare = _Exchange(trace.INVALID_SPAN, "req-2", _IDENTITY, _TRACER)
    assert (bare.verb, bare.path, bare.start, bare.observed) == ("", "", 0, True)
    assert _state(bare) == ("", 0, 0, 0, [], False, (), None, None, _NO_STAMPS)


def test_what_one_request_records_is_its_own() -> None:
    """A request's routes, status and sizes leave the next request's record at its start."""
    first = _Exchange(trace.INVALID_SPAN, "req-1", _IDENTITY, _TRACER, "GET", "/orders", 7)
    first.routes.append("/orders")
    first.method, first.status, first.sent, first.received = "orders/List", 200, 12, 3
    first.opaque, first.tokens = True, (None, None, None)
    first.wire_receive = first.wire_send = print
    first.stamps = _Stamps([(b"x-frame-options", b"DENY")], frozenset({b"x-frame-options"}))
    second = _Exchange(trace.INVALID_SPAN, "req-2", _IDENTITY, _TRACER, "GET", "/orders", 8)
    assert _state(second) == ("", 0, 0, 0, [], False, (), None, None, _NO_STAMPS)
    assert first.routes == ["/orders"]
    assert first.status == 200
