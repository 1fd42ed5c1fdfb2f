"""structlog's registry of context variables: the one private part of structlog microlib uses.

``structlog.contextvars.bind_contextvars(key=...)`` makes one ``ContextVar``
per key, named ``STRUCTLOG_KEY_PREFIX + key``, keeps it in the module-level
dict ``_CONTEXT_VARS`` and marks an unbound key by setting ``Ellipsis``.
structlog's public ``merge_contextvars`` finds its variables by walking a
copy of the whole context (OpenTelemetry's, asyncio's, every library's
variables) on every log line; reading the registry instead visits only
structlog's few (docs/adr/0012-hand-written-replacements.md has the
measurement). Setting a key's variable directly binds it for the rest of the
task without the keyword-argument round trip of bind and reset.

microlib's own per-call fields (``request_id``, ``kind``, ``method``) are
not bound this way on the usual call: binding and resetting three variables
per request costs more than the rest of its log context. Their variables
stay absent from the context, and :func:`merge_contextvars` reads the
values from the call's records instead (:func:`call_fields`), where the
variable is absent: a value bound with ``bind_contextvars``, and
``unbind_contextvars`` (which leaves ``Ellipsis``), still decide as before.

The registry is not documented: structlog is pinned to the minor tested
(``structlog>=26.1,<27`` in pyproject.toml) and
``tests/observability/test_structlog_drift.py`` fails if its name, its keys
or the ``Ellipsis`` convention change.
"""

from __future__ import annotations

import contextvars
from typing import Any

import structlog
from structlog.typing import EventDict, WrappedLogger

from microlib.core.context import _current as _call
from microlib.observability._exchange import _Exchange
from microlib.observability.identity import _current as _serving

__all__ = ["ABSENT", "field_var", "merge_contextvars"]

_REGISTRY: dict[str, contextvars.ContextVar[Any]] = structlog.contextvars._CONTEXT_VARS
_PREFIX = structlog.contextvars.STRUCTLOG_KEY_PREFIX
_PREFIX_LENGTH = len(_PREFIX)


def merge_contextvars(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """structlog's ``merge_contextvars``, reading only the variables structlog created."""
    fields = _fields
    if fields[0] != len(_REGISTRY):
        fields = _read_registry()
    call = None
    for name, var in fields[1]:
        value = var.get(ABSENT)
        if value is ABSENT:
            if name not in _CALL_FIELDS:
                continue
            if call is None:
                call = call_fields()
            value = call.get(name, Ellipsis)
        if value is not Ellipsis:
            event_dict.setdefault(name, value)
    return event_dict


ABSENT = object()
"""What a field's variable answers (``var.get(ABSENT)``) when it was never set in the context."""

# Supplied by call_fields where their variable is absent.
_CALL_FIELDS = frozenset({"request_id", "kind", "method"})


def call_fields() -> dict[str, str]:
    """The fields of the call in flight that microlib supplies without binding them.

    ``request_id`` from the HTTP edge's record of the request, bound for the
    whole request (:class:`~microlib.observability._exchange._Exchange`);
    ``kind`` and ``method`` from the call's context, once the chain's logging
    stage has named it (``CallContext._logged_as``).
    Both are bound in context variables the call sets anyway, so a task
    started inside the call keeps them, as it keeps a bound variable.
    """
    fields = {}
    serving = _serving.get()
    if type(serving) is _Exchange:
        fields["request_id"] = serving.request_id
    call = _call.get()
    if call is not None and call._logged_as:
        fields["kind"] = call.kind
        fields["method"] = call._logged_as
    return fields


# The registry's (field name, variable) pairs as of its size: structlog only
# ever adds to it (unbinding sets Ellipsis), so a size seen before is the
# same registry, and a line reads it without copying it or cutting prefixes.
_fields: tuple[int, tuple[tuple[str, contextvars.ContextVar[Any]], ...]] = (-1, ())


def _read_registry() -> tuple[int, tuple[tuple[str, contextvars.ContextVar[Any]], ...]]:
    global _fields
    # Copied first: another thread may bind a new key meanwhile (its size
    # then differs from the copy's, and the next line reads again).
    items = tuple(_REGISTRY.items())
    # One tuple, replaced whole: threads never see a size with another registry's pairs.
    _fields = (len(items), tuple((key[_PREFIX_LENGTH:], var) for key, var in items))
    return _fields


def field_var(name: str) -> contextvars.ContextVar[Any]:
    """The context variable ``structlog.contextvars.bind_contextvars(name=...)`` sets."""
    structlog.contextvars.reset_contextvars(**structlog.contextvars.bind_contextvars(**{name: None}))
    return _REGISTRY[_PREFIX + name]
