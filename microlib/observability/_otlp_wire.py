"""OTLP trace export requests written straight to protobuf wire format.

opentelemetry's encoder builds a protobuf object for every span, attribute
and value; at a few dozen spans per second that is noise, at thousands it is
the largest cost of tracing (about 45 µs per span here, against about 18 µs
for this module). The output is the same message, field for field, as
``opentelemetry.exporter.otlp.proto.common.trace_encoder.encode_spans``;
``tests/observability/test_otlp_wire.py`` holds it to that.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind
from opentelemetry.trace.span import DEFAULT_TRACE_STATE

from microlib.observability._lean_span import LeanSpan
from microlib.observability._otel_private import context_ids

__all__ = ["encode_request", "lean_span_sink", "span_attribute_entries", "span_attribute_entry"]

_FIXED64 = struct.Struct("<Q").pack
_DOUBLE = struct.Struct("<d").pack
_FIXED32 = struct.Struct("<I").pack
# A lean span's ids (tags 1 and 2, lengths 16 and 8) and times (tags 7 and 8, fixed64).
_IDS = struct.Struct(">HQQHQ").pack
_TIMES = struct.Struct("<BQBQ").pack
_LOW_64 = (1 << 64) - 1
_KINDS = {
    SpanKind.INTERNAL: 1,
    SpanKind.SERVER: 2,
    SpanKind.CLIENT: 3,
    SpanKind.PRODUCER: 4,
    SpanKind.CONSUMER: 5,
}
# SpanFlags: the parent's remoteness is known (0x100) and, if so, remote (0x200).
_HAS_IS_REMOTE, _IS_REMOTE = 0x100, 0x200
# The last fields of a span whose status is unset: an empty status (15), then flags (16).
_UNSET_TAIL = {
    remote: b"\x7a\x00\x85\x01" + _FIXED32(_HAS_IS_REMOTE | (_IS_REMOTE if remote else 0))
    for remote in (False, True)
}


def encode_request(spans: Sequence[ReadableSpan | EncodedSpan]) -> bytes:
    """An ``ExportTraceServiceRequest`` carrying ``spans``, serialized.

    Spans are grouped by resource, then by instrumentation scope, in the
    order they first appear, as the SDK's encoder does. A span may come
    encoded already, as :func:`lean_span_sink` queues it.
    """
    grouped: dict[Any, dict[Any, list[bytes]]] = {}
    # Resources hash by serialising their attributes to JSON, scopes in
    # Python: the spans of a tracer share both objects, so each pair is
    # hashed once per request, and a span of the same pair as the one before
    # (most are) is not looked up at all.
    by_identity: dict[tuple[int, int], list[bytes]] = {}
    last_resource = last_scope = same = None
    for span in spans:
        if isinstance(span, tuple):
            resource, scope, written = span
        elif span.__class__ is LeanSpan:
            written = _lean(span)
            resource, scope = span._origin.provider.resource, span._instrumentation_scope
        else:
            context = span.get_span_context()
            if context is None:
                continue
            written = _span(span, context)
            resource, scope = span.resource, span.instrumentation_scope
        if same is None or resource is not last_resource or scope is not last_scope:
            last_resource, last_scope = resource, scope
            same = by_identity.get((id(resource), id(scope)))
            if same is None:
                scopes = grouped.setdefault(resource, {})
                same = by_identity[id(resource), id(scope)] = scopes.setdefault(scope or None, [])
        # The span as a ScopeSpans.spans field: its tag and length, then its bytes.
        size = len(written)
        head = _SPAN_HEADS.get(size)
        if head is None:
            head = _remember_head(size)
        same.append(head)
        same.append(written)
    out = []
    for resource, scopes in grouped.items():
        body = [_field(1, _attributes(1, resource.attributes))]
        for scope, encoded in scopes.items():
            scope_body = [_field(1, _scope(scope)), *encoded]
            if scope is not None and scope.schema_url:
                scope_body.append(_field(3, scope.schema_url.encode()))
            body.append(_field(2, b"".join(scope_body)))
        if resource.schema_url:
            body.append(_field(3, resource.schema_url.encode()))
        out.append(_field(1, b"".join(body)))
    return b"".join(out)


EncodedSpan = tuple[Resource, InstrumentationScope | None, bytes]
"""A span as :func:`lean_span_sink` queues it: its resource, its scope, and its ``Span`` message."""


def lean_span_sink(emit: Callable[[EncodedSpan], None]) -> Callable[[LeanSpan], None]:
    """What gives an ended lean span to ``emit`` (a batch's) encoded, for :func:`encode_request`.

    The batch then holds bytes rather than spans (and their attributes) until
    it is exported, and the span's encoding of its attributes given by the
    framework (``LeanSpan._wire``) is read while the span is fresh.
    """

    def ended(span: LeanSpan) -> None:
        emit((span._origin.provider.resource, span._instrumentation_scope, _lean(span)))

    return ended


def span_attribute_entries(attributes: Mapping[str, Any]) -> bytes:
    """The ``Span.attributes`` entries of ``attributes``, in order, as :func:`encode_request` writes them."""
    return b"".join([_entry(b"\x4a", key, value) for key, value in attributes.items()])


def span_attribute_entry(key: str, value: Any) -> bytes:
    """:func:`span_attribute_entries` of ``{key: value}``."""
    return _entry(b"\x4a", key, value)


# The tag and length of a span of each size met (field 2 of ScopeSpans): sizes are few.
_SPAN_HEADS: dict[int, bytes] = {}


def _remember_head(size: int) -> bytes:
    head = b"\x12" + _varint(size)
    if len(_SPAN_HEADS) < _CACHE_LIMIT:
        _SPAN_HEADS[size] = head
    return head


def _lean(span: LeanSpan) -> bytes:
    # Most spans have no events, links, trace state or status, and dropped
    # nothing: their fields are read and written without the span's
    # properties, a few of them at a time.
    context = span._context
    trace_id, span_id, _, trace_state = context_ids(context)
    start, end = span._start_time, span._end_time
    # The class's own values are no events, no links and the unset status;
    # a span given any holds a list of its own, if only to count the dropped.
    if (
        span._events is not LeanSpan._events
        or span._links is not LeanSpan._links
        or span._status is not LeanSpan._status
        or span._dropped
        or not (start and end)
        or (trace_state is not DEFAULT_TRACE_STATE and trace_state)
    ):
        return _span(span, context)
    parent = span._parent
    if parent is None:
        lineage, remote = b"", False
    else:
        _, parent_id, remote, _ = context_ids(parent)
        lineage = b"\x22\x08" + parent_id.to_bytes(8, "big")
    name, kind = span._name, span._kind
    # Enum members hash in Python; their values are plain ints.
    named = _NAMED.get((name, kind._value_))
    if named is None:
        named = _remember_named(name, kind)
    parts = [_IDS(0x0A10, trace_id >> 64, trace_id & _LOW_64, 0x1208, span_id), lineage, named]
    parts.append(_TIMES(0x39, start, 0x41, end))
    attributes = span._attributes
    wire = span._wire
    if wire is not None:
        parts.append(wire)
    elif attributes:
        # Every pair's entry looked up without a Python step per pair; when
        # one is not cached yet (or cannot be), they are written one by one.
        values = attributes.values()
        written = len(parts)
        try:
            pairs = zip(attributes, map(type, values), values, strict=False)
            parts += map(_SPAN_PAIRS.__getitem__, pairs)
        except (KeyError, TypeError):
            del parts[written:]
            parts += [_entry(b"\x4a", key, value) for key, value in attributes.items()]
    parts.append(_UNSET_TAIL[remote])
    return b"".join(parts)


# A span's name and kind (fields 5 and 6), by name and kind value: names are few.
_NAMED: dict[tuple[str, int], bytes] = {}


def _remember_named(name: str, kind: SpanKind) -> bytes:
    encoded = (_field(5, name.encode()) if name else b"") + b"\x30" + _varint(_KINDS[kind])
    if len(_NAMED) < _CACHE_LIMIT and len(name) <= 256:
        _NAMED[name, kind._value_] = encoded
    return encoded


def _span(span: ReadableSpan, context: SpanContext) -> bytes:
    parts = [
        b"\x0a\x10" + context.trace_id.to_bytes(16, "big"),
        b"\x12\x08" + context.span_id.to_bytes(8, "big"),
    ]
    trace_state = context.trace_state.to_header() if context.trace_state else ""
    if trace_state:
        parts.append(_field(3, trace_state.encode()))
    if span.parent is not None:
        parts.append(b"\x22\x08" + span.parent.span_id.to_bytes(8, "big"))
    if span.name:
        parts.append(_field(5, span.name.encode()))
    parts.append(b"\x30" + _varint(_KINDS[span.kind]))
    if span.start_time:
        parts.append(b"\x39" + _FIXED64(span.start_time))
    if span.end_time:
        parts.append(b"\x41" + _FIXED64(span.end_time))
    parts.append(_attributes(9, span.attributes))
    if span.dropped_attributes:
        parts.append(b"\x50" + _varint(span.dropped_attributes))
    for event in span.events:
        event_body = [b"\x09" + _FIXED64(event.timestamp)] if event.timestamp else []
        if event.name:
            event_body.append(_field(2, event.name.encode()))
        event_body.append(_attributes(3, event.attributes))
        if event.dropped_attributes:
            event_body.append(b"\x20" + _varint(event.dropped_attributes))
        parts.append(_field(11, b"".join(event_body)))
    if span.dropped_events:
        parts.append(b"\x60" + _varint(span.dropped_events))
    for link in span.links:
        link_body = [
            b"\x0a\x10" + link.context.trace_id.to_bytes(16, "big"),
            b"\x12\x08" + link.context.span_id.to_bytes(8, "big"),
            _attributes(4, link.attributes),
        ]
        if link.dropped_attributes:
            link_body.append(b"\x28" + _varint(link.dropped_attributes))
        link_body.append(b"\x35" + _FIXED32(_flags(link.context)))
        parts.append(_field(13, b"".join(link_body)))
    if span.dropped_links:
        parts.append(b"\x70" + _varint(span.dropped_links))
    status = b""
    if span.status.description:
        status += _field(2, span.status.description.encode())
    if span.status.status_code.value:
        status += b"\x18" + _varint(span.status.status_code.value)
    parts.append(_field(15, status))
    parts.append(b"\x85\x01" + _FIXED32(_flags(span.parent)))
    return b"".join(parts)


def _scope(scope: Any) -> bytes:
    if scope is None:
        return b""
    body = []
    if scope.name:
        body.append(_field(1, scope.name.encode()))
    if scope.version:
        body.append(_field(2, scope.version.encode()))
    body.append(_attributes(3, scope.attributes))
    return b"".join(body)


def _flags(parent: SpanContext | None) -> int:
    return _HAS_IS_REMOTE | _IS_REMOTE if parent is not None and parent.is_remote else _HAS_IS_REMOTE


def _attributes(number: int, attributes: Mapping[str, Any] | None) -> bytes:
    if not attributes:
        return b""
    tag = _varint(number << 3 | 2)
    return b"".join([_entry(tag, key, value) for key, value in attributes.items()])


def _entry(tag: bytes, key: str, value: Any) -> bytes:
    # One key/value entry of an attribute list, b"" for a value the SDK's
    # encoder skips (it cannot encode it), and so do we.
    kind = value.__class__
    if kind in _CACHED:
        # Most pairs (method, route, host, status...) recur span after span.
        pairs = _PAIRS.get(tag)
        if pairs is None:
            pairs = _PAIRS[tag] = {}
        pair_key = (key, kind, value)
        entry = pairs.get(pair_key)
        if entry is None:
            entry = _remember_pair(pairs, pair_key, tag, value)
        return entry
    try:
        encoded = _field(2, _value(value))
    except TypeError:
        return b""
    name = _KEYS.get(key)
    if name is None:
        name = _remember(_KEYS, key, _field(1, key.encode()) if key else b"")
    pair = name + encoded
    return tag + _varint(len(pair)) + pair


# Attribute keys and whole key/value entries repeat from span to span: their
# encodings are kept, up to a bound. Entries are kept by tag (the field of
# the list they are in), then keyed by (key, type, value): the type is part
# of it because True == 1. Floats are not kept: 0.0 == -0.0, with one hash,
# but not one encoding (and they rarely recur).
_KEYS: dict[str, bytes] = {}
_CACHE_LIMIT = 4096
_CACHED = frozenset({str, int, bool})
_PAIRS: dict[bytes, dict[tuple[str, type, Any], bytes]] = {}
# The entries of a span's attributes (field 9, length-delimited: 9 << 3 | 2).
_SPAN_PAIRS = _PAIRS[b"\x4a"] = {}


def _remember_pair(
    pairs: dict[tuple[str, type, Any], bytes], pair_key: tuple[str, type, Any], tag: bytes, value: Any
) -> bytes:
    key = pair_key[0]
    name = _field(1, key.encode()) if key else b""
    pair = name + _field(2, _value(value))
    entry = tag + _varint(len(pair)) + pair
    if len(pairs) < _CACHE_LIMIT and (value.__class__ is not str or len(value) <= 256):
        pairs[pair_key] = entry
    return entry


def _remember(cache: dict[str, bytes], key: str, encoded: bytes) -> bytes:
    if len(cache) < _CACHE_LIMIT and len(key) <= 256:
        cache[key] = encoded
    return encoded


def _value(value: Any) -> bytes:
    # The order of the checks is the SDK's: bool before int, str and bytes
    # before the generic sequence.
    if value is None:
        return b""
    if isinstance(value, bool):
        return b"\x10\x01" if value else b"\x10\x00"
    if isinstance(value, str):
        return _field(1, value.encode())
    if isinstance(value, int):
        return b"\x18" + _varint(value & 0xFFFFFFFFFFFFFFFF)
    if isinstance(value, float):
        return b"\x21" + _DOUBLE(value)
    if isinstance(value, bytes):
        return _field(7, value)
    if isinstance(value, Sequence):
        return _field(5, b"".join(_field(1, _value(item)) for item in value))
    if isinstance(value, Mapping):
        return _field(6, _attributes(1, {str(k): v for k, v in value.items()}))
    raise TypeError(f"cannot encode attribute value of type {type(value).__name__}")


def _field(number: int, payload: bytes) -> bytes:
    tag = number << 3 | 2
    size = len(payload)
    if tag < 0x80 and size < 0x80:
        return bytes((tag, size)) + payload
    return (bytes((tag,)) if tag < 0x80 else _varint(tag)) + _varint(size) + payload


def _varint(value: int) -> bytes:
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)
