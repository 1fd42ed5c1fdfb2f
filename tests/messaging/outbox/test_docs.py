"""docs/outbox.md: its configuration validates, its alerts name real metrics (tests/docs runs its Python)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from microlib.config.model import DatabaseSettings, MessagingSettings

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "outbox.md"
BLOCKS = re.compile(r"```(\w+)\n(.*?)```", re.DOTALL)


def _blocks(kind: str) -> list[str]:
    return [body for lang, body in BLOCKS.findall(DOC.read_text(encoding="utf-8")) if lang == kind]


def test_the_configuration_example_validates() -> None:
    """The first YAML block is a valid database and messaging configuration with the outbox on."""
    config = yaml.safe_load(_blocks("yaml")[0])
    DatabaseSettings.model_validate(config["database"])
    messaging = MessagingSettings.model_validate(config["messaging"])
    assert messaging.outbox.enabled
    assert messaging.idempotency.store == "database"


def test_the_alerts_name_the_relay_metrics() -> None:
    """Each alert's expression uses a metric the relay registers."""
    [alerts] = [body for body in _blocks("yaml") if body.startswith("groups:")]
    rules = yaml.safe_load(alerts)["groups"][0]["rules"]
    source = (ROOT / "microlib" / "messaging" / "outbox" / "relay.py").read_text()
    for rule in rules:
        for metric in re.findall(r"messaging_outbox_\w+", rule["expr"]):
            assert f'"{metric}"' in source, metric
