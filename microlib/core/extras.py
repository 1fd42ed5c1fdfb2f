"""Optional dependencies: each concern's libraries come with a pip extra.

``pip install microlib`` serves HTTP; ``microlib[grpc]``, ``microlib[data]``,
``microlib[otlp]``... add the libraries of one concern each (the table in
``pyproject.toml``). A concern checks its extra where it is configured or
used, before importing anything from it, so a missing one is reported as
one line naming what needed it and the command that adds it, not as a
``ModuleNotFoundError`` from deep inside an import.
"""

from __future__ import annotations

import importlib.util

__all__ = ["EXTRAS", "MissingExtra", "extra_missing", "require"]

EXTRAS: dict[str, tuple[str, ...]] = {
    "grpc": (
        "grpc",
        "grpc_health",
        "grpc_reflection",
        "grpc_status",
        "google.protobuf",
        "google.rpc",
        "protovalidate",
        "betterproto2",
    ),
    "data": ("sqlalchemy", "sqlmodel", "alembic", "aiosqlite", "greenlet"),
    "otlp": ("opentelemetry.exporter.otlp.proto.grpc", "opentelemetry.exporter.otlp.proto.http"),
    "postgres": ("asyncpg",),
    "redis": ("redis",),
    "rabbitmq": ("aio_pika",),
    "kafka": ("aiokafka",),
    "avro": ("fastavro",),
    "jobs": ("croniter",),
}
"""The modules each extra installs, by extra name (``pyproject.toml``'s optional dependencies)."""


class MissingExtra(ImportError):
    """A concern is used whose libraries are not installed.

    The message is one line: what needed them and the ``pip install`` that
    adds them. The ``microlib`` command prints it without a traceback.
    """


def require(extra: str, needed_by: str) -> None:
    """Check that the libraries of ``extra`` are installed, without importing them.

    Args:
        extra: A key of :data:`EXTRAS` (``"grpc"``, ``"data"``...).
        needed_by: What uses them, as the user wrote it: a config key and
            its value, or the object included.

    Raises:
        MissingExtra: naming ``needed_by``, the missing modules and
            ``pip install 'microlib[extra]'``.
    """
    missing = [name for name in EXTRAS[extra] if not _installed(name)]
    if missing:
        raise MissingExtra(
            f"{needed_by} needs {', '.join(missing)}, not installed: pip install 'microlib[{extra}]'"
        )


def extra_missing(error: ModuleNotFoundError, needed_by: str) -> MissingExtra | None:
    """The :class:`MissingExtra` behind ``error``, if the module it did not find comes with an extra.

    For imports that run before any configuration is read (a service module
    importing its generated gRPC code): the extra is named from the module.

    Args:
        error: Raised by an import.
        needed_by: What was being imported.
    """
    name = error.name or ""
    for extra, modules in EXTRAS.items():
        if any(name == m or m.startswith(f"{name}.") or name.startswith(f"{m}.") for m in modules):
            return MissingExtra(f"{needed_by} needs {name}, not installed: pip install 'microlib[{extra}]'")
    return None


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a missing parent package; a module set to None in sys.modules
        return False
