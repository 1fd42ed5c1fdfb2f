"""Translate database driver errors into microlib errors, once, at the boundary.

``map_db_errors()`` wraps everything that talks to the database (a
transaction, a health check, a migration) in the style of httpx's
``map_httpcore_exceptions``:

* a unique violation becomes ``AlreadyExists`` naming the constraint;
* a foreign-key, check or not-null violation becomes ``FailedPrecondition``
  naming the constraint (or the column);
* a value the database cannot take for its type (SQLSTATE class 22: bad
  text for a number or a UUID, out of range) becomes ``InvalidArgument``;
* a statement cancelled by ``statement_timeout`` becomes ``DeadlineExceeded``;
* a refused, lost or exhausted connection becomes ``Unavailable``.

The original exception stays attached as ``__cause__``. Messages never
carry the driver's text where it quotes a value the caller sent (a
constraint's DETAIL, ``invalid input syntax for type integer: "..."``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc as sa_exc

from microlib.core.errors import (
    AlreadyExists,
    DeadlineExceeded,
    Error,
    FailedPrecondition,
    InvalidArgument,
    Unavailable,
)

__all__ = ["DOMAIN", "map_db_errors"]

DOMAIN = "microlib.data"
"""The ``domain`` of every error raised by the data layer."""

# PostgreSQL SQLSTATEs (appendix A of the PostgreSQL manual).
_UNIQUE = "23505"
_PRECONDITION = {"23503": "foreign key", "23514": "check", "23502": "not null", "23P01": "exclusion"}
_QUERY_CANCELED = "57014"
# Class 22, data exception: the value does not fit its type or column.
_DATA_EXCEPTION = "22"
# Class 08: connection exception; 57P01-03: admin shutdown, crash, cannot connect now.
_UNAVAILABLE_PREFIXES = ("08", "57P0", "53300")

# SQLite reports columns (or a check constraint's name) in the message.
_SQLITE = re.compile(r"^(UNIQUE|NOT NULL|CHECK|FOREIGN KEY) constraint failed(?::\s*(?P<name>.+))?$")


@contextmanager
def map_db_errors(operation: str = "database operation") -> Iterator[None]:
    """Raise microlib errors for the database errors raised inside the block.

    Args:
        operation: What was being done, for the message of ``Unavailable``.

    Raises:
        AlreadyExists: a unique constraint was violated.
        FailedPrecondition: a foreign-key, check, exclusion or not-null
            constraint was violated.
        InvalidArgument: a value does not fit its type or column.
        DeadlineExceeded: the statement timeout cancelled a statement.
        Unavailable: the database could not be reached or the pool was
            exhausted.
    """
    try:
        yield
    except Error:
        raise
    except sa_exc.IntegrityError as exc:
        raise _integrity(exc) from exc
    except sa_exc.TimeoutError as exc:
        raise Unavailable(
            f"{operation}: no database connection free in the pool ({exc})",
            reason="POOL_EXHAUSTED",
            domain=DOMAIN,
        ) from exc
    except sa_exc.DBAPIError as exc:
        mapped = _dbapi(exc, operation)
        if mapped is None:
            raise
        raise mapped from exc
    except (OSError, ConnectionError) as exc:
        raise _unavailable(operation, exc) from exc


def _integrity(exc: sa_exc.IntegrityError) -> Error:
    state, constraint, detail = _details(exc)
    metadata = {"constraint": constraint} if constraint else {}
    where = f" {constraint!r}" if constraint else ""
    if state == _UNIQUE or state == "unique":
        return AlreadyExists(
            f"a row with the same value already exists (unique constraint{where} violated){detail}",
            reason="UNIQUE_VIOLATION",
            domain=DOMAIN,
            metadata=metadata,
        )
    kind = _PRECONDITION.get(state, state)
    return FailedPrecondition(
        f"{kind} constraint{where} violated{detail}",
        reason=f"{kind.upper().replace(' ', '_')}_VIOLATION",
        domain=DOMAIN,
        metadata=metadata,
    )


def _details(exc: sa_exc.DBAPIError) -> tuple[str, str | None, str]:
    """(kind or SQLSTATE, constraint or column, detail text) of an integrity error."""
    orig = exc.orig
    driver = orig.__cause__ if orig is not None else None
    state = getattr(orig, "sqlstate", None)
    if state:
        constraint = getattr(driver, "constraint_name", None)
        if constraint is None and state == "23502":
            table, column = getattr(driver, "table_name", None), getattr(driver, "column_name", None)
            constraint = f"{table}.{column}" if table and column else column
        # The server's DETAIL quotes the row's values: it stays in the cause, out of the message.
        return state, constraint, ""
    match = _SQLITE.match(str(orig))
    if match is None:
        return "integrity", None, f": {orig}"
    kind = match.group(1).lower()
    return ("unique" if kind == "unique" else kind), match.group("name"), ""


def _dbapi(exc: sa_exc.DBAPIError, operation: str) -> Error | None:
    state = getattr(exc.orig, "sqlstate", None) or ""
    if state.startswith(_DATA_EXCEPTION):
        # The driver's message quotes the value (a card number...): it stays in the cause.
        return InvalidArgument(
            f"{operation}: a value does not fit its type or column (SQLSTATE {state})",
            reason="INVALID_DATA",
            domain=DOMAIN,
        )
    if state == _QUERY_CANCELED:
        return DeadlineExceeded(
            f"{operation}: statement cancelled by the statement timeout",
            reason="STATEMENT_TIMEOUT",
            domain=DOMAIN,
        )
    if (
        exc.connection_invalidated
        or state.startswith(_UNAVAILABLE_PREFIXES)
        or (
            isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError))
            and not state
            and _looks_disconnected(exc)
        )
    ):
        return _unavailable(operation, exc.orig or exc)
    return None


def _looks_disconnected(exc: sa_exc.DBAPIError) -> bool:
    cause = exc.orig.__cause__ if exc.orig is not None else None
    if isinstance(cause, (OSError, ConnectionError)):
        return True
    text = str(exc.orig).lower()
    return any(s in text for s in ("connection", "closed", "unable to open", "disk i/o"))


def _unavailable(operation: str, exc: BaseException) -> Unavailable:
    return Unavailable(
        f"{operation}: database unavailable ({type(exc).__name__}: {exc})",
        reason="DATABASE_UNAVAILABLE",
        domain=DOMAIN,
    )
