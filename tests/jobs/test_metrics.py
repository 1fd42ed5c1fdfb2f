"""Every metric docs/jobs.md lists is exported, with the labels it lists, and moves as it says."""

from __future__ import annotations

import re
from pathlib import Path

from prometheus_client import generate_latest

from microlib import Service
from microlib.testing import TestService
from tests.jobs._contract import Handlers, Receipt, ShopJobsEnqueuer
from tests.jobs._overlap import Gate, definition, reports

DOC = Path(__file__).resolve().parents[2] / "docs" / "jobs.md"
T0 = 1_800_000_000.0


def _documented() -> dict[str, set[str]]:
    """The metrics table of docs/jobs.md: name → labels."""
    section = DOC.read_text(encoding="utf-8").split("## Metrics", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| ([\w, ]+) \|", section, re.MULTILINE)
    return {name: {label.strip() for label in labels.split(",")} for name, labels in rows}


def _samples(service: Service) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Samples by metric name (histograms under their own name)."""
    text = generate_latest(service.metrics.registry).decode()  # type: ignore[attr-defined]
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for name, labels, value in re.findall(r"^(\w+)\{([^}]*)\} (\S+)$", text, re.MULTILINE):
        base = re.sub(r"_(bucket|count|sum)$", "", name)
        pairs = dict(re.findall(r'(\w+)="([^"]*)"', labels))
        pairs.pop("le", None)
        found.setdefault(base, []).append((pairs, float(value)))
        if base != name:
            found.setdefault(name, []).append((pairs, float(value)))
    return found


def _value(samples: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    return sum(v for pairs, v in samples.get(name, []) if labels.items() <= pairs.items())


async def test_the_documented_metrics_are_exported_with_their_labels() -> None:
    """A job that runs, one that crashes until dead-lettered, ticks fired and missed, and
    (another service's) a tick skipped under ``overlap: skip``: each metric of the table is
    there, labelled as the table says, with its count."""
    documented = _documented()
    assert len(documented) == 12, documented
    service = Service("shop")
    handlers = Handlers()
    service.include(handlers)
    overrides = ["jobs.scheduler.missed_ticks=skip", "jobs.scheduler.misfire_grace=0"]
    async with TestService(service, frozen_time=T0, overrides=overrides) as t:
        await t.jobs.run_until_idle()
        enqueue = ShopJobsEnqueuer(service.jobs)
        # running: in flight while its handler runs (on real time: the clock is frozen).
        await enqueue.send_receipt(Receipt(order_id="slow", sleep=0.2))
        await handlers.started.wait()
        running = _value(_samples(service), "job_runs_in_flight", service="shop.jobs", method="send_receipt")
        await t.jobs.run_until_idle()
        await enqueue.send_receipt(Receipt(order_id="crash", crash_times=9))  # 3 attempts, dead-lettered
        await t.jobs.run_until_idle()
        await t.jobs.advance(1)  # retries due; a tick fired
        await t.jobs.advance(1)
        await t.jobs.jump(5.5)  # 4 ticks missed, the latest past the grace: 5 missed
        await service.component("jobs-dead-letters").refresh()  # type: ignore[attr-defined]
        samples = _samples(service)
    gate = Gate()
    overlapping = Service("shop")
    overlapping.include(reports(definition("skip"), gate))
    async with TestService(overlapping, frozen_time=T0) as t:
        await t.jobs.run_until_idle()
        await t.jobs.clock.advance(2)  # the first tick's run, held, makes the second skip
        overlap = _samples(overlapping)
        for name in ("job_ticks_skipped_total", "job_overlap_held_seconds"):
            samples[name] = overlap[name]
        gate.open.set()
    assert running == 1.0
    for name, labels in documented.items():
        assert name in samples, f"{name} is documented but not exported"
        assert {frozenset(pairs) for pairs, _ in samples[name]} == {frozenset(labels)}, name
    job = {"service": "shop.jobs", "job": "send_receipt"}
    run = {"service": "shop.jobs", "method": "send_receipt"}
    assert _value(samples, "job_queued_total", **job, queue="mail") == 2
    assert _value(samples, "job_runs_in_flight", **run) == 0
    assert _value(samples, "job_runs_total", **run, code="OK") == 1
    assert _value(samples, "job_runs_total", **run, code="INTERNAL") == 3  # failures
    assert _value(samples, "job_run_duration_seconds_count", **run, code="INTERNAL") == 3
    assert _value(samples, "job_run_duration_seconds_sum", **run, code="OK") >= 0.2  # the slow one
    assert _value(samples, "job_retries_total", **job) == 2
    assert _value(samples, "job_dead_lettered_total", **job, code="INTERNAL") == 1
    assert _value(samples, "job_dead_letters", service="shop") == 1
    assert _value(samples, "job_scheduler_leader", service="shop") == 1
    assert _value(samples, "job_ticks_fired_total", service="shop.jobs", job="heartbeat") == 2
    assert _value(samples, "job_ticks_missed_total", service="shop.jobs", job="heartbeat") == 5
    assert _value(samples, "job_ticks_skipped_total", service="shop.reports", job="report") == 1
