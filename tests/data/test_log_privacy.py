"""Values a request sends never reach a log line: not SQLAlchemy's, not a driver's, not a traceback's.

A real Service with a database (SQLite and PostgreSQL) serves OpenAPI
operations whose handlers write a fake card number through the data layer,
have PostgreSQL refuse it as an integer (its message quotes the value), and
run a statement that fails with the card number bound. Everything the
process logs is captured twice: what reaches standard output and standard
error (the log pipeline, and any handler a library adds of its own), and
every record the standard-library root logger receives.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from pydantic import BaseModel

from microlib.core.errors import InvalidArgument
from microlib.data import Database, DatabaseSettings
from microlib.http.openapi import Body, OpenAPIApp, Operation, Response
from microlib.service import Service
from microlib.testing import TestService

CARD = "4111-9876-5432-1881"
"""A fake card number: the value that must appear in no log line."""

payments = sa.Table(
    "payments",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("card", sa.String(40), nullable=False),
)


class Payment(BaseModel):
    """The request body."""

    card: str


class Receipt(BaseModel):
    """The response body."""

    id: int


OPERATIONS = (
    Operation(
        operation_id="pay",
        method="POST",
        path="/payments",
        tag="payments",
        handler="pay",
        body=Body(required=True, media={"application/json": Payment}),
        responses=(Response("201", "application/json", Receipt),),
    ),
    Operation(
        operation_id="convert",
        method="POST",
        path="/conversions",
        tag="payments",
        handler="convert",
        body=Body(required=True, media={"application/json": Payment}),
        responses=(Response("200", "application/json", Receipt),),
    ),
    Operation(
        operation_id="lookup",
        method="POST",
        path="/lookups",
        tag="payments",
        handler="lookup",
        body=Body(required=True, media={"application/json": Payment}),
        responses=(Response("200", "application/json", Receipt),),
    ),
)


class Payments:
    """Writes payments through the service's database."""

    def __init__(self, service: Service) -> None:
        self.service = service

    async def pay(self, *, body: Payment) -> Receipt:
        """Insert one row holding the card number."""
        async with self.service.database.transaction() as session:
            conn = await session.connection()
            result = await conn.execute(payments.insert().values(card=body.card))
        return Receipt(id=result.inserted_primary_key[0])

    async def convert(self, *, body: Payment) -> Receipt:
        """Read the card number as an integer: PostgreSQL refuses, quoting the value in its message."""
        async with self.service.database.transaction() as session:
            conn = await session.connection()
            number = sa.text("SELECT CAST(CAST(:card AS TEXT) AS INTEGER)")
            return Receipt(id=(await conn.execute(number, {"card": body.card})).scalar_one())

    async def lookup(self, *, body: Payment) -> Receipt:
        """A statement that fails with the card number bound (the table does not exist)."""
        async with self.service.database.transaction() as session:
            conn = await session.connection()
            missing = sa.text("SELECT id FROM no_such_table WHERE card = :card")
            await conn.execute(missing, {"card": body.card})
        raise AssertionError("unreachable")


class RootRecords(logging.Handler):
    """Every record the root logger receives, rendered with its arguments and traceback."""

    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{self.format(record)} args={record.args!r} extra={vars(record)!r}")


@pytest.fixture
def root_records() -> Iterator[RootRecords]:
    """A handler on the root logger for the duration of the test."""
    handler = RootRecords()
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)


async def run_requests(db_url: str, overrides: list[str]) -> list[dict[str, object]]:
    """Start the service, pay with the card, convert it, look it up (failing statements); the log events."""
    service = Service("shop", database=True)
    service.http.mount("/api", OpenAPIApp(OPERATIONS, Payments(service), chain=service.chain, docs=False))
    settings = [f"database.url={db_url}", "database.connect_retries=1", "logging.format=json", *overrides]
    async with TestService(service, overrides=settings) as t:
        async with service.database.engine.begin() as conn:
            await conn.run_sync(payments.metadata.drop_all)
            await conn.run_sync(payments.metadata.create_all)
        paid = await t.http.post("/api/payments", json={"card": CARD})
        assert paid.status_code == 201, paid.text
        assert (await t.http.get("/health/ready")).status_code == 200  # the check's SELECT 1
        converted = await t.http.post("/api/conversions", json={"card": CARD})
        # SQLite reads the leading digits; PostgreSQL's refusal is the caller's bad value.
        assert converted.status_code == (400 if db_url.startswith("postgresql") else 200), converted.text
        assert CARD not in converted.text
        failed = await t.http.post("/api/lookups", json={"card": CARD})
        assert failed.status_code == 500
        async with service.database.engine.begin() as conn:
            stored = (await conn.execute(sa.select(payments.c.card))).scalars().all()
            await conn.run_sync(payments.metadata.drop_all)
        assert stored == [CARD]  # the value did go through the database
        return list(t.logs)


async def test_no_request_value_in_any_log_line_at_the_default_level(
    db_url: str, root_records: RootRecords, capfd: pytest.CaptureFixture[str]
) -> None:
    """With the default settings no statement is logged and the card number appears nowhere,
    not even in the traceback of the failed statement."""
    events = await run_requests(db_url, [])
    out, err = capfd.readouterr()
    assert any(e.get("exception") for e in events)  # the failure was logged, with its traceback
    assert CARD not in out + err
    assert CARD not in repr(events)
    assert not [line for line in root_records.lines if CARD in line]
    assert not [line for line in root_records.lines if line.startswith("sqlalchemy")]
    assert "INSERT INTO payments" not in out
    assert "SELECT 1" not in out


@pytest.mark.parametrize(
    "override", ["database.echo=true", 'logging.levels."sqlalchemy.engine"=INFO'], ids=["echo", "level"]
)
async def test_logged_statements_hide_their_parameters(
    db_url: str, override: str, root_records: RootRecords, capfd: pytest.CaptureFixture[str]
) -> None:
    """With echo on, or SQLAlchemy's logger set to INFO, statements are logged through the
    pipeline (JSON lines only: no second, raw copy) with their parameters hidden."""
    events = await run_requests(db_url, [override])
    out, err = capfd.readouterr()
    statements = [e for e in events if e.get("logger", "").startswith("sqlalchemy.engine")]
    assert any("INSERT INTO payments" in str(e["event"]) for e in statements)
    assert any("parameters hidden" in str(e["event"]) for e in statements)
    assert CARD not in out + err
    assert CARD not in repr(events)
    assert not [line for line in root_records.lines if CARD in line]
    assert all(line.startswith("{") for line in out.splitlines() if line.strip())


async def test_log_parameters_shows_them_when_asked(db_url: str, capfd: pytest.CaptureFixture[str]) -> None:
    """`database.log_parameters: true` (development only) puts bound parameters back in echoed statements."""
    events = await run_requests(db_url, ["database.echo=true", "database.log_parameters=true"])
    assert CARD in repr([e for e in events if e.get("logger", "").startswith("sqlalchemy.engine")])


async def test_echo_without_configured_logging_prints_through_sqlalchemy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Database used outside a service, logging unconfigured: echo still prints each statement
    (through SQLAlchemy's own handler), its parameters hidden."""
    monkeypatch.setattr(logging.getLogger(), "handlers", [])
    statements = logging.getLogger("sqlalchemy.engine.Engine")
    monkeypatch.setattr(statements, "handlers", [])
    db = Database(DatabaseSettings(url=f"sqlite+aiosqlite:///{tmp_path}/app.db", echo=True))
    await db.start()
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(payments.metadata.create_all)
            await conn.execute(payments.insert().values(card=CARD))
    finally:
        await db.stop()
    out = capsys.readouterr().out
    assert "INSERT INTO payments" in out
    assert CARD not in out


@pytest.mark.connected
async def test_refused_value_stays_out_of_the_error_and_the_span(pg_url: str) -> None:
    """PostgreSQL's refusal of a value quotes it; the InvalidArgument raised and the statement's
    span carry the SQLSTATE, not the value."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    db = Database(DatabaseSettings(url=pg_url, connect_retries=1), tracer_provider=provider)
    await db.start()
    try:
        with pytest.raises(InvalidArgument) as caught:
            async with db.transaction() as session:
                await session.exec(sa.text("SELECT CAST(CAST(:card AS TEXT) AS UUID)").bindparams(card=CARD))
    finally:
        await db.stop()
    assert caught.value.reason == "INVALID_DATA"
    assert "SQLSTATE 22P02" in caught.value.message
    assert CARD not in caught.value.message
    assert CARD in str(caught.value.__cause__)  # kept for a debugger, never in a message or a log
    [failed] = [s for s in exporter.get_finished_spans() if s.status.status_code is StatusCode.ERROR]
    assert failed.status.description is not None
    assert "SQLSTATE 22P02" in failed.status.description
    assert CARD not in failed.status.description
