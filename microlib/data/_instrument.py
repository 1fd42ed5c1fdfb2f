"""Pool and query metrics, and spans, recorded through SQLAlchemy engine events."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from opentelemetry import trace

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider
    from sqlalchemy.engine import Engine

    from microlib.observability.metrics import Metrics

from sqlalchemy import event

# The operation label's values: anything else is "OTHER", keeping the label's cardinality fixed.
_OPERATIONS = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE"})
_QUERY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Instruments:
    """The metrics and tracer of one database, and the events that feed them."""

    def __init__(self, name: str, metrics: Metrics | None, tracer_provider: TracerProvider | None) -> None:
        self.name = name
        self.tracer = trace.get_tracer("microlib.data", tracer_provider=tracer_provider)
        self._traced = tracer_provider is not None
        self._metrics = metrics
        if metrics is None:
            return
        self.queries = metrics.histogram(
            "microlib_db_query_duration_seconds",
            "Duration of SQL statements.",
            ("database", "operation"),
            buckets=_QUERY_BUCKETS,
        )
        self.query_errors = metrics.counter(
            "microlib_db_query_errors", "SQL statements that raised.", ("database",)
        ).labels(name)
        self.transactions = metrics.histogram(
            "microlib_db_transaction_duration_seconds",
            "Duration of top-level transactions, by outcome.",
            ("database", "outcome"),
            buckets=_QUERY_BUCKETS,
        )
        self.in_use = metrics.gauge(
            "microlib_db_pool_connections_in_use", "Connections checked out of the pool.", ("database",)
        ).labels(name)
        self.opened = metrics.counter(
            "microlib_db_pool_connections_opened", "Connections opened to the database.", ("database",)
        ).labels(name)
        self._by_operation: dict[str, Any] = {}
        self._by_outcome: dict[str, Any] = {}
        self._checked_out: set[int] = set()

    def attach(self, engine: Engine) -> None:
        """Listen to ``engine``'s pool and statement events."""
        if self._metrics is None and not self._traced:
            return
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)
        event.listen(engine, "handle_error", self._error)
        if self._metrics is not None:
            event.listen(engine.pool, "checkout", self._checkout)
            event.listen(engine.pool, "checkin", self._checkin)
            event.listen(engine.pool, "connect", self._connect)

    def transaction_done(self, outcome: str, seconds: float) -> None:
        """Record one top-level transaction."""
        if self._metrics is not None:
            child = self._by_outcome.get(outcome)
            if child is None:
                child = self._by_outcome[outcome] = self.transactions.labels(self.name, outcome)
            child.observe(seconds)

    def _before(self, conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        operation = statement.lstrip()[:6].upper()
        if operation not in _OPERATIONS:
            operation = "OTHER"
        span = None
        if self._traced:
            span = self.tracer.start_span(
                f"{operation} {self.name}",
                kind=trace.SpanKind.CLIENT,
                attributes={"db.system": conn.dialect.name, "db.statement": statement},
            )
        context._microlib = (time.perf_counter(), operation, span)

    def _after(self, conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        started, operation, span = context._microlib
        if self._metrics is not None:
            child = self._by_operation.get(operation)
            if child is None:
                child = self._by_operation[operation] = self.queries.labels(self.name, operation)
            child.observe(time.perf_counter() - started)
        if span is not None:
            span.end()

    def _error(self, context: Any) -> None:
        if self._metrics is not None:
            self.query_errors.inc()
        execution = context.execution_context
        state = getattr(execution, "_microlib", None) if execution is not None else None
        if state is not None and state[2] is not None:
            span = state[2]
            span.set_status(trace.Status(trace.StatusCode.ERROR, _describe(context.original_exception)))
            span.end()

    def _checkout(self, dbapi_connection: Any, record: Any, proxy: Any) -> None:
        self._checked_out.add(id(record))
        self.in_use.inc()

    def _checkin(self, dbapi_connection: Any, record: Any) -> None:
        # The pool also "checks in" a connection whose checkout failed (its
        # pre-ping or reconnect raised during an outage): it was never counted.
        if id(record) in self._checked_out:
            self._checked_out.discard(id(record))
            self.in_use.dec()

    def _connect(self, *args: Any) -> None:
        self.opened.inc()


def _describe(exc: BaseException) -> str:
    # The driver's message can quote a value the caller sent (invalid input
    # syntax for type integer: "4111..."): the span keeps the type and SQLSTATE.
    state = getattr(exc, "sqlstate", None)
    return f"{type(exc).__name__} (SQLSTATE {state})" if state else type(exc).__name__
