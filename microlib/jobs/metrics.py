"""The jobs' own metrics; runs, durations and in-flight counts come from the chain.

The chain's metrics interceptor already records, per job,
``job_runs_total{service,method,code}`` (failures are the codes other than
``OK``), ``job_run_duration_seconds`` and ``job_runs_in_flight`` (running).
This module adds what only the queue and the scheduler know.
"""

from __future__ import annotations

from microlib.observability.metrics import Counter, Gauge, Metrics

__all__ = ["JobMetrics"]


class JobMetrics:
    """Queued, retried and dead-lettered jobs, the dead letters waiting; scheduler leadership and ticks
    (fired, missed, skipped as overlapping).

    Args:
        metrics: The service's registry.
    """

    def __init__(self, metrics: Metrics) -> None:
        self.queued: Counter = metrics.counter(
            "job_queued_total", "Jobs queued (enqueued, retried or replayed).", ("service", "job", "queue")
        )
        self.retries: Counter = metrics.counter(
            "job_retries_total", "Failed job attempts queued again after a backoff.", ("service", "job")
        )
        self.dead_lettered: Counter = metrics.counter(
            "job_dead_lettered_total", "Jobs that failed for good.", ("service", "job", "code")
        )
        self.dead_letters: Gauge = metrics.gauge(
            "job_dead_letters",
            "Dead letters waiting in the service's dead-letter queue, read every jobs.dead_letter_interval.",
            ("service",),
        )
        self.leader: Gauge = metrics.gauge(
            "job_scheduler_leader", "1 while this replica holds the scheduler lease.", ("service",)
        )
        self.ticks_fired: Counter = metrics.counter(
            "job_ticks_fired_total", "Schedule ticks that enqueued their job.", ("service", "job")
        )
        self.ticks_missed: Counter = metrics.counter(
            "job_ticks_missed_total",
            "Schedule ticks not fired (no leader, or skipped by the missed-tick policy).",
            ("service", "job"),
        )
        self.ticks_skipped: Counter = metrics.counter(
            "job_ticks_skipped_total",
            "Schedule ticks that enqueued nothing: the job's earlier run was still queued or running "
            "(schedule overlap: skip).",
            ("service", "job"),
        )
        self.overlap_held: Gauge = metrics.gauge(
            "job_overlap_held_seconds",
            "How long the run holding a job's overlap key had held it at its last skipped tick; "
            "0 once a tick fires (schedule overlap: skip).",
            ("service", "job"),
        )
