"""structlog configuration built from settings, shared with standard-library logging.

structlog events and stdlib records (uvicorn, grpc, SQLAlchemy, aio-pika,
aiokafka, taskiq...) go through one ``logging`` handler and one processor
chain, so every line has the same format, service fields, trace ids and
redaction. Levels live on stdlib loggers, which is what makes per-logger
levels and their runtime changes work for both.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import datetime
import functools
import io
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from typing import IO, Any, NoReturn, TextIO

import orjson
import structlog
from structlog.typing import EventDict, WrappedLogger

from microlib.config.model import LoggingSettings
from microlib.core.errors import FieldViolation, InvalidArgument
from microlib.observability._structlog_private import merge_contextvars
from microlib.observability.identity import ServiceIdentity, _active_identity
from microlib.observability.processors import Redactor, _current_trace_ids, add_service_fields, add_trace_ids

__all__ = ["LEVELS", "LIBRARY_LOGGERS", "QUIET_LIBRARIES", "AccessLog", "LogPipeline"]

_EventProcessor = Callable[[WrappedLogger, str, EventDict], EventDict]

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
"""The level names accepted in config and by the admin endpoint."""

LIBRARY_LOGGERS = (
    "uvicorn",
    "uvicorn.error",
    "uvicorn.access",
    "grpc",
    "sqlalchemy",
    "alembic",
    "aio_pika",
    "aiormq",
    "aiokafka",
    "taskiq",
    "httpx",
    "opentelemetry",
)
"""Libraries whose own handlers are removed so their records reach microlib's."""

# Libraries that log request data below WARNING: SQLAlchemy (statements with
# their bound parameters at INFO, rows at DEBUG; installing the pipeline
# clears the WARNING it sets for itself), aiosqlite (each call with its
# arguments), httpx and httpcore (URLs, request and response events), hpack
# (header values), aio-pika and aiormq (messages, frames), aiokafka (record
# keys and values), botocore (request parameters and responses: secret
# values) and websockets (frames). uvicorn's access line repeats the edge's.
QUIET_LIBRARIES = (
    "aio_pika",
    "aiokafka",
    "aiormq",
    "aiosqlite",
    "botocore",
    "hpack",
    "httpcore",
    "httpx",
    "sqlalchemy",
    "uvicorn.access",
    "websockets",
)
"""Loggers kept at WARNING (or the root level, when higher) unless ``logging.levels`` names them."""


class LogPipeline:
    """The process's log pipeline: format, level per logger, redaction.

    Logging is process-wide by nature; when several services share a process
    the last installed pipeline decides the format, while each line still
    carries the identity of the service handling the current call.

    Args:
        settings: The ``logging`` section.
        environment: ``service.environment``; ``format: auto`` picks the
            console renderer for ``development`` on a terminal.
        stream: Where lines are written; defaults to standard output.
    """

    def __init__(self, settings: LoggingSettings, *, environment: str, stream: IO[str] | None = None) -> None:
        self._settings = settings
        self._stream = stream if stream is not None else _buffered(sys.stdout)
        self._json = _wants_json(settings.format, environment, self._stream)
        self._configured: set[str] = set()
        self._taps: list[Callable[[dict[str, Any]], None]] = []
        # The loop a flush is scheduled on: a loop that closes before running
        # it cannot hold back the lines of later loops.
        self._flush_loop: asyncio.AbstractEventLoop | None = None
        self._redactor = Redactor(settings.redact_keys, reserved=_PIPELINE_FIELDS)
        # Unless redact_keys names one of them, the fields the pipeline adds
        # itself (text) never need redaction: a line is checked without them.
        self._own_fields_harmless = self._redactor.harmless(_OWN_FIELDS)
        self._console = structlog.dev.ConsoleRenderer(colors=_colours(self._stream))
        self._stamp = _IsoTimestamper()
        # Whether _render writes clean events: not while a tap must see them.
        self._renders = self._json
        # What _render writes after a clean event's own fields: the level and logger
        # fields of each (logger, method), and the service fields of the last identity.
        self._level_parts: dict[tuple[str, str], str | None] = {}
        self._service_part: tuple[ServiceIdentity | None, str | None] = (None, "}\n")
        self.handler = logging.StreamHandler(self._stream)
        self.handler.set_name("microlib")
        self.handler.setFormatter(
            structlog.stdlib.ProcessorFormatter(
                foreign_pre_chain=[structlog.stdlib.ExtraAdder(), *_shared_chain()],
                processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, self._finish],
            )
        )

    def install(self) -> None:
        """Configure structlog and route the root logger and library loggers here.

        structlog events are rendered and written directly, without a stdlib
        ``LogRecord``: levels are still those of the stdlib logger of the
        same name, and lines share the handler's lock and stream.
        """
        structlog.configure(
            processors=[
                *_shared_chain(),
                structlog.stdlib.PositionalArgumentsFormatter(),
                structlog.processors.StackInfoRenderer(),
                _write_to_installed,
            ],
            logger_factory=structlog.stdlib.LoggerFactory(),
            wrapper_class=_LevelFilteringLogger,
            # Module-level loggers are often first used before the pipeline
            # is installed (while the config loads); caching would pin them
            # to structlog's defaults and their lines would skip redaction.
            cache_logger_on_first_use=False,
        )
        _installed[:] = [self]
        root = logging.getLogger()
        for handler in list(root.handlers):
            if handler.get_name() == "microlib":
                root.removeHandler(handler)
        root.addHandler(self.handler)
        for name in LIBRARY_LOGGERS:
            library = logging.getLogger(name)
            library.handlers.clear()
            library.propagate = True
            # A level left by a library's own set-up (uvicorn's log_level)
            # would override ours; apply() sets the configured ones again.
            library.setLevel(logging.NOTSET)
        self.apply(self._settings)

    @contextlib.contextmanager
    def tap(self) -> Iterator[list[dict[str, Any]]]:
        """Collect the events written in the block, redacted, just before rendering.

        Returns:
            The list the events are appended to (``microlib.testing.capture_logs``).
        """
        entries: list[dict[str, Any]] = []
        self._taps.append(entries.append)
        self._renders = False
        try:
            yield entries
        finally:
            self._taps.remove(entries.append)
            self._renders = self._json and not self._taps

    def _finish(
        self, logger: WrappedLogger, method_name: str, event_dict: EventDict, clean: bool = False
    ) -> str:
        # uvicorn passes an ANSI-coloured twin of its message as an extra.
        event_dict.pop("color_message", None)
        if not clean:
            event_dict = self._redactor(logger, method_name, event_dict)
        if self._json and "exc_info" in event_dict:
            event_dict = structlog.processors.format_exc_info(logger, method_name, event_dict)
        for tap in self._taps:
            tap(dict(event_dict))
        if self._json:
            return _dumps(event_dict)
        rendered = self._console(logger, method_name, event_dict)
        return rendered if isinstance(rendered, str) else str(rendered)

    def _emit(self, logger: WrappedLogger, method_name: str, event_dict: EventDict) -> None:
        # The shared chain (_shared_chain), same keys in the same order, without the
        # loop: context variables, level, logger, timestamp, trace ids, service fields.
        merge_contextvars(logger, method_name, event_dict)
        # The caller's fields and the bound context, checked for secrets
        # before the pipeline's own fields (the service's text) join them.
        clean = self._own_fields_harmless and self._redactor.clean(event_dict)
        if clean and self._renders:
            line = self._render(logger.name, method_name, event_dict)
            if line is not None:
                self._put(line)
                return
        event_dict["level"] = _LEVEL_NAMES.get(method_name, method_name)
        event_dict["logger"] = logger.name
        event_dict["timestamp"] = self._stamp.now()
        add_trace_ids(logger, method_name, event_dict)
        add_service_fields(logger, method_name, event_dict)
        self._write(logger, method_name, event_dict, clean)

    def _render(self, name: str, method_name: str, event_dict: EventDict) -> str | None:
        """The JSON line ``_emit`` writes for a clean event, or None when only the general path writes it.

        The event is merged and clean (plain values under harmless names), so
        it names none of :data:`_PIPELINE_FIELDS` (the redactor never counts
        them harmless), and it is not tapped: its line is its own fields'
        encoding followed by the pipeline's fields (level, logger, timestamp,
        trace ids and service fields), text in ASCII rendered once (the level
        and service parts) or known to need no escaping (the time, the hex ids).
        A line orjson refuses (integers beyond 64 bits) or writes beyond ASCII
        is the general path's: the standard library's encoder writes those.
        """
        try:
            # The options _dumps tries first; every value is plain, so no default is asked.
            own = orjson.dumps(event_dict, None, _TEXT_KEYS_OPTIONS)
        except TypeError:
            return None
        if not own.isascii() or len(own) < 3:
            return None
        # "": not rendered yet; None: not ASCII.
        level = self._level_parts.get((name, method_name), "")
        if level == "":
            level = self._level_part(name, method_name)
        identity = _active_identity()
        service = self._service_part
        if service[0] is not identity:
            service = self._service_part = (identity, _service_part(identity))
        if level is None or service[1] is None:
            return None
        ids = _current_trace_ids()
        head = own[:-1].decode()
        if ids is None:
            return f'{head}{level}{self._stamp.now()}"{service[1]}'
        return f'{head}{level}{self._stamp.now()}","trace_id":"{ids[0]}","span_id":"{ids[1]}"{service[1]}'

    def _level_part(self, name: str, method_name: str) -> str | None:
        """``,"level":…,"logger":…,"timestamp":"`` of ``name`` at ``method_name``; None beyond ASCII."""
        fields = {"level": _LEVEL_NAMES.get(method_name, method_name), "logger": name, "timestamp": ""}
        rendered = orjson.dumps(fields).decode()
        # Cut at '"}': the timestamp's opening quote stays.
        part = "," + rendered[1:-2] if rendered.isascii() else None
        if len(self._level_parts) < 1024:
            self._level_parts[(name, method_name)] = part
        return part

    def _write(
        self, logger: WrappedLogger, method_name: str, event_dict: EventDict, clean: bool = False
    ) -> None:
        self._put(self._finish(logger, method_name, event_dict, clean) + "\n")

    def _put(self, text: str) -> None:
        lock = self.handler.lock
        # Taken and released by hand: ``with`` costs twice as much, on every line.
        lock.acquire()  # type: ignore[union-attr]
        try:
            self._stream.write(text)
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self._stream.flush()
                return
            if self._flush_loop is loop:
                return
            # Lines written in one turn of the event loop go out in one
            # write: a flush per line is a system call per line. What a
            # crash can lose is bounded by one turn of the loop.
            self._flush_loop = loop
            loop.call_soon(self._flush_turn)
        finally:
            lock.release()  # type: ignore[union-attr]

    def _flush_turn(self) -> None:
        lock = self.handler.lock
        lock.acquire()  # type: ignore[union-attr]
        try:
            self._flush_loop = None
            self._stream.flush()
        finally:
            lock.release()  # type: ignore[union-attr]

    def apply(self, settings: LoggingSettings) -> None:
        """Apply the reloadable part of ``settings``: root level and per-logger levels.

        Loggers configured before but absent from ``settings.levels`` go back
        to inheriting their parent's level; :data:`QUIET_LIBRARIES` not named
        there stay at WARNING, or at the root level when it is higher.
        """
        self._settings = settings
        for name in self._configured - settings.levels.keys():
            logging.getLogger(name).setLevel(logging.NOTSET)
        logging.getLogger().setLevel(settings.level)
        for name, level in settings.levels.items():
            logging.getLogger(name).setLevel(level)
        self._configured = set(settings.levels)
        self._quiet_libraries()

    def set_levels(self, levels: Mapping[str, str]) -> None:
        """Change levels now, until the next reload; ``""`` or ``root`` is the root logger.

        Raises:
            InvalidArgument: naming each unknown level.
        """
        violations = [
            FieldViolation(
                f"levels.{name or 'root'}", f"unknown level {level!r}; use one of {LEVELS}", "enum"
            )
            for name, level in levels.items()
            if str(level).upper() not in LEVELS
        ]
        if violations:
            raise InvalidArgument("invalid log level", violations=violations)
        for name, level in levels.items():
            logger = logging.getLogger() if name in ("", "root") else logging.getLogger(name)
            logger.setLevel(str(level).upper())
            if name not in ("", "root"):
                self._configured.add(name)
        self._quiet_libraries()

    def _quiet_libraries(self) -> None:
        # Their INFO and DEBUG lines carry request data: a root level of
        # INFO or DEBUG must not open them; one above WARNING still applies.
        level = max(logging.WARNING, logging.getLogger().level)
        for name in QUIET_LIBRARIES:
            if name not in self._configured:
                logging.getLogger(name).setLevel(level)

    def levels(self) -> dict[str, str]:
        """The root level and the level of every configured logger and quiet library."""
        current = {"root": logging.getLevelName(logging.getLogger().level)}
        for name in sorted(self._configured.union(QUIET_LIBRARIES)):
            level = logging.getLogger(name).level
            if level != logging.NOTSET:
                current[name] = logging.getLevelName(level)
        return current

    def flush(self) -> None:
        """Flush the output stream."""
        self.handler.flush()


def _service_part(identity: ServiceIdentity | None) -> str | None:
    """``,"service":…,"instance":…}`` and the line's end for ``identity``; None beyond ASCII."""
    if identity is None:
        return "}\n"
    try:
        rendered = orjson.dumps(identity.as_fields(), default=_fallback, option=_TEXT_KEYS_OPTIONS)
    except TypeError:
        return None
    return "," + rendered[1:].decode() + "\n" if rendered.isascii() else None


def _shared_chain() -> list[_EventProcessor]:
    return [
        merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        _IsoTimestamper(),
        add_trace_ids,
        add_service_fields,
    ]


def _colours(stream: IO[str]) -> bool:
    """Console lines are coloured on a terminal, unless ``NO_COLOR`` is set (no-color.org)."""
    isatty = getattr(stream, "isatty", None)
    return isatty is not None and bool(isatty()) and not os.environ.get("NO_COLOR")


def _buffered(stream: TextIO) -> IO[str]:
    """``stream``, buffered even where the process runs unbuffered.

    The pipeline flushes once per turn of the event loop (``_put``), so the
    lines of one turn leave in one write. ``PYTHONUNBUFFERED=1``, which
    container images set (this project's Dockerfile too) so that ``print``
    is not held back, makes standard output write through: a system call
    per line, whatever the pipeline does. So the pipeline writes to the same
    file descriptor through a buffer of its own, flushed at exit too. A
    stream without a file descriptor (a test's capture) is used as it is.
    """
    if not getattr(stream, "write_through", False):
        return stream
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return stream
    return _buffer_of(fd, stream.encoding, stream.errors)


@functools.cache
def _buffer_of(fd: int, encoding: str, errors: str | None) -> IO[str]:
    """One buffered writer per file descriptor, however many pipelines the process builds."""
    raw = io.FileIO(fd, "w", closefd=False)
    writer = io.TextIOWrapper(io.BufferedWriter(raw, 1 << 16), encoding=encoding, errors=errors)
    atexit.register(writer.flush)
    return writer


def _wants_json(fmt: str, environment: str, stream: IO[str]) -> bool:
    if fmt != "auto":
        return fmt == "json"
    isatty = getattr(stream, "isatty", None)
    return not (environment == "development" and isatty is not None and isatty())


def _fallback(value: Any) -> str:
    # Anything json cannot encode (datetimes, UUIDs, bytes...) becomes text.
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    return repr(value)


# The standard library's encoder is the reference rendering (ASCII only,
# text for what JSON has no type for); orjson renders the common line the
# same way about ten times faster, and hands anything else back to it.
_JSON = json.JSONEncoder(default=_fallback)
_TEXT_KEYS_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_ORJSON_OPTIONS = orjson.OPT_NON_STR_KEYS | _TEXT_KEYS_OPTIONS


def _dumps(event: Any, **_: Any) -> str:
    try:
        # Keys are all text on the usual line, and written the same way
        # without OPT_NON_STR_KEYS, which costs a third of the encoding.
        line = orjson.dumps(event, default=_fallback, option=_TEXT_KEYS_OPTIONS)
    except TypeError:
        try:
            line = orjson.dumps(event, default=_fallback, option=_ORJSON_OPTIONS)
        except TypeError:
            # Integers beyond 64 bits, lone surrogates, keys orjson rejects.
            return _JSON.encode(event)
    if line.isascii():
        return line.decode()
    return _JSON.encode(event)


class _IsoTimestamper:
    """``timestamp`` in ISO 8601 UTC, as structlog's ``TimeStamper(fmt="iso", utc=True)`` writes it.

    Lines in the same second share the date and time part, which is the
    expensive part to format, so it is formatted once per second.
    """

    __slots__ = ("_second",)

    def __init__(self) -> None:
        self._second: tuple[int, str] = (-1, "")

    def __call__(self, _: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
        event_dict["timestamp"] = self.now()
        return event_dict

    def now(self) -> str:
        """The current time, as the processor writes it."""
        # One division for both parts: the second, and the nanoseconds within it.
        second, nanos = divmod(time.time_ns(), 1_000_000_000)
        cached = self._second
        if cached[0] != second:
            stamp = datetime.datetime.fromtimestamp(second, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S")
            # One tuple, replaced whole: threads never see half of an update.
            cached = self._second = (second, stamp)
        micros = nanos // 1000
        if not micros:
            return f"{cached[1]}Z"
        # Six digits as two looked-up triples: formatting them costs three times as much.
        return f"{cached[1]}.{_TRIPLES[micros // 1000]}{_TRIPLES[micros % 1000]}Z"


_TRIPLES = tuple(f"{number:03d}" for number in range(1000))


class _LevelFilteringLogger(structlog.stdlib.BoundLogger):
    """structlog's stdlib ``BoundLogger``, dropping disabled levels before any processing.

    ``filter_by_level`` as the first processor would decide the same, but
    only after the event dict is built; a disabled ``debug`` call costs
    next to nothing this way. The level is that of the stdlib logger of the
    same name, so per-logger levels and their runtime changes apply. The
    event goes straight to the processors (structlog's documented hook for
    wrapper classes), not through the two generic layers above it.
    """

    def _proxy_to_logger(self, method_name: str, event: str | None = None, *args: Any, **kw: Any) -> Any:
        logger = self._logger
        # isEnabledFor answers from the logger's level cache, which logging
        # clears whenever any level changes.
        if not logger.isEnabledFor(_LEVEL_NUMBERS[method_name]):
            return None
        if args:
            kw["positional_args"] = args
        elif _installed and self.ends_in_pipeline() and "stack_info" not in kw:
            # microlib's own chain, for a line without %-style arguments or a
            # stack to render: run it directly, without structlog's generic
            # event plumbing and the DropEvent that ends it.
            event_dict = {**self._context, **kw}
            if event is not None:
                event_dict["event"] = event
            _installed[0]._emit(logger, method_name, event_dict)
            return None
        try:
            out_args, out_kw = self._process_event(method_name, event, kw)
        except structlog.DropEvent:
            return None
        return getattr(logger, method_name)(*out_args, **out_kw)

    def ends_in_pipeline(self) -> bool:
        """Whether this logger's chain is microlib's, ending in the installed pipeline."""
        # structlog keeps the configured list itself on every bound logger.
        processors = self._processors
        return isinstance(processors, list) and processors[-1] is _write_to_installed


class AccessLog:
    """The access line of one logger: one per HTTP request, gRPC call or message.

    ``write("info", event, fields)`` writes the line
    ``structlog.get_logger(name).info(event, **fields)`` writes, byte for
    byte, handing the event straight to microlib's pipeline when the
    logger's chain ends there: without structlog's call layers, a second
    level check or a copy of the fields.

    Args:
        name: The logger's name (``microlib.access``, ``microlib.http``).
    """

    __slots__ = ("_direct", "_log", "_logger", "enabled")

    def __init__(self, name: str) -> None:
        # Bound once: the module's lazy proxy would build a logger per line;
        # a bound logger keeps the chain configured when it was bound.
        self._log = structlog.get_logger(name).bind()
        self._direct = isinstance(self._log, _LevelFilteringLogger) and self._log.ends_in_pipeline()
        self._logger = logging.getLogger(name)
        self.enabled = self._logger.isEnabledFor
        """Whether a level (``logging.INFO``...) is written: ask before gathering the fields."""

    def write(self, method_name: str, event: str, fields: dict[str, Any]) -> None:
        """Write ``fields`` as the line ``event`` at ``method_name`` (``info``, ``error``).

        The caller has asked :attr:`enabled` for that level; ``fields`` becomes the line's event dict.
        """
        if self._direct and _installed:
            fields["event"] = event
            _installed[0]._emit(self._logger, method_name, fields)
        else:
            getattr(self._log, method_name)(event, **fields)


# The fields _emit adds after the caller's and the bound context's: text, or kept when given.
_OWN_FIELDS = ("level", "logger", "timestamp", "trace_id", "span_id", "service", "version", "env", "instance")

# What _emit adds or reads itself (_finish drops color_message, formats exc_info): an
# event naming one is the general path's.
_PIPELINE_FIELDS = frozenset((*_OWN_FIELDS, "exc_info", "color_message"))

# structlog's add_log_level: "warn" is the stdlib's old alias, exception() logs at error.
_LEVEL_NAMES = {"warn": "warning", "exception": "error"}

_LEVEL_NUMBERS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "exception": logging.ERROR,
    "critical": logging.CRITICAL,
    "fatal": logging.CRITICAL,
}


# structlog caches bound loggers with their processors, so the last processor
# looks the pipeline up at each event: installing another one takes effect
# for loggers already in use.
_installed: list[LogPipeline] = []


def _write_to_installed(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> NoReturn:
    _installed[0]._write(logger, method_name, event_dict)
    raise structlog.DropEvent
