"""The Prometheus rules for microlib services: valid, unit-tested, about
metrics microlib really exports, each alert with its runbook."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.parser import text_string_to_metric_families

from examples.bookshop.catalog import Catalog
from examples.bookshop.gen.bookshop.v1 import BookshopServiceClient, GetBookRequest
from examples.bookshop.services.bookshop_service import BookshopServiceServicer
from microlib import Service
from microlib.testing import TestService

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "deploy" / "kubernetes" / "monitoring"
RUNBOOKS = ROOT / "docs" / "runbooks"
# Read from kube-state-metrics, which reports readiness as Kubernetes sees it.
KUBE_STATE_METRICS = {"kube_pod_status_ready"}
PROMQL_WORDS = {"and", "or", "unless", "by", "on", "without", "ignoring", "group_left", "group_right", "bool"}


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


def _metric_names(expression: str) -> set[str]:
    """The series names an expression reads (not functions, keywords, labels)."""
    text = re.sub(r"#.*", " ", expression)
    text = re.sub(r'"[^"]*"', " ", text)  # label_replace's label names and values
    text = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|on|without|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set(re.findall(r"(?<![\w.:])([a-zA-Z_:][\w:]*)\b(?!\s*\()", text))
    return names - PROMQL_WORDS


async def test_rules_read_metrics_microlib_exports(tmp_path: Path) -> None:
    """Every series the rules read is exported by a running service after one
    HTTP request and one gRPC call, or recorded by the rules themselves."""
    # The bookshop's servicer in a service of the test's own (the example's
    # module-level service can start once per process, and is other tests').
    bookshop = Service("bookshop")
    catalog = Catalog()
    bookshop.add(catalog)
    bookshop.include(BookshopServiceServicer(catalog))
    async with TestService(bookshop, listen=True) as t:
        assert (await t.http.get("/v1/books/1")).status_code == 200
        await BookshopServiceClient(t.grpc).get_book(GetBookRequest(id="1"))
        exposition = (await t.http.get("/metrics")).text
    exposition += await _async_exposition(tmp_path / "stock.db")
    exported = {s.name for f in text_string_to_metric_families(exposition) for s in f.samples}
    recorded = {rule["record"] for rule in _every_rule() if "record" in rule}
    read = {name for rule in _every_rule() for name in _metric_names(rule["expr"])}
    assert {"http_server_requests_total", "rpc_server_request_duration_seconds_bucket"} <= read
    assert read - exported - recorded == KUBE_STATE_METRICS


async def _async_exposition(database: Path) -> str:
    """The metrics of a service with a consumer, an outbox, jobs and a scheduler, after one
    message and one job were dead-lettered."""
    from microlib.messaging import MessageContext, Reject
    from tests.jobs._contract import Handlers, Receipt, ShopJobsEnqueuer
    from tests.messaging.contract import orders, placed

    contract = orders("alerts")

    async def on_order(self: Any, payload: Any, ctx: MessageContext) -> None:
        raise Reject("not this one")

    service = Service("stock", database=True)
    service.include(type("Stock", (contract.consumer,), {"on_order": on_order})())
    service.include(Handlers())
    outbox = [
        f"database.url=sqlite+aiosqlite:///{database}",
        "database.migrate_on_start=true",
        "messaging.outbox.enabled=true",
        "messaging.outbox.outside_transaction=direct",  # t.messages.publish sends at once
    ]
    async with TestService(service, listen=True, overrides=outbox) as t:
        assert await t.messages.publish(contract.place_order, placed(), parameters={"region": "eu"}) == (
            "dead_letter"
        )
        await ShopJobsEnqueuer(service.jobs).send_receipt(Receipt(order_id="o-1", permanent=True))
        await t.jobs.run_until_idle()
        assert len(await t.jobs.dead_letters()) == 1
        return (await t.http.get("/metrics")).text
