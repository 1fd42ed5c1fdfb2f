"""What the pages say of metrics is what running services export: every metric a page names in a
code span (`http_server_requests_total`, `rpc_server_*`, `name{label,...}`, a runbook's PromQL
query) is exported, with the labels the span names; and a table of metrics (`| metric | type |
labels |`) gives each metric's type and labels as a service exports them."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.docs._blocks import DOCS, ROOT
from tests.docs.test_defaults import _tables
from tests.docs.test_names import _SPAN, _prose
from tests.observability.exported import SCRAPE_LABELS, Exported, exported, own_labels, reads, unknown

RULES = ROOT / "deploy" / "kubernetes" / "monitoring" / "prometheusrule.yaml"


def _recorded() -> set[str]:
    """The series the alert rules record (`microlib:slo_errors:rate5m`), which runbooks query."""
    groups = yaml.safe_load(RULES.read_text(encoding="utf-8"))["spec"]["groups"]
    return {rule["record"] for group in groups for rule in group["rules"] if "record" in rule}


def _families(metrics: Exported) -> set[str]:
    """The first two words of every exported series (`http_server`, `microlib_db`): a name that
    starts with one and goes on is a metric's, `microlib_outbox` (a table) or `microlib_service`
    (a fixture) are not."""
    return {"_".join(name.split("_")[:2]) for name in metrics.labels}


def _names_a_metric(name: str, families: set[str]) -> bool:
    """A series of ``families``, a recording rule's (`microlib:slo_errors:rate5m`, level first),
    or a family (`rpc_server_*`, whose first word is a metric's)."""
    if name.endswith("_*"):
        return name.split("_")[0] in {family.split("_")[0] for family in families}
    return any(name.startswith(f"{family}_") for family in families) or (
        ":" in name and name.split(":")[0] in _levels()
    )


@functools.cache
def _levels() -> set[str]:
    return {name.split(":")[0] for name in _recorded()}


def references(doc: Path, metrics: Exported) -> Iterator[str]:
    """The code spans of ``doc`` that name a metric."""
    families = _families(metrics)
    for span in _SPAN.findall(_prose(doc)):
        words = [name for name, _ in reads(span).selectors] + re.findall(r"[a-z_]+_\*", span)
        if any(_names_a_metric(word, families) for word in words):
            yield span


def _wrong(span: str, metrics: Exported, recorded: set[str]) -> list[str]:
    if span.endswith("_*"):  # a family: `rpc_server_*`
        return [] if any(name.startswith(span[:-1]) for name in metrics.labels) else [f"no series {span}"]
    families = _families(metrics)
    for name, kind in metrics.types.items():  # a histogram named as a whole: its `_count` series
        if kind == "histogram":
            span = re.sub(rf"\b{name}\b(?!_)", f"{name}_count", span)
    return [
        problem
        for problem in unknown(span, metrics, recorded)
        if not problem.startswith("series ") or _names_a_metric(problem.removeprefix("series "), families)
    ]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_metric_a_page_names_is_exported(doc: Path) -> None:
    """A renamed metric or label fails here, not on a reader's dashboard."""
    metrics, recorded = exported(), _recorded()
    wrong = [
        f"`{span}`: {what}" for span in references(doc, metrics) for what in _wrong(span, metrics, recorded)
    ]
    assert not wrong, f"{doc.name} names what no service exports:\n" + "\n".join(wrong)


def _raw(labels: frozenset[str]) -> set[str]:
    """A series' own labels, before the scrape added its own and renamed the clashing ones."""
    own = labels - SCRAPE_LABELS - {"le"}
    return {label.removeprefix("exported_") for label in own}


def _labels(cell: str, metrics: Exported) -> set[str]:
    """The labels a cell names: its code spans, or a plain list of labels (`service, job`); none
    for prose (`as rpc`, `same`)."""
    spans = set(re.findall(r"`([^`]+)`", cell))
    words = set(cell.split(", ")) if re.fullmatch(r"[a-z_]+(?:, [a-z_]+)*", cell) else set()
    return spans or (words if words <= own_labels(metrics) else set())


def metric_rows(doc: Path, metrics: Exported) -> Iterator[tuple[int, str, str, set[str]]]:
    """(line, metric, the type the page gives or "", the labels it gives or none) per metric of a
    `| metric | type | labels |` table; `_message_duration_seconds` after
    `messaging_consumer_messages_total` is `messaging_consumer_message_duration_seconds`."""
    for head, table in _tables(doc.read_text(encoding="utf-8")):
        if "metric" not in head or "labels" not in head:
            continue
        for line, cells in table:
            names = re.findall(r"`([^`]+)`", cells[head.index("metric")])
            kind = cells[head.index("type")].split(" ")[0] if "type" in head else ""
            labels = _labels(cells[head.index("labels")], metrics)
            family = "_".join(names[0].split("_")[:2]) if names else ""
            for name in names:
                if not name.endswith("*"):
                    yield line, family + name if name.startswith("_") else name, kind, labels


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_table_of_metrics_gives_their_types_and_labels(doc: Path) -> None:
    metrics = exported()
    wrong = []
    for line, name, kind, labels in metric_rows(doc, metrics):
        if name not in metrics.types:
            wrong.append(f"{doc.name}:{line}: {name} is not exported")
            continue
        series = metrics.labels.get(f"{name}_count", metrics.labels.get(name))
        if labels and series is not None and labels != _raw(series):
            wrong.append(f"{doc.name}:{line}: {name} has labels {sorted(_raw(series))}, not {sorted(labels)}")
        if kind and kind != metrics.types.get(name):
            wrong.append(f"{doc.name}:{line}: {name} is a {metrics.types.get(name)}, not a {kind}")
    assert not wrong, "\n".join(wrong)


def test_the_checks_can_fail(tmp_path: Path) -> None:
    """A metric misspelt, a label it lacks, a family that does not exist, a table's wrong labels."""
    page = tmp_path / "page.md"
    page.write_text(
        "`http_server_request_total`, `rpc_server_requests_total{route}`, `rpc_client_*`,"
        " `microlib_outbox`\n\n"
        "| metric | type | labels |\n|---|---|---|\n"
        "| `rpc_server_requests_in_flight` | counter | `service`, `method`, `code` |\n"
        "| `messaging_consumer_messages_total`, `_message_duration_seconds` | | as rpc |\n"
    )
    metrics = exported()
    found = {span: _wrong(span, metrics, set()) for span in references(page, metrics)}
    assert {span: wrong for span, wrong in found.items() if wrong} == {
        "http_server_request_total": ["series http_server_request_total"],
        "rpc_server_requests_total{route}": ["label rpc_server_requests_total{route}"],
        "rpc_client_*": ["no series rpc_client_*"],
    }
    rows = [(name, kind, labels) for _, name, kind, labels in metric_rows(page, metrics)]
    assert rows[1:] == [
        ("messaging_consumer_messages_total", "", set()),
        ("messaging_consumer_message_duration_seconds", "", set()),
    ]
    with pytest.raises(AssertionError, match=r"in_flight has labels \['method', 'service'\].*\n.*is a gauge"):
        test_a_table_of_metrics_gives_their_types_and_labels(page)
