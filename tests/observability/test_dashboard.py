"""The sample Grafana dashboard: valid PromQL, about metrics microlib exports."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import yaml

DASHBOARD = Path(__file__).parents[2] / "docs" / "dashboards" / "microlib-service.json"
EXPORTED = (
    "http_server_",
    "rpc_server_",
    "http_client_",
    "process_",
    "python_gc_",
    "microlib_service_info",
    "messaging_",
    "job_",
    # Not merged yet (the consumer-lag gauge, like tests/deploy/test_alerts.py's NOT_MERGED_YET).
    "microlib_messaging_consumer_lag",
)


def _expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def test_every_query_is_valid_promql(tmp_path: Path) -> None:
    """``promtool check rules`` accepts every panel query (Grafana variables substituted)."""
    rules = [
        {"record": f"dashboard_query_{i}", "expr": expr.replace("$__rate_interval", "5m").replace("$", "v")}
        for i, expr in enumerate(_expressions())
    ]
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = subprocess.run(
        ["promtool", "check", "rules", str(path)], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_queries_use_exported_metrics() -> None:
    """Every metric a panel reads is one microlib exports."""
    names = {name for expr in _expressions() for name in re.findall(r"\b([a-z_]+)\{", expr)}
    assert names
    assert all(name.startswith(EXPORTED) for name in names), sorted(names)
