"""The metrics microlib exports, read from running services, and the series and labels a PromQL
expression reads: what the alert rules, the dashboard and the pages may name
(tests/deploy/test_alerts.py, tests/observability/test_dashboard.py, tests/docs/test_metrics.py).

A service is scraped as Prometheus scrapes it: the target's labels (`job`, `instance`, and on
Kubernetes `namespace` and `pod`) are added, and a metric's own label of one of those names is
renamed `exported_<name>` (the jobs' metrics label the job `job`: read as `exported_job`).
"""

from __future__ import annotations

import asyncio
import functools
import re
import tempfile
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

# The labels a scrape adds to every series.
SCRAPE_LABELS = frozenset({"job", "instance", "namespace", "pod"})
# Read from kube-state-metrics, which reports readiness as Kubernetes sees it.
KUBE_STATE_METRICS = {"kube_pod_status_ready": frozenset({"condition"}) | SCRAPE_LABELS}
PROMQL_WORDS = {"and", "or", "unless", "by", "on", "without", "ignoring", "group_left", "group_right", "bool"}
PROMQL_WORDS |= {"offset", "inf", "nan"}

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
_LABEL_REPLACE = re.compile(r'label_replace\(.*?,\s*"(\w+)"\s*,\s*"[^"]*"\s*,\s*"(\w+)"', re.DOTALL)
_SELECTOR = re.compile(r"(?<![\w:.${])([a-zA-Z_:][\w:]*)(?![\w:])\s*(\{[^}]*\})?(?!\s*\()")
# In a selector's braces: `{job="x", code=~"5.."}`, or the pages' `{cache,operation}` for its labels.
_MATCHER = re.compile(r"(?:^|[{,])\s*([a-zA-Z_]\w*)")


@dataclass
class Reads:
    """What one PromQL expression reads."""

    selectors: list[tuple[str, frozenset[str]]] = field(default_factory=list)  # series, matched labels
    grouping: set[str] = field(default_factory=set)  # by / without / on / ignoring / group_* labels
    made: set[str] = field(default_factory=set)  # labels label_replace writes
    sourced: set[str] = field(default_factory=set)  # labels label_replace reads


def reads(expression: str) -> Reads:
    """The series, label matchers and grouping labels of ``expression``."""
    found = Reads()
    text = re.sub(r"#[^\n]*", " ", expression)
    for made, source in _LABEL_REPLACE.findall(text):
        found.made.add(made)
        found.sourced.add(source)
    text = _STRING.sub('""', text)  # label values and label_replace's arguments
    for labels in _GROUPING.findall(text):
        found.grouping |= {label.strip() for label in labels.split(",") if label.strip()}
    text = _GROUPING.sub(" ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges and subqueries: [5m], [$__rate_interval]
    for name, matchers in _SELECTOR.findall(text):
        if name not in PROMQL_WORDS:
            found.selectors.append((name, frozenset(_MATCHER.findall(matchers))))
    return found


def unknown(expression: str, exported: Exported, recorded: Collection[str] = ()) -> list[str]:
    """What ``expression`` reads that no exported series has: a series, or a label of one.

    A series of ``recorded`` (a recording rule's) is taken as it is; so is a series whose family
    is registered but has no sample yet (its labels are not known).
    """
    read = reads(expression)
    wrong = []
    available: set[str] | None = set(SCRAPE_LABELS) | read.made
    for name, matched in read.selectors:
        if name in recorded:
            available = None
            continue
        if name not in exported.labels:
            wrong.append(f"series {name}")
            continue
        labels = exported.labels[name]
        if labels is None:
            available = None
            continue
        wrong += [f"label {name}{{{label}}}" for label in sorted(matched - labels)]
        if available is not None:
            available |= labels
    if available is not None:
        wrong += [f"label {label} (in by/on/without)" for label in sorted(read.grouping - available)]
        wrong += [f"label {label} (in label_replace)" for label in sorted(read.sourced - available)]
    return wrong


@dataclass
class Exported:
    """The series a scrape stores, each with its label names (None: registered, no sample yet),
    and each metric's type by the name it is written with (`http_server_requests_total`)."""

    labels: dict[str, frozenset[str] | None]
    types: dict[str, str]


# A family's series by its type (a counter's family name leaves out `_total`).
_SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "gauge": ("",),
    "info": ("_info",),
}


def scraped(exposition: str) -> Exported:
    """The series of ``exposition`` as a Prometheus scrape stores them."""
    found: dict[str, set[str] | None] = {}
    types = {}
    for family in text_string_to_metric_families(exposition):
        for suffix in _SUFFIXES.get(family.type, ("",)):
            found.setdefault(family.name + suffix, None)
        types[family.name + ("_total" if family.type == "counter" else "")] = family.type
        for sample in family.samples:
            labels = {f"exported_{k}" if k in SCRAPE_LABELS else k for k in sample.labels}
            found[sample.name] = (found.get(sample.name) or set()) | labels | SCRAPE_LABELS
    labels = {name: None if held is None else frozenset(held) for name, held in found.items()}
    return Exported(labels | KUBE_STATE_METRICS, types)


def own_labels(metrics: Exported) -> set[str]:
    """The labels microlib's series carry themselves, before a scrape adds and renames."""
    held = {
        label for labels in metrics.labels.values() if labels is not None for label in labels - SCRAPE_LABELS
    }
    return {label.removeprefix("exported_") for label in held}


@functools.cache
def exported() -> Exported:
    """What services using every concern export, scraped (see :func:`exposition`)."""
    with tempfile.TemporaryDirectory() as folder:
        return scraped(asyncio.run(exposition(Path(folder))))


async def exposition(folder: Path) -> str:
    """The /metrics of two running services, after a little of everything: the bookshop example
    after one HTTP request, one gRPC call and one outgoing HTTP request; a service with a
    consumer, an outbox on a database, jobs and a scheduler, a cache and secrets, after one
    message and one job were dead-lettered, one cache miss and one secret that could not be read."""
    from examples.bookshop.catalog import Catalog
    from examples.bookshop.gen.bookshop.v1 import BookshopServiceClient, GetBookRequest
    from examples.bookshop.services.bookshop_service import BookshopServiceServicer
    from microlib import Service
    from microlib.testing import TestService

    # The bookshop's servicer in a service of the test's own (the example's module-level service
    # can start once per process, and is other tests').
    bookshop = Service("bookshop")
    catalog = Catalog()
    bookshop.add(catalog)
    bookshop.include(BookshopServiceServicer(catalog))
    async with TestService(bookshop, listen=True) as t:
        assert (await t.http.get("/v1/books/1")).status_code == 200
        await BookshopServiceClient(t.grpc).get_book(GetBookRequest(id="1"))
        async with bookshop.http_client(transport=httpx.ASGITransport(app=_no_content)) as client:
            assert (await client.get("http://prices.internal/v1/prices/1")).status_code == 204
        text = (await t.http.get("/metrics")).text
    return text + await _async_exposition(folder)


async def _no_content(scope: Any, receive: Any, send: Any) -> None:
    """Another service, answering 204."""
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def _async_exposition(folder: Path) -> str:
    from microlib import Service
    from microlib.core.errors import NotFound
    from microlib.messaging import MessageContext, Reject
    from microlib.security import FileSecretStore, Secrets
    from microlib.testing import TestService
    from tests.jobs._contract import Handlers, Receipt, ShopJobsEnqueuer
    from tests.messaging.contract import orders, placed

    contract = orders("alerts")

    async def on_order(self: Any, payload: Any, ctx: MessageContext) -> None:
        raise Reject("not this one")

    service = Service("stock", database=True, cache=True)
    service.include(type("Stock", (contract.consumer,), {"on_order": on_order})())
    service.include(Handlers())
    secrets = Secrets([FileSecretStore(str(folder))])
    service.add(secrets)
    outbox = [
        f"database.url=sqlite+aiosqlite:///{folder / 'stock.db'}",
        "database.migrate_on_start=true",
        "messaging.outbox.enabled=true",
        "messaging.outbox.outside_transaction=direct",  # t.messages.publish sends at once
        "messaging.idempotency.operations=[onOrder]",
    ]
    async with TestService(service, listen=True, overrides=outbox) as t:
        assert await t.messages.publish(contract.place_order, placed(), parameters={"region": "eu"}) == (
            "dead_letter"
        )
        await ShopJobsEnqueuer(service.jobs).send_receipt(Receipt(order_id="o-1", permanent=True))
        await t.jobs.run_until_idle()
        assert len(await t.jobs.dead_letters()) == 1
        assert await service.cache.get("stock:o-1") is None
        try:
            await secrets.get("file:missing-password")
        except NotFound:
            pass
        else:
            raise AssertionError("a secret read from a missing file")
        return (await t.http.get("/metrics")).text
