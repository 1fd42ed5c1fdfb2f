"""The Prometheus rules for microlib services: valid, unit-tested, about
metrics microlib really exports, each alert with its runbook."""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from microlib import Service
from microlib.testing import TestService
from tests.cli.test_run import _free_port
from tests.observability.exported import KUBE_STATE_METRICS, exported, reads, unknown

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "deploy" / "kubernetes" / "monitoring"
RUNBOOKS = ROOT / "docs" / "runbooks"


def _rules() -> dict[str, Any]:
    document = yaml.safe_load((MONITORING / "prometheusrule.yaml").read_text())
    assert document["kind"] == "PrometheusRule"
    spec: dict[str, Any] = document["spec"]
    return spec


def _every_rule() -> list[dict[str, Any]]:
    return [rule for group in _rules()["groups"] for rule in group["rules"]]


def _promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["promtool", *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def test_rules_pass_promtool_check(tmp_path: Path) -> None:
    """`promtool check rules` accepts the PrometheusRule's spec as a rule file."""
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(_rules()))
    result = _promtool("check", "rules", "rules.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(_every_rule())} rules found" in result.stdout


def test_alerts_fire_as_the_unit_tests_expect(tmp_path: Path) -> None:
    """`promtool test rules`: each alert fires on the series that should page
    or ticket, at the right severity, and stays quiet on healthy traffic,
    failing probes, caller errors and processes that are not microlib's."""
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(_rules()))
    shutil.copy(MONITORING / "tests" / "alerts.test.yaml", tmp_path)
    result = _promtool("test", "rules", "alerts.test.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_has_a_runbook_and_every_runbook_an_alert() -> None:
    """runbook_url names docs/runbooks/<alert>.md, which says what the alert
    means, how to confirm it and how to mitigate it."""
    alerts = {rule["alert"]: rule for rule in _every_rule() if "alert" in rule}
    for name, rule in alerts.items():
        assert rule["annotations"]["runbook_url"] == f"docs/runbooks/{name}.md"
        text = (ROOT / rule["annotations"]["runbook_url"]).read_text()
        for heading in ("## What it means", "## How to confirm", "## How to mitigate"):
            assert heading in text, (name, heading)
    assert {p.stem for p in RUNBOOKS.glob("*.md")} - {"README"} == set(alerts)


def test_rules_read_series_and_labels_microlib_exports() -> None:
    """Every series the rules read is exported by running services (or recorded by the rules
    themselves), with every label the rules match, group by or relabel from, as Prometheus stores
    it after a scrape."""
    recorded = {rule["record"] for rule in _every_rule() if "record" in rule}
    wrong = {
        rule.get("alert", rule.get("record")): unknown(rule["expr"], exported(), recorded)
        for rule in _every_rule()
    }
    assert not {name: what for name, what in wrong.items() if what}
    read = {name for rule in _every_rule() for name, _ in reads(rule["expr"]).selectors}
    assert {"http_server_requests_total", "rpc_server_request_duration_seconds_bucket"} <= read
    assert set(KUBE_STATE_METRICS) <= read


async def test_the_pod_not_ready_runbook_prints_the_health_of_a_pod_that_is_not_ready() -> None:
    """MicrolibPodNotReady's command, run where a critical component fails its check, prints the
    503 and the body naming that component: it fires when readiness fails, when /health answers
    503 (the command used `urllib.request.urlopen`, which raises on a 503 instead of reading it)."""

    class Ledger:
        name = "ledger"

        async def start(self) -> None: ...
        async def stop(self) -> None: ...
        async def check(self) -> None:
            raise ConnectionRefusedError("ledger database unreachable")

    [command] = re.findall(
        r"`kubectl exec <pod> -- (python -c .*?)`\n", (RUNBOOKS / "MicrolibPodNotReady.md").read_text()
    )
    port = _free_port()
    service = Service("ledgers")
    service.add(Ledger())
    async with TestService(service, listen=True, overrides=[f"http.port={port}"]):
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *shlex.split(command.replace("8080", str(port)))[1:],
            stdout=asyncio.subprocess.PIPE,
        )
        output, _ = await process.communicate()
    assert process.returncode == 0
    status, _, body = output.decode().partition(" ")
    assert status == "503"
    assert json.loads(body)["components"]["ledger"]["status"] == "DOWN"
