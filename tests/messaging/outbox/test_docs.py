"""docs/outbox.md: its configuration validates, the alerts it names are shipped and read real metrics
(tests/docs runs its Python)."""

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


def test_the_alerts_the_doc_names_are_shipped_and_read_the_relay_metrics() -> None:
    """Each outbox alert the doc names is in the shipped PrometheusRule, and reads a metric
    the relay registers."""
    document = yaml.safe_load(
        (ROOT / "deploy" / "kubernetes" / "monitoring" / "prometheusrule.yaml").read_text()
    )
    rules = {
        rule["alert"]: rule
        for group in document["spec"]["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }
    named = set(re.findall(r"`(MicrolibOutbox\w+)`", DOC.read_text(encoding="utf-8")))
    assert named == {name for name in rules if name.startswith("MicrolibOutbox")}
    source = (ROOT / "microlib" / "messaging" / "outbox" / "relay.py").read_text()
    for name in named:
        metrics = re.findall(r"messaging_outbox_\w+", rules[name]["expr"])
        assert metrics, name
        for metric in metrics:
            assert f'"{metric}"' in source, (name, metric)


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
