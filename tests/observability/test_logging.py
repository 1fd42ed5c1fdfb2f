"""JSON log lines: fields, trace correlation, redaction, stdlib routing, runtime levels."""

from __future__ import annotations

import asyncio
import datetime
import decimal
import io
import json
import logging
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import SecretStr
from starlette.requests import Request

from microlib.config.model import LoggingSettings, Settings
from microlib.core.context import CallContext
from microlib.observability import Observability, ServiceIdentity
from microlib.observability.http_server import HttpServerTelemetry
from microlib.observability.processors import REDACTED
from tests.observability.helpers import build_app, chain_route, json_lines, make_observability, serve

log = structlog.get_logger("demo.orders")


class TestLogLines:
    def test_json_line_carries_service_fields(self) -> None:
        """Every JSON line has level, logger, timestamp, event and the service identity."""
        _, stream = make_observability("orders")
        log.info("order placed", order_id=42)
        [line] = [entry for entry in json_lines(stream) if entry["event"] == "order placed"]
        assert line["level"] == "info"
        assert line["logger"] == "demo.orders"
        assert line["order_id"] == 42
        assert line["timestamp"].endswith("Z")
        assert (line["service"], line["version"], line["env"], line["instance"]) == (
            "orders",
            "1.2.3",
            "test",
            "orders-1",
        )

    def test_stdlib_records_share_the_pipeline(self) -> None:
        """A library's stdlib log record becomes the same JSON line, with service fields."""
        _, stream = make_observability("orders")
        logging.getLogger("sqlalchemy.engine").warning("pool exhausted: %d waiting", 3)
        [line] = [entry for entry in json_lines(stream) if entry["logger"] == "sqlalchemy.engine"]
        assert line["event"] == "pool exhausted: 3 waiting"
        assert line["level"] == "warning"
        assert line["service"] == "orders"

    def test_uvicorn_lines_are_plain(self) -> None:
        """uvicorn's records arrive without handlers of their own and without the ANSI twin."""
        _, stream = make_observability("orders")
        uvicorn_error = logging.getLogger("uvicorn.error")
        uvicorn_error.info("Started server process [%d]", 42, extra={"color_message": "\x1b[36m%d\x1b[0m"})
        [line] = json_lines(stream)
        assert line["event"] == "Started server process [42]"
        assert "color_message" not in line
        assert uvicorn_error.handlers == []

    def test_contextvars_are_merged(self) -> None:
        """Fields bound through structlog contextvars appear on every line of the task."""
        _, stream = make_observability("orders")
        with structlog.contextvars.bound_contextvars(tenant="acme"):
            log.info("inside")
        log.info("outside")
        lines = {entry["event"]: entry for entry in json_lines(stream)}
        assert lines["inside"]["tenant"] == "acme"
        assert "tenant" not in lines["outside"]

    def test_contextvars_bound_before_the_pipeline_are_merged(self) -> None:
        """A field bound before any pipeline exists is still found (structlog's variable registry)."""
        with structlog.contextvars.bound_contextvars(early_field="yes"):
            _, stream = make_observability("orders")
            log.info("late")
        [line] = json_lines(stream)
        assert line["early_field"] == "yes"

    def test_positional_arguments_and_stack_info(self) -> None:
        """%-style arguments are interpolated and a requested stack is rendered."""
        _, stream = make_observability("orders")
        log.info("paid %s of %d", "3 items", 7)
        log.info("where", stack_info=True)
        paid, where = json_lines(stream)
        assert paid["event"] == "paid 3 items of 7"
        assert "test_positional_arguments_and_stack_info" in where["stack"]

    async def test_lines_of_one_loop_turn_are_flushed_together(self) -> None:
        """Inside the event loop, lines reach the stream's buffer at once and its file by the next turn."""
        stream, written = _file_stream()
        settings = Settings.model_validate({"logging": {"format": "json"}})
        Observability(settings, ServiceIdentity("orders"), log_stream=stream)
        log.info("first")
        log.info("second")
        assert written == []
        await asyncio.sleep(0)
        [chunk] = written
        assert [json.loads(line)["event"] for line in chunk.splitlines()] == ["first", "second"]

    def test_an_unbuffered_standard_output_still_gets_one_write_per_loop_turn(self, tmp_path: Path) -> None:
        """PYTHONUNBUFFERED=1 (as container images set) makes sys.stdout write through; the pipeline
        writes to its file descriptor through a buffer of its own, so a turn's lines still leave
        together, and a line of the loop's last turn is flushed at exit."""
        script = tmp_path / "turns.py"
        script.write_text(
            textwrap.dedent(
                """
                import asyncio, os, sys
                import structlog
                from microlib.config.model import Settings
                from microlib.observability import Observability, ServiceIdentity

                assert sys.stdout.write_through
                Observability(Settings.model_validate({"logging": {"format": "json"}}), ServiceIdentity("o"))
                log = structlog.get_logger("turns")

                async def main() -> None:
                    log.info("first")
                    log.info("second")
                    held = os.fstat(1).st_size
                    await asyncio.sleep(0)
                    await asyncio.sleep(0)
                    log.info("flushed", held=held, then=os.fstat(1).st_size)
                    log.info("last")

                asyncio.run(main())
                """
            )
        )
        out = tmp_path / "out.jsonl"
        with out.open("w") as stdout:
            env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": os.pathsep.join(sys.path)}
            subprocess.run([sys.executable, str(script)], stdout=stdout, env=env, check=True, timeout=60)
        written = out.read_bytes().splitlines(keepends=True)
        lines = [json.loads(line) for line in written]
        assert [line["event"] for line in lines] == ["first", "second", "flushed", "last"]
        # Nothing written during the turn; both lines once it ended.
        assert (lines[2]["held"], lines[2]["then"]) == (0, len(written[0] + written[1]))

    def test_lines_outside_the_loop_are_flushed_at_once(self) -> None:
        """Without a running event loop (threads, start-up) every line is flushed when written."""
        stream, written = _file_stream()
        settings = Settings.model_validate({"logging": {"format": "json"}})
        Observability(settings, ServiceIdentity("orders"), log_stream=stream)
        log.info("now")
        assert [json.loads(chunk)["event"] for chunk in written] == ["now"]

    async def test_lines_leave_the_handler_lock_free(self) -> None:
        """Writing and flushing a line, in the loop or outside it, release the lock the handler shares."""
        stream, written = _file_stream()
        settings = Settings.model_validate({"logging": {"format": "json"}})
        obs = Observability(settings, ServiceIdentity("orders"), log_stream=stream)
        lock = obs.logs.handler.lock
        assert lock is not None
        for flushed in (False, True):
            # The second line of a turn finds its flush already scheduled.
            log.info("in the loop")
            log.info("in the loop")
            if flushed:
                await asyncio.sleep(0)
            # Another thread, as the handler's own records may come from: the lock is reentrant.
            free = await asyncio.to_thread(lambda: lock.acquire(timeout=1) and (lock.release() or True))
            assert free, f"lock held after the line (flushed: {flushed})"
        await asyncio.to_thread(log.info, "outside the loop")
        assert await asyncio.to_thread(lambda: lock.acquire(timeout=1) and (lock.release() or True))
        events = [json.loads(line)["event"] for chunk in written for line in chunk.splitlines()]
        assert events == ["in the loop"] * 4 + ["outside the loop"]

    def test_exception_traceback_is_a_field(self) -> None:
        """log.exception puts the formatted traceback in the JSON ``exception`` field."""
        _, stream = make_observability("orders")
        try:
            raise ValueError("broken invariant")
        except ValueError:
            log.exception("failed")
        [line] = [entry for entry in json_lines(stream) if entry["event"] == "failed"]
        assert "ValueError: broken invariant" in line["exception"]
        assert "Traceback" in line["exception"]

    def test_json_values_render_as_the_standard_library_does(self) -> None:
        """Non-ASCII text is escaped, huge integers and odd types keep the stdlib rendering."""
        _, stream = make_observability("orders")
        moment = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
        log.info("values", city="Zürich", big=2**70, when=moment, raw=b"\xff", nested={1: "one"})
        [raw_line] = [line for line in stream.getvalue().splitlines() if '"values"' in line]
        assert raw_line.isascii()
        line = json.loads(raw_line)
        assert line["city"] == "Zürich"
        assert line["big"] == 2**70
        assert line["when"] == repr(moment)
        assert line["raw"] == "\\xff"
        assert line["nested"] == {"1": "one"}

    def test_timestamp_is_iso_utc_to_the_microsecond(self) -> None:
        """``timestamp`` is ISO 8601 in UTC, like structlog's ``TimeStamper(fmt="iso", utc=True)``."""
        _, stream = make_observability("orders")
        before = datetime.datetime.now(datetime.UTC)
        log.info("stamped")
        after = datetime.datetime.now(datetime.UTC)
        [line] = [entry for entry in json_lines(stream) if entry["event"] == "stamped"]
        stamp = datetime.datetime.fromisoformat(line["timestamp"].replace("Z", "+00:00"))
        assert line["timestamp"].endswith("Z")
        # Both clocks are read to the microsecond, one rounding and one truncating.
        assert before - datetime.timedelta(microseconds=2) <= stamp <= after

    def test_disabled_level_writes_nothing(self) -> None:
        """A call below its logger's level produces no line, and a runtime change enables it."""
        obs, stream = make_observability("orders", logging={"levels": {"demo.orders": "WARNING"}})
        log.info("hidden")
        obs.logs.set_levels({"demo.orders": "INFO"})
        log.info("shown")
        assert [entry["event"] for entry in json_lines(stream)] == ["shown"]

    def test_console_format(self) -> None:
        """``format: console`` renders readable, non-JSON lines."""
        stream = io.StringIO()
        settings = Settings.model_validate({"logging": {"format": "console"}})
        Observability(settings, ServiceIdentity("orders"), log_stream=stream)
        log.info("hello", answer=42)
        text = stream.getvalue()
        assert "hello" in text
        assert "answer=42" in text
        assert not text.lstrip().startswith("{")
        assert "\x1b[" not in text  # not a terminal: no colour codes in a file or pipe

    @pytest.mark.parametrize(("no_color", "coloured"), [("", True), ("1", False)])
    def test_console_lines_are_coloured_on_a_terminal(
        self, monkeypatch: pytest.MonkeyPatch, no_color: str, coloured: bool
    ) -> None:
        """In development on a terminal (``format: auto``) lines are coloured, unless NO_COLOR is set."""

        class Terminal(io.StringIO):
            def isatty(self) -> bool:
                return True

        monkeypatch.setenv("NO_COLOR", no_color)
        stream = Terminal()
        Observability(Settings(), ServiceIdentity("orders"), log_stream=stream)
        log.info("hello", answer=42)
        assert ("\x1b[" in stream.getvalue()) is coloured
        assert "hello" in stream.getvalue()


class TestRedaction:
    def test_secrets_never_reach_a_line(self) -> None:
        """Authorization and Cookie headers, configured keys and SecretStr values are redacted."""
        _, stream = make_observability("orders", logging={"redact_keys": ["card_number"]})
        log.info(
            "incoming",
            headers={"Authorization": "Bearer abc.def", "cookie": "session=s3cr3t", "accept": "*/*"},
            raw_headers=[(b"authorization", b"Basic dXNlcjpwYXNz"), (b"host", b"example")],
            card_number="4111111111111111",
            db_password=SecretStr("hunter2"),
            nested={"deeper": {"Set-Cookie": "id=1"}},
        )
        text = stream.getvalue()
        for secret in ("abc.def", "s3cr3t", "dXNlcjpwYXNz", "4111111111111111", "hunter2", "id=1"):
            assert secret not in text
        [line] = json_lines(stream)
        assert line["headers"] == {"Authorization": REDACTED, "cookie": REDACTED, "accept": "*/*"}
        assert line["card_number"] == REDACTED
        assert line["db_password"] == REDACTED
        assert line["nested"]["deeper"]["Set-Cookie"] == REDACTED
        assert line["raw_headers"] == [["authorization", REDACTED], ["host", "example"]]

    def test_the_signed_principal_of_a_message_is_redacted(self) -> None:
        """A message's or job's headers logged whole never show the principal it carries."""
        _, stream = make_observability("orders")
        log.info("delivery", headers={"x-microlib-principal": "eyJ.signed.principal", "traceparent": "00-1"})
        assert "signed.principal" not in stream.getvalue()
        [line] = json_lines(stream)
        assert line["headers"] == {"x-microlib-principal": REDACTED, "traceparent": "00-1"}

    def test_stdlib_extra_fields_are_redacted(self) -> None:
        """Redaction also applies to a stdlib record's arguments bound as structlog fields."""
        _, stream = make_observability("orders")
        logging.getLogger("demo.stdlib").warning(
            "login", extra={"authorization": "Bearer zzz", "user": "ann"}
        )
        assert "zzz" not in stream.getvalue()
        [line] = json_lines(stream)
        assert (line["authorization"], line["user"]) == (REDACTED, "ann")


class TestLevels:
    def test_reload_changes_levels(self) -> None:
        """``apply`` with new ``logging.levels`` turns debug lines on for one logger only."""
        obs, stream = make_observability("orders")
        log.debug("hidden")
        obs.apply(
            Settings.model_validate({"logging": {"format": "json", "levels": {"demo.orders": "DEBUG"}}})
        )
        log.debug("shown")
        structlog.get_logger("demo.other").debug("still hidden")
        obs.apply(Settings.model_validate({"logging": {"format": "json"}}))
        log.debug("hidden again")
        assert [entry["event"] for entry in json_lines(stream)] == ["shown"]

    def test_root_level_applies_to_libraries(self) -> None:
        """Raising the root level to ERROR silences warnings from every logger."""
        obs, stream = make_observability("orders")
        obs.logs.apply(LoggingSettings(level="ERROR"))
        logging.getLogger("aiokafka").warning("rebalance")
        log.warning("slow")
        log.error("down")
        assert [entry["event"] for entry in json_lines(stream)] == ["down"]

    def test_libraries_that_log_request_data_stay_at_warning(self) -> None:
        """A DEBUG root level (in config or set at runtime) does not open the libraries that log
        request data; naming one in ``logging.levels`` does, and a reload without it closes it again."""
        obs, stream = make_observability("orders", logging={"level": "DEBUG"})
        logging.getLogger("sqlalchemy.engine.Engine").info("INSERT INTO cards VALUES ('4111')")
        logging.getLogger("aiosqlite").debug("executing execute('4111')")
        logging.getLogger("botocore.endpoint").debug("response body: {'SecretString': 'hunter2'}")
        obs.logs.set_levels({"root": "DEBUG"})
        logging.getLogger("httpcore.http11").debug("send_request_headers.started")
        log.debug("own debug")
        assert obs.logs.levels()["sqlalchemy"] == "WARNING"
        obs.apply(
            Settings.model_validate(
                {
                    "logging": {
                        "format": "json",
                        "level": "DEBUG",
                        "levels": {"sqlalchemy.engine": "INFO", "httpx": "INFO"},
                    }
                }
            )
        )
        assert obs.logs.levels()["httpx"] == "INFO"
        logging.getLogger("sqlalchemy.engine.Engine").info("SELECT 1")
        obs.apply(Settings.model_validate({"logging": {"format": "json", "level": "DEBUG"}}))
        logging.getLogger("sqlalchemy.engine.Engine").info("SELECT 2")
        assert [entry["event"] for entry in json_lines(stream)] == ["own debug", "SELECT 1"]

    async def test_admin_endpoint_changes_levels_over_http(self) -> None:
        """PUT on the admin endpoint changes a logger's level at runtime; bad levels get a 400."""
        obs, stream = make_observability("orders", logging={"admin": {"enabled": True}})

        async def ping(request: Request, ctx: CallContext) -> dict[str, Any]:
            log.debug("debug ping")
            return {"ok": True}

        app = build_app(obs, [chain_route(obs, "/ping", ping)])
        async with serve(app) as url, httpx.AsyncClient(base_url=url) as client:
            await client.get("/ping")
            changed = await client.put("/admin/loggers", json={"levels": {"demo.orders": "debug"}})
            assert changed.status_code == 200
            assert changed.json()["levels"]["demo.orders"] == "DEBUG"
            await client.get("/ping")
            bad = await client.put("/admin/loggers", json={"levels": {"demo.orders": "LOUD"}})
            assert bad.status_code == 400
            assert bad.json()["violations"][0]["field"] == "levels.demo.orders"
            current = await client.get("/admin/loggers")
        assert current.json()["levels"]["demo.orders"] == "DEBUG"
        assert [e["event"] for e in json_lines(stream)].count("debug ping") == 1

    async def test_access_log_switch_applies_on_reload(self) -> None:
        """Turning ``logging.access_log`` off by reload stops the per-request line at once."""
        obs, stream = make_observability("orders")

        async def ping(request: Request, ctx: CallContext) -> dict[str, Any]:
            return {}

        async with (
            serve(build_app(obs, [chain_route(obs, "/ping", ping)])) as url,
            httpx.AsyncClient() as client,
        ):
            await client.get(f"{url}/ping")
            obs.apply(Settings.model_validate({"logging": {"format": "json", "access_log": False}}))
            await client.get(f"{url}/ping")
        assert [e["event"] for e in json_lines(stream)].count("http request") == 1

    async def test_admin_endpoint_is_off_by_default(self) -> None:
        """Without ``logging.admin.enabled`` the endpoint does not exist."""
        obs, _ = make_observability("orders")
        async with serve(build_app(obs, [])) as url, httpx.AsyncClient(base_url=url) as client:
            response = await client.put("/admin/loggers", json={"levels": {"root": "DEBUG"}})
        assert response.status_code == 404


class TestTraceCorrelation:
    async def test_trace_id_equals_the_span(self) -> None:
        """A line logged inside a request carries the trace and span ids of its server span."""
        exporter = InMemorySpanExporter()
        stream = io.StringIO()
        settings = Settings.model_validate({"logging": {"format": "json"}})
        obs = Observability(settings, ServiceIdentity("orders"), log_stream=stream, span_exporter=exporter)

        async def handler(request: Request, ctx: CallContext) -> dict[str, Any]:
            log.info("handling", order_id=7)
            return {"id": 7}

        app = build_app(obs, [chain_route(obs, "/orders/{id}", handler)])
        async with serve(app) as url, httpx.AsyncClient(base_url=url) as client:
            response = await client.get("/orders/7", headers={"X-Request-ID": "req-123"})
        assert response.headers["x-request-id"] == "req-123"
        await obs.stop()
        [span] = [s for s in exporter.get_finished_spans() if s.name == "GET /orders/{id}"]
        lines = {entry["event"]: entry for entry in json_lines(stream)}
        assert lines["handling"]["trace_id"] == format(span.context.trace_id, "032x")
        assert lines["handling"]["span_id"] == format(span.context.span_id, "016x")
        assert lines["handling"]["request_id"] == "req-123"
        access = lines["http request"]
        assert access["trace_id"] == lines["handling"]["trace_id"]
        assert (access["route"], access["status"], access["path"]) == ("/orders/{id}", 200, "/orders/7")


def _file_stream() -> tuple[io.TextIOWrapper, list[bytes]]:
    """A buffered text stream like standard output, and what reaches its file, write by write."""
    written: list[bytes] = []

    class Sink(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, data: Any) -> int:
            written.append(bytes(data))
            return len(data)

    return io.TextIOWrapper(io.BufferedWriter(Sink()), encoding="utf-8"), written


class TestAccessLineDuration:
    @pytest.mark.parametrize(
        "nanoseconds",
        [0, 499, 500, 1_500, 2_500, 999_999, 1_234_500, 1_235_500, 987_654_321, 123_456_789_012, 2**52],
    )
    def test_duration_is_milliseconds_rounded_to_three_places(
        self, nanoseconds: int, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """``duration_ms`` is the request's duration in milliseconds rounded half to even to three places,
        as ``round(ms, 3)`` rounds the exact value, and the histogram observes it in seconds."""
        obs, stream = make_observability("orders", tracing={"exporter": "none"})
        telemetry = HttpServerTelemetry(obs)
        clock = iter([10**15, 10**15 + nanoseconds])
        monkeypatch.setattr(time, "perf_counter_ns", lambda: next(clock))
        scope = {"type": "http", "method": "GET", "path": "/ping", "headers": []}
        exchange = telemetry.begin(scope, "req-1", {}, "")
        exchange.routes.append("/ping")
        exchange.status = 200
        telemetry.end(exchange, None)
        monkeypatch.undo()
        [line] = [e for e in json_lines(stream) if e["event"] == "http request"]
        exact = decimal.Decimal(nanoseconds).scaleb(-6)
        assert line["duration_ms"] == float(exact.quantize(decimal.Decimal("0.001"), decimal.ROUND_HALF_EVEN))
        total = obs.metrics.registry.get_sample_value(
            "http_server_request_duration_seconds_sum", {"method": "GET", "route": "/ping", "status": "200"}
        )
        assert total == nanoseconds / 1e9
