"""Wrong outbox settings: one line per mistake, naming the key, its source and the value."""

from __future__ import annotations

from pathlib import Path

import pytest

from microlib.config import ConfigError, Settings, load_config


def test_a_backoff_cap_below_its_start_is_named_with_its_source(tmp_path: Path) -> None:
    """messaging.outbox.backoff_max below messaging.outbox.backoff (the pause would start above
    its cap) is refused at load, at the cap's key and line; so is every backoff pair's."""
    config = tmp_path / "app.yaml"
    config.write_text("messaging:\n  outbox:\n    backoff: 5\n    backoff_max: 1\n", encoding="utf-8")
    environ = {
        "MICROLIB__MESSAGING__RECONNECT_BACKOFF_MAX": "0.1",
        "MICROLIB__DATABASE__CONNECT_BACKOFF": "9",
    }
    with pytest.raises(ConfigError) as caught:
        load_config(Settings, files=[config], environ=environ, overrides=["messaging.retry.max_backoff=0.1"])
    found = {p.path: (p.source, p.value) for p in caught.value.problems}
    assert found == {
        "messaging.outbox.backoff_max": (f"{config}:4", "1"),
        "messaging.reconnect_backoff_max": ("env MICROLIB__MESSAGING__RECONNECT_BACKOFF_MAX", "0.1"),
        "database.connect_backoff_max": ("default", "8.0"),
        "messaging.retry.max_backoff": ("--set messaging.retry.max_backoff=...", "0.1"),
    }
    assert "messaging.outbox.backoff_max = 1 (" in str(caught.value)
    assert "backoff_max (1) must not be below backoff (5)" in str(caught.value)
    assert "connect_backoff_max (8) must not be below connect_backoff (9)" in str(caught.value)
