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

__all__ = ["field_var", "merge_contextvars"]

_REGISTRY: dict[str, contextvars.ContextVar[Any]] = structlog.contextvars._CONTEXT_VARS
_PREFIX = structlog.contextvars.STRUCTLOG_KEY_PREFIX
_PREFIX_LENGTH = len(_PREFIX)


def merge_contextvars(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """structlog's ``merge_contextvars``, reading only the variables structlog created."""
    fields = _fields
    if fields[0] != len(_REGISTRY):
        fields = _read_registry()
    for name, var in fields[1]:
        value = var.get(Ellipsis)
        if value is not Ellipsis:
            event_dict.setdefault(name, value)
    return event_dict


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
