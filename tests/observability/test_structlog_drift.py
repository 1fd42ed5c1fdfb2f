"""What microlib.observability._structlog_private relies on in structlog, checked on the installed one."""

from __future__ import annotations

import contextvars
from typing import Any

import structlog

from microlib.observability._structlog_private import field_var, merge_contextvars


def _both(bound: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    ours = merge_contextvars(None, "info", {"event": "x"})
    theirs = structlog.contextvars.merge_contextvars(None, "info", {"event": "x"})
    assert theirs == {"event": "x", **bound}
    return ours, theirs


def test_the_registry_holds_every_variable_bind_makes() -> None:
    """``_CONTEXT_VARS`` is a dict of ``STRUCTLOG_KEY_PREFIX + key`` to the key's ``ContextVar``."""
    registry = structlog.contextvars._CONTEXT_VARS
    assert isinstance(registry, dict)

    def check() -> None:
        structlog.contextvars.bind_contextvars(drift_probe=42)
        var = registry[structlog.contextvars.STRUCTLOG_KEY_PREFIX + "drift_probe"]
        assert isinstance(var, contextvars.ContextVar)
        assert var.get() == 42

    contextvars.copy_context().run(check)


def test_merging_from_the_registry_equals_structlogs_merge() -> None:
    """Bound, rebound, unbound and cleared keys merge as structlog's ``merge_contextvars`` merges them."""

    def check() -> None:
        structlog.contextvars.bind_contextvars(a=1, b="two")
        ours, theirs = _both({"a": 1, "b": "two"})
        assert ours == theirs
        structlog.contextvars.bind_contextvars(a=3)
        structlog.contextvars.unbind_contextvars("b")  # sets Ellipsis: unbound
        ours, theirs = _both({"a": 3})
        assert ours == theirs
        structlog.contextvars.clear_contextvars()
        ours, theirs = _both({})
        assert ours == theirs
        # A key already in the event wins over the bound one, in both.
        structlog.contextvars.bind_contextvars(event="bound")
        assert merge_contextvars(None, "info", {"event": "x"}) == {"event": "x"}
        assert structlog.contextvars.merge_contextvars(None, "info", {"event": "x"}) == {"event": "x"}

    contextvars.copy_context().run(check)


def test_the_registry_only_grows() -> None:
    """Unbinding and clearing keep a key's variable: a merge reads the registry again as it grows."""

    def check() -> None:
        registry = structlog.contextvars._CONTEXT_VARS
        structlog.contextvars.bind_contextvars(drift_kept=1)
        merge_contextvars(None, "info", {})
        variables = dict(registry)
        structlog.contextvars.unbind_contextvars("drift_kept")
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.reset_contextvars(**structlog.contextvars.bind_contextvars(drift_kept=2))
        assert registry == variables
        # A key bound after a merge is merged by the next one.
        structlog.contextvars.bind_contextvars(drift_new=3)
        assert merge_contextvars(None, "info", {}) == {"drift_new": 3}

    contextvars.copy_context().run(check)


def test_setting_a_field_variable_binds_the_field() -> None:
    """The variable ``field_var`` returns is the one structlog reads for that key."""

    def check() -> None:
        var = field_var("drift_field")
        assert structlog.contextvars.get_contextvars() == {}
        var.set("set directly")
        assert structlog.contextvars.get_contextvars() == {"drift_field": "set directly"}
        structlog.contextvars.bind_contextvars(drift_field="bound")
        assert var.get() == "bound"

    contextvars.copy_context().run(check)
