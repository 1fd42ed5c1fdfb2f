"""microlib's structlog processors: service fields, trace ids and redaction.

Each is a plain structlog processor, ``(logger, method_name, event_dict)``,
so they compose with any structlog chain, including user-supplied ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import INVALID_SPAN
from pydantic import SecretBytes, SecretStr
from structlog.typing import EventDict, WrappedLogger

from microlib.observability._lean_span import LeanSpan
from microlib.observability._otel_private import CURRENT_CONTEXT, SPAN_KEY, context_ids
from microlib.observability.identity import ServiceIdentity, _active_identity

__all__ = ["REDACTED", "Redactor", "add_service_fields", "add_trace_ids"]

REDACTED = "[REDACTED]"
"""What a redacted value is replaced with."""

_ALWAYS_REDACTED = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "password",
        "secret",
        "token",
        # The signed principal a message or job carries: a credential on the message and job doors.
        "x-microlib-principal",
    }
)


def add_service_fields(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """Add ``service``, ``version``, ``env`` and ``instance`` of the current service."""
    identity = _active_identity()
    if identity is None:
        return event_dict
    last = _last_fields
    if last[0] is not identity:
        last = _service_fields(identity)
    fields = last[1]
    if fields.keys().isdisjoint(event_dict):
        # The usual line names none of them: added in one step, in the same order.
        event_dict.update(fields)
    else:
        for key, value in fields.items():
            event_dict.setdefault(key, value)
    return event_dict


# The lines of one service share its identity: its fields are gathered once.
_last_fields: tuple[object, dict[str, str]] = (None, {})


def _service_fields(identity: ServiceIdentity) -> tuple[object, dict[str, str]]:
    global _last_fields
    # Replaced as one tuple, so a thread never pairs one identity with another's fields.
    _last_fields = (identity, identity.as_fields())
    return _last_fields


def add_trace_ids(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """Add ``trace_id`` and ``span_id`` (hex, W3C form) of the active OpenTelemetry span."""
    ids = _current_trace_ids()
    if ids is not None:
        event_dict.setdefault("trace_id", ids[0])
        event_dict.setdefault("span_id", ids[1])
    return event_dict


def _current_trace_ids() -> tuple[str, str] | None:
    """``(trace_id, span_id)`` of the active OpenTelemetry span in W3C hex form; None without a valid one."""
    if CURRENT_CONTEXT is None:
        span = trace.get_current_span()
    else:
        # The API's get_current_span, read straight from its context variable.
        found = CURRENT_CONTEXT.get().get(SPAN_KEY)
        if type(found) is LeanSpan:
            # microlib's own span (the usual one): its context, always valid, read without a call.
            context = found._context
            last = _last_ids
            return last[1] if last[0] is context else _hex_ids(context)
        if found is None:
            # No span in the context (tracing off, or outside every span): the API's invalid span.
            return None
        span = found if isinstance(found, trace.Span) else INVALID_SPAN
    context = span.get_span_context()
    last = _last_ids
    if last[0] is context:
        # Valid: only a valid context's ids are kept.
        return last[1]
    return _hex_ids(context) if context.is_valid else None


# The lines of one call (and its chain) share its span: its ids are formatted once.
_last_ids: tuple[object, tuple[str, str]] = (None, ("", ""))


def _hex_ids(context: trace.SpanContext) -> tuple[str, str]:
    """``(trace_id, span_id)`` of ``context`` in W3C hex form."""
    global _last_ids
    last = _last_ids
    if last[0] is context:
        return last[1]
    # Both ids in one call, not a property each; then the same digits as format(id, "032x"),
    # for half the work of parsing a format spec.
    trace_id, span_id, _, _ = context_ids(context)
    ids = (trace_id.to_bytes(16).hex(), span_id.to_bytes(8).hex())
    # Replaced as one tuple, so a thread never pairs one span's ids with another's.
    _last_ids = (context, ids)
    return ids


class Redactor:
    """Replaces secret values with ``[REDACTED]``, at any depth of the event.

    A value is secret when its key (case-insensitive, ``-`` and ``_`` alike)
    is ``authorization``, ``cookie``, ``set-cookie``, ``password``,
    ``secret``, ``token``, ``x-microlib-principal`` or one of ``keys``, or when it is a pydantic
    ``SecretStr``/``SecretBytes``. Header lists of ``(name, value)`` pairs
    are redacted by name too.

    Args:
        keys: Extra field names to redact (``logging.redact_keys``).
        reserved: Names never counted harmless: an event naming one is never
            :meth:`clean` and is redacted field by field (a log pipeline's
            own fields, which it handles itself).
    """

    def __init__(self, keys: Iterable[str] = (), *, reserved: Iterable[str] = ()) -> None:
        self._keys = frozenset(_normalise(k) for k in (*_ALWAYS_REDACTED, *keys))
        self._reserved = frozenset(reserved)
        # Field names repeat from line to line; remember each one's verdict.
        self._verdicts: dict[str, bool] = {}
        self._harmless: set[str] = set()

    def __call__(self, _: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
        """Redact ``event_dict`` in place and return it."""
        if self.clean(event_dict):
            return event_dict
        for key, value in event_dict.items():
            if self._secret(key):
                event_dict[key] = REDACTED
            elif value.__class__ not in _PLAIN:
                event_dict[key] = self._value(key, value)
        return event_dict

    def clean(self, event_dict: EventDict) -> bool:
        """Whether ``event_dict`` is known to need no redaction: plain values under names seen harmless."""
        # Most lines are: two set checks, run in C, clear them without a per-field loop.
        return self._harmless.issuperset(event_dict) and _PLAIN.issuperset(map(type, event_dict.values()))

    def harmless(self, keys: Iterable[str]) -> bool:
        """Whether a plain value under any of ``keys`` is written as it is."""
        return not any(self._secret(key) for key in keys)

    def _secret(self, key: str) -> bool:
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = _normalise(key) in self._keys
            if len(self._verdicts) < 4096:
                self._verdicts[key] = verdict
                if not verdict and key not in self._reserved:
                    self._harmless.add(key)
        return verdict

    def _value(self, key: object, value: Any) -> Any:
        if isinstance(key, str) and self._secret(key):
            return REDACTED
        if isinstance(value, str | int | float | bool | None):
            return value
        if isinstance(value, SecretStr | SecretBytes):
            return REDACTED
        if isinstance(value, Mapping):
            return {k: self._value(k, v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._item(item) for item in value]
        return value

    def _item(self, item: Any) -> Any:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str | bytes):
            name = item[0].decode("latin-1") if isinstance(item[0], bytes) else item[0]
            if self._secret(name):
                return (item[0], REDACTED)
        return self._value(None, item)


_PLAIN = frozenset({str, int, float, bool, type(None)})


def _normalise(key: str) -> str:
    return key.lower().replace("_", "-")
