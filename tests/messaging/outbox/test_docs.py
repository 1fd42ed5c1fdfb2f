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


def _configuration_table() -> dict[str, str]:
    """The Configuration section's table: each key (a cell may name two) with its default."""
    section = DOC.read_text(encoding="utf-8").split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    found: dict[str, str] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        keys = re.findall(r"`([\w.]+)`", cells[0])
        defaults = [d.strip().strip("`") for d in cells[1].split(",")]
        assert len(defaults) == len(keys), line
        # A second key in a cell is named by its last part: it shares the first one's section.
        section_of = keys[0].rsplit(".", 1)[0]
        for key, default in zip(keys, defaults, strict=True):
            found[key if "." in key else f"{section_of}.{key}"] = default
    return found


def test_the_configuration_table_is_the_settings_model() -> None:
    """Every key of docs/outbox.md's Configuration table exists with the default it states,
    and every setting of messaging.outbox and messaging.idempotency is in the table."""
    table = _configuration_table()
    defaults = MessagingSettings().model_dump()
    for key, stated in table.items():
        value = defaults
        for part in key.split(".")[1:]:
            assert part in value, f"{key}: no such setting"
            value = value[part]
        assert yaml.safe_load(stated) == value, f"{key}: the table says {stated}, the model {value!r}"
    for section in ("outbox", "idempotency"):
        for name in defaults[section]:
            assert f"messaging.{section}.{name}" in table, f"messaging.{section}.{name} is not in the table"
