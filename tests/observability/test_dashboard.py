"""The sample Grafana dashboard: valid PromQL, about metrics and labels microlib exports."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import yaml

from tests.observability.exported import exported, unknown

DASHBOARD = Path(__file__).parents[2] / "docs" / "dashboards" / "microlib-service.json"
# Grafana's `label_values(series, label)` (a variable's query), as the PromQL it stands for.
_LABEL_VALUES = re.compile(r"label_values\((.*),\s*(\w+)\)")


def _expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def _variables() -> list[str]:
    """The variables' queries, as PromQL."""
    dashboard = json.loads(DASHBOARD.read_text())
    queries = [v["query"]["query"] for v in dashboard["templating"]["list"] if v["type"] == "query"]
    return [_LABEL_VALUES.sub(r"count by (\2) (\1)", query) for query in queries]


def test_every_query_is_valid_promql(tmp_path: Path) -> None:
    """``promtool check rules`` accepts every panel query (Grafana variables substituted)."""
    rules = [
        {"record": f"dashboard_query_{i}", "expr": expr.replace("$__rate_interval", "5m").replace("$", "v")}
        for i, expr in enumerate(_expressions() + _variables())
    ]
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = subprocess.run(
        ["promtool", "check", "rules", str(path)], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_queries_read_series_and_labels_microlib_exports() -> None:
    """Every series a panel or a variable reads is one that running services export, with every
    label it matches or groups by, as Prometheus stores it after a scrape (the jobs' own `job`
    label as `exported_job`): a panel on a metric or label that does not exist draws nothing, and
    says nothing. (It compared name prefixes only, and let a metric not exported yet through.)"""
    wrong = {query: unknown(query, exported()) for query in _expressions() + _variables()}
    assert not {query: what for query, what in wrong.items() if what}
    assert len(_expressions()) > 20


def test_the_check_can_fail() -> None:
    """A series, a matched label, a grouping label and a relabelled one that nothing exports."""
    assert unknown("rate(http_server_request_total[5m])", exported()) == ["series http_server_request_total"]
    assert unknown('http_server_requests_total{code="500"}', exported()) == [
        "label http_server_requests_total{code}"
    ]
    assert unknown("sum by (route) (rate(rpc_server_requests_total[5m]))", exported()) == [
        "label route (in by/on/without)"
    ]
    assert unknown(
        'label_replace(job_dead_lettered_total, "method", "$1", "job_name", "(.*)")', exported()
    ) == ["label job_name (in label_replace)"]
    assert unknown("sum by (job, namespace, exported_job) (job_dead_lettered_total)", exported()) == []
