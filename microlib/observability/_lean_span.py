"""The spans of microlib's lean tracer: an OpenTelemetry ``Span`` that is its own ``ReadableSpan``.

opentelemetry-sdk's span keeps its attributes in a ``BoundedAttributes`` that
validates every value under a lock, and copies itself into a new
``ReadableSpan`` when it ends. A :class:`LeanSpan` keeps its attributes in a
plain dict, stores the values microlib produced itself as they are (see
:class:`FrameworkAttributes`), validates everything else with the SDK's own
cleaner, and hands itself to the span processors when it ends: it is a
``ReadableSpan`` already, and frozen once ended. Events and links are rare
and made exactly as the SDK makes them. The SDK internals this relies on
are named in ``_otel_private`` only (docs/adr/0006-lean-spans.md says why).
"""

from __future__ import annotations

import dis
import logging
import threading
import traceback
from collections.abc import Callable, Mapping, Sequence
from time import time_ns
from types import TracebackType

from opentelemetry import trace
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import (
    Event,
    ReadableSpan,
    SpanLimits,
    SpanProcessor,
    SynchronousMultiSpanProcessor,
    TracerProvider,
)
from opentelemetry.sdk.util import BoundedList
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode
from opentelemetry.util import types

from microlib.observability._otel_private import clean_attribute_value, ending_hook, sampled_span_sink

__all__ = ["FrameworkAttributes", "LeanSpan", "SpanOrigin", "SpanProcessors"]

logger = logging.getLogger(__name__)

# Makes each check-then-change of a span atomic, as the SDK's per-span lock
# does: one lock for all spans saves allocating one per span, and nothing
# that could block or log runs while it is held.
_LOCK = threading.Lock()
_UNSET = Status(StatusCode.UNSET)


class FrameworkAttributes(dict[str, types.AttributeValue]):
    """Attributes whose values microlib produced itself: ``str``, ``int``, ``float`` or ``bool``.

    A lean span stores them without validating each value (unless a span
    attribute length limit is set, which needs every string looked at); any
    other tracer sees a plain dict.
    """


class SpanProcessors(SynchronousMultiSpanProcessor):
    """The SDK's multi-processor, knowing which of its processors' hooks do anything.

    While it holds no processor (exporter ``none``, nothing else added), a
    lean span skips the calls that would each loop over none; a hook whose
    body is empty (the SDK's batch and simple processors' ``on_start`` and
    ``_on_ending``) is not called; a lone processor's ``on_end`` is called
    directly, not through the loop, and a lone ``BatchSpanProcessor``'s batch
    takes the span without ``on_end`` asking whether it is sampled (a lean
    span always is).
    """

    idle = True
    """No processor was added: starting and ending a span need not tell anyone."""

    starts = False
    """Some processor's ``on_start`` does something: starting a span must call them."""

    wired = False
    """The spans' attributes are exported in OTLP, encoded at their end: the framework gives
    the encoding of its own with them (``wire``), so it is not made again from the values."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        # Tells the processors a span ended: _on_ending, then on_end, to each, as the SDK's span does.
        self.ended: Callable[[ReadableSpan], None] = self._end_each

    def add_span_processor(self, span_processor: SpanProcessor) -> None:
        """Add ``span_processor``, after those added before."""
        super().add_span_processor(span_processor)
        with self._lock:
            processors = self._span_processors
            self.starts = not all(_empty(processor.on_start) for processor in processors)
            endings = [processor for processor in processors if not _empty(ending_hook(processor))]
            self.wired = False
            if len(processors) == 1 and not endings:
                # A lean span is sampled: a batch processor's on_end would put it in the batch.
                only = processors[0]
                batch = sampled_span_sink(only)
                # An exporter that takes spans encoded (EncodedGrpcExporter) has them encoded as they
                # end, not kept whole until the batch leaves.
                encoded = getattr(getattr(only, "span_exporter", None), "lean_span_sink", None)
                if encoded is not None:
                    self.ended = encoded(batch)
                    self.wired = True
                else:
                    self.ended = batch or only.on_end
            else:
                self.ended = self._end_each
            self.idle = False

    def _end_each(self, span: ReadableSpan) -> None:
        self._on_ending(span)  # type: ignore[arg-type]
        self.on_end(span)


def _empty(hook: Callable[..., None]) -> bool:
    # A method whose body is ``pass`` (or a docstring): its code returns None
    # and does nothing else. Anything else, or not a plain method, is called.
    function = getattr(hook, "__func__", None)
    code = getattr(function, "__code__", None)
    if code is None:
        return False
    steps = [(step.opname, step.argval) for step in dis.get_instructions(code)]
    return steps in _EMPTY_BODIES


_EMPTY_BODIES = [
    [("RESUME", 0), ("LOAD_CONST", None), ("RETURN_VALUE", None)],
    [("RESUME", 0), ("RETURN_CONST", None)],
]


class SpanOrigin:
    """What the spans of one tracer share: provider, scope, limits and processor.

    Args:
        provider: The SDK provider whose resource the spans carry (it may
            change in a forked child, where the SDK adds process details).
        scope: The tracer's instrumentation scope.
        limits: The provider's span limits (environment variables included).
        processor: The provider's span processor: every sampled span goes
            to it at start (if a processor acts on it), ending and end.
    """

    __slots__ = ("finishes_framework", "limits", "processor", "provider", "scope", "trusts_framework")

    def __init__(
        self,
        provider: TracerProvider,
        scope: InstrumentationScope,
        limits: SpanLimits,
        processor: SpanProcessors,
    ) -> None:
        self.provider = provider
        self.scope = scope
        self.limits = limits
        self.processor = processor
        self.trusts_framework = limits.max_span_attribute_length is None
        # The framework's attributes at a span's end are stored as they are, none dropped outright.
        self.finishes_framework = self.trusts_framework and limits.max_span_attributes != 0

    def __deepcopy__(self, memo: dict[int, object]) -> SpanOrigin:
        # Shared configuration, not span state: a copied span (an exporter
        # may keep copies, as it can of the SDK's spans) shares it too.
        return self


class LeanSpan(trace.Span, ReadableSpan):
    """A recording span, readable by the SDK's span processors and exporters.

    Made by the lean tracer only. Like the SDK's span, it refuses changes
    once ended (with a warning) and keeps its first end time.
    """

    _context: SpanContext
    # What most spans never change lives on the class, not on each instance.
    _end_time: int | None = None
    _events: Sequence[Event] = ()
    _links: Sequence[Link] = ()
    _status: Status = _UNSET
    _instrumentation_info = None
    _dropped = 0
    _record_exception = True
    _set_status_on_exception = True
    _wire: bytes | None = None
    """The OTLP encoding of every attribute, in order, when the framework gave it with them
    (``start_server_span``, ``finish``); None once anything else sets one."""

    def __init__(
        self,
        name: str,
        context: SpanContext,
        parent: SpanContext | None,
        kind: SpanKind,
        origin: SpanOrigin,
        start_time: int,
        attributes: dict[str, types.AttributeValue],
    ) -> None:
        # ReadableSpan.__init__ is not called: it would only set what is set
        # here, and build an empty Resource first. ``attributes`` is the
        # span's own dict from the start (empty, or the framework's, checked).
        self._name = name
        self._context = context
        self._parent = parent
        self._kind = kind
        self._origin = origin
        self._instrumentation_scope = origin.scope
        self._start_time = start_time
        self._attributes: dict[str, types.AttributeValue] = attributes

    @property
    def resource(self) -> Resource:
        """The provider's resource, read when asked (exporters read it once a span): not kept on each span."""
        return self._origin.provider.resource

    def __repr__(self) -> str:
        return f'{type(self).__name__}(name="{self._name}", context={self._context})'

    @property
    def dropped_attributes(self) -> int:
        """Attributes dropped: invalid keys, and the oldest ones beyond the count limit."""
        return self._dropped

    def get_span_context(self) -> SpanContext:
        """The span's context (ids, flags, trace state)."""
        return self._context

    def is_recording(self) -> bool:
        """True until the span ends."""
        return self._end_time is None

    def set_attribute(self, key: str, value: types.AttributeValue) -> None:
        """Set one attribute; the value is validated as the SDK validates it."""
        if self._end_time is not None:
            logger.warning("Setting attribute on ended span.")
            return
        if self._origin.limits.max_span_attributes == 0:
            self._add_dropped(1)
            return
        if not key or not isinstance(key, str):
            logger.warning("invalid key `%s`. must be non-empty string. Dropping key from attributes.", key)
            self._add_dropped(1)
            return
        cleaned = clean_attribute_value(value, self._origin.limits.max_span_attribute_length)
        self._store({key: cleaned}, 0, "set_attribute")

    def set_attributes(self, attributes: Mapping[str, types.AttributeValue]) -> None:
        """Set several attributes; values are validated unless they are :class:`FrameworkAttributes`."""
        if self._end_time is not None:
            logger.warning("Setting attribute on ended span.")
            return
        self._set_all(attributes, "set_attributes")

    def add_event(self, name: str, attributes: types.Attributes = None, timestamp: int | None = None) -> None:
        """Add an event; its attributes are bounded and frozen as the SDK does it."""
        limits = self._origin.limits
        bounded = BoundedAttributes(
            limits.max_event_attributes,
            attributes,
            max_value_len=limits.max_attribute_length,
            immutable=True,
        )
        event = Event(name=name, attributes=bounded, timestamp=timestamp)
        with _LOCK:
            ended = self._end_time is not None
            if not ended:
                if not isinstance(self._events, BoundedList):
                    self._events = BoundedList(limits.max_events)
                self._events.append(event)
        if ended:
            _warn_ended("add_event")

    def add_link(self, context: SpanContext, attributes: types.Attributes = None) -> None:
        """Link another span; ignored for an invalid context without attributes or trace state."""
        link = self._link(context, attributes)
        if link is None:
            return
        with _LOCK:
            ended = self._end_time is not None
            if not ended:
                if not isinstance(self._links, BoundedList):
                    self._links = BoundedList(self._origin.limits.max_links)
                self._links.append(link)
        if ended:
            _warn_ended("add_link")

    def update_name(self, name: str) -> None:
        """Rename the span (the HTTP edge does once the route is known)."""
        with _LOCK:
            ended = self._end_time is not None
            if not ended:
                self._name = name
        if ended:
            _warn_ended("update_name")

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        """Set the status: OK is final, UNSET is ignored, a description goes with ERROR only."""
        if self._end_time is not None:
            _warn_ended("set_status")
            return
        if self._status.status_code is StatusCode.OK:
            return
        if isinstance(status, Status):
            if status.status_code is StatusCode.UNSET:
                return
            if description is not None:
                logger.warning(
                    "Description %s ignored. Use either `Status` or `(StatusCode, Description)`", description
                )
            new = status
        elif isinstance(status, StatusCode) and status is not StatusCode.UNSET:
            new = Status(status, description)
        else:
            return
        with _LOCK:
            if self._end_time is None:
                self._status = new

    def record_exception(
        self,
        exception: BaseException,
        attributes: types.Attributes = None,
        timestamp: int | None = None,
        escaped: bool = False,
    ) -> None:
        """Record ``exception`` as an ``exception`` event with type, message and stack trace."""
        module = type(exception).__module__
        qualname = type(exception).__qualname__
        event_attributes: dict[str, types.AttributeValue] = {
            "exception.type": f"{module}.{qualname}" if module and module != "builtins" else qualname,
            "exception.message": str(exception),
            "exception.stacktrace": "".join(traceback.format_exception(exception)),
            "exception.escaped": str(escaped),
        }
        if attributes:
            event_attributes.update(attributes)
        self.add_event("exception", event_attributes, timestamp)

    def end(self, end_time: int | None = None) -> None:
        """End the span and pass it to the processors; a second call warns and changes nothing."""
        now = end_time if end_time is not None else time_ns()
        _LOCK.acquire()  # by hand, as in finish
        try:
            ended = self._end_time is not None
            if not ended:
                self._end_time = now
        finally:
            _LOCK.release()
        if ended:
            logger.warning("Calling end() on an ended span.")
            return
        origin = self._origin
        if not origin.processor.idle:
            origin.processor.ended(self)

    def finish(
        self,
        name: str | None,
        attributes: Mapping[str, types.AttributeValue],
        *,
        framework: bool = False,
        wire: bytes | None = None,
    ) -> None:
        """``update_name(name)`` (unless None), ``set_attributes(attributes)`` and ``end()``, as one step.

        The same outcome as the three calls, with one lock taken instead of three.

        Args:
            name: The span's new name, or None to keep it.
            attributes: Attributes to set; stored as they are when they are
                :class:`FrameworkAttributes`, or ``framework`` is true.
            framework: ``attributes`` hold only values microlib produced
                itself, as a :class:`FrameworkAttributes` would.
            wire: The OTLP encoding of ``attributes`` (``_otlp_wire.span_attribute_entries``):
                added to the span's own, if it has one, when they are simply appended.
        """
        origin = self._origin
        trusted = framework or attributes.__class__ is FrameworkAttributes
        if not trusted or not origin.finishes_framework or self._end_time is not None:
            # Values to validate, attributes to drop, or warnings to give: the calls themselves.
            if name is not None:
                self.update_name(name)
            self.set_attributes(FrameworkAttributes(attributes) if framework else attributes)
            self.end()
            return
        now = time_ns()
        evicted = 0
        # Taken and released by hand: ``with`` costs twice as much, on every call served.
        _LOCK.acquire()
        try:
            ended = self._end_time is not None
            if not ended:
                if name is not None:
                    self._name = name
                own = self._attributes
                before = len(own)
                evicted = _merge(own, attributes, origin.limits.max_span_attributes)
                if evicted:
                    self._dropped += evicted
                if self._wire is not None:
                    # Still the encoding of every attribute, in order, if all were appended.
                    if wire is not None and len(own) == before + len(attributes) and not evicted:
                        self._wire += wire
                    else:
                        self._wire = None
                self._end_time = now
        finally:
            _LOCK.release()
        if ended:
            # Another thread ended it in between: what the three calls would have said.
            if name is not None:
                _warn_ended("update_name")
            logger.warning("Setting attribute on ended span.")
            logger.warning("Calling end() on an ended span.")
            return
        if evicted:
            logger.warning("Attributes dict is full. Dropped the oldest attributes on %s.", "set_attributes")
        if not origin.processor.idle:
            origin.processor.ended(self)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        """End the span; an exception leaving the block is recorded and sets an error status."""
        if exc_val is not None and self.is_recording():
            if self._record_exception:
                self.record_exception(exception=exc_val, escaped=True)
            if self._set_status_on_exception:
                self.set_status(Status(StatusCode.ERROR, f"{type(exc_val).__name__}: {exc_val}"))
        super().__exit__(exc_type, exc_val, exc_tb)

    def _begin(self, attributes: Mapping[str, types.AttributeValue]) -> None:
        # The span is not shared yet: no lock, and the framework's attributes
        # are copied whole when they fit.
        limit = self._origin.limits.max_span_attributes
        trusted = attributes.__class__ is FrameworkAttributes and self._origin.trusts_framework
        if trusted and (limit is None or len(attributes) <= limit):
            self._attributes = dict(attributes)
        else:
            self._set_all(attributes, "start_span")

    def _set_all(self, attributes: Mapping[str, types.AttributeValue], operation: str) -> None:
        origin = self._origin
        limit = origin.limits.max_span_attributes
        if limit == 0:
            self._add_dropped(len(attributes))
            return
        if attributes.__class__ is FrameworkAttributes and origin.trusts_framework:
            self._store(attributes, 0, operation)
            return
        cleaned = clean_attribute_value(attributes, origin.limits.max_span_attribute_length)
        self._store(cleaned, len(attributes) - len(cleaned), operation)

    def _link_all(self, links: Sequence[Link]) -> None:
        valid = []
        for link in links:
            made = self._link(link.context, link.attributes) if link else None
            if made is not None:
                valid.append(made)
        self._links = BoundedList.from_seq(self._origin.limits.max_links, valid)

    def _link(self, context: SpanContext, attributes: types.Attributes) -> Link | None:
        # The SDK's rule: an invalid context is kept only if it carries something.
        if not (context and (context.is_valid or (attributes or context.trace_state))):
            return None
        limits = self._origin.limits
        bounded = BoundedAttributes(
            limits.max_link_attributes, attributes, max_value_len=limits.max_attribute_length, immutable=True
        )
        return Link(context, bounded)

    def _store(self, new: Mapping[str, types.AttributeValue], invalid: int, operation: str) -> None:
        limit = self._origin.limits.max_span_attributes
        evicted = 0
        with _LOCK:
            ended = self._end_time is not None
            if not ended:
                # Attributes not of the framework's encoding: the exporter encodes them all.
                self._wire = None
                evicted = _merge(self._attributes, new, limit)
                if invalid or evicted:
                    self._dropped += invalid + evicted
        if ended:
            logger.warning("Setting attribute on ended span.")
        elif evicted:
            logger.warning("Attributes dict is full. Dropped the oldest attributes on %s.", operation)

    def _add_dropped(self, count: int) -> None:
        with _LOCK:
            self._dropped += count


def _merge(
    attributes: dict[str, types.AttributeValue], new: Mapping[str, types.AttributeValue], limit: int | None
) -> int:
    # New keys that fit are added in one update; else one by one. Returns the evicted count.
    if limit is None or len(attributes) + len(new) <= limit:
        before = len(attributes)
        attributes.update(new)
        if len(attributes) != before + len(new):
            # Some keys were set again: as with BoundedAttributes, they move to the end.
            for key in new:
                attributes[key] = attributes.pop(key)
        return 0
    return _store_bounded(attributes, new, limit)


def _store_bounded(
    attributes: dict[str, types.AttributeValue], new: Mapping[str, types.AttributeValue], limit: int | None
) -> int:
    # As BoundedAttributes does: a key set again moves to the end, and beyond
    # the count limit the oldest attribute makes room. Returns the evicted count.
    evicted = 0
    for key, value in new.items():
        if key in attributes:
            del attributes[key]
        elif limit is not None and len(attributes) >= limit:
            del attributes[next(iter(attributes))]
            evicted += 1
        attributes[key] = value
    return evicted


def _warn_ended(operation: str) -> None:
    logger.warning("Tried calling %s on an ended span.", operation)
