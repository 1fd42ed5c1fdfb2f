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
values from the call's records instead (:func:`call_fields`) where the
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
    """structlog's ``merge_contextvars``, reading only the variables structlog created
    (and, where microlib's own fields' variables are absent, :func:`call_fields`)."""
    fields = _fields
    if fields[0] != len(_REGISTRY):
        fields = _read_registry()
    call = None
    for name, var, supplied in fields[1]:
        value = var.get(ABSENT)
        if value is ABSENT:
            if supplied is None:
                continue
            if call is None:
                call = call_fields()
            value = call[supplied]
        if value is not Ellipsis:
            event_dict.setdefault(name, value)
    return event_dict


ABSENT = object()
"""What a field's variable answers (``var.get(ABSENT)``) when it was never set in the context."""

# The fields call_fields supplies, by their place in its answer.
_CALL_FIELDS = {"request_id": 0, "kind": 1, "method": 2}


def call_fields() -> tuple[Any, Any, Any]:
    """``request_id``, ``kind`` and ``method`` of the call in flight, ``Ellipsis`` for each it lacks.

    The request id from the HTTP edge's record of the request, bound for the
    whole request (:class:`~microlib.observability._exchange._Exchange`);
    kind and method from the call's context once the chain's logging stage
    has named it (``CallContext._logged_as``). Both records are held in
    context variables the call sets anyway, so a task started inside the
    call keeps the fields, as it would keep bound variables.
    """
    serving = _serving.get()
    request_id = serving.request_id if type(serving) is _Exchange else Ellipsis
    call = _call.get()
    if call is None or not call._logged_as:
        return (request_id, Ellipsis, Ellipsis)
    return (request_id, call.kind, call._logged_as)


# The registry's (field name, variable, call_fields index) triples as of its size: structlog
# only ever adds to it (unbinding sets Ellipsis), so a size seen before is the same
# registry, and a line reads it without copying it or cutting prefixes.
_Fields = tuple[int, tuple[tuple[str, contextvars.ContextVar[Any], int | None], ...]]
_fields: _Fields = (-1, ())


def _read_registry() -> _Fields:
    global _fields
    # Copied first: another thread may bind a new key meanwhile (its size
    # then differs from the copy's, and the next line reads again).
    items = tuple(_REGISTRY.items())
    # One tuple, replaced whole: threads never see a size with another registry's pairs.
    _fields = (len(items), tuple(_entry(key[_PREFIX_LENGTH:], var) for key, var in items))
    return _fields


def _entry(
    name: str, var: contextvars.ContextVar[Any]
) -> tuple[str, contextvars.ContextVar[Any], int | None]:
    return (name, var, _CALL_FIELDS.get(name))


def field_var(name: str) -> contextvars.ContextVar[Any]:
    """The context variable ``structlog.contextvars.bind_contextvars(name=...)`` sets."""
    structlog.contextvars.reset_contextvars(**structlog.contextvars.bind_contextvars(**{name: None}))
    return _REGISTRY[_PREFIX + name]
