"""``microlib db``: migrations and seed data.

``microlib db revision --autogenerate -m MSG | upgrade [REV] | downgrade REV
| current | history | seed``. The database comes from ``--url``, else from
the service's ``database`` configuration (TARGET, ``--config``, ``--set``),
else from ``MICROLIB__DATABASE__URL``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import structlog

from microlib.cli._target import load_service
from microlib.cli.errors import CommandError
from microlib.cli.run import add_config_arguments
from microlib.config.model import DatabaseSettings
from microlib.core.errors import Error
from microlib.data.database import Database
from microlib.data.migrations import Migrations
from microlib.data.seed import load_seed, run_seed

__all__ = ["register"]

T = TypeVar("T")

_ENV_URL = "MICROLIB__DATABASE__URL"


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the ``db`` subcommand and its actions."""
    common = argparse.ArgumentParser(add_help=False)
    add_config_arguments(common)
    common.add_argument("--url", help=f"the database URL (overrides the config and ${_ENV_URL})")
    common.add_argument("--migrations", metavar="DIR", help="the revision scripts' directory")
    common.add_argument(
        "--metadata",
        metavar="MODULE:ATTR",
        help="the MetaData autogenerate compares with (default: sqlmodel.SQLModel.metadata)",
    )
    parser = subparsers.add_parser("db", help="migrate the database and load seed data")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    revision = actions.add_parser("revision", parents=[common], help="write a new revision script")
    revision.add_argument("-m", "--message", required=True, help="what the revision does")
    revision.add_argument("--autogenerate", action="store_true", help="compare the models with the database")
    revision.set_defaults(handler=_revision)

    upgrade = actions.add_parser("upgrade", parents=[common], help="upgrade to a revision (default: head)")
    upgrade.add_argument("revision", nargs="?", default="head", metavar="REV")
    upgrade.set_defaults(handler=_upgrade)

    downgrade = actions.add_parser(
        "downgrade", parents=[common], help="downgrade to a revision ('base': all)"
    )
    downgrade.add_argument("revision", metavar="REV")
    downgrade.set_defaults(handler=_downgrade)

    current = actions.add_parser("current", parents=[common], help="print the database's revision")
    current.set_defaults(handler=_current)

    history = actions.add_parser("history", parents=[common], help="list the revisions, newest first")
    history.set_defaults(handler=_history)

    seed = actions.add_parser("seed", parents=[common], help="run the idempotent seed function")
    seed.add_argument(
        "--seed", dest="seed_function", metavar="MODULE:FUNCTION", help="overrides database.seed"
    )
    seed.set_defaults(handler=_seed)


def _revision(args: argparse.Namespace) -> int:
    migrations, settings = _resolve(args)
    _run(settings, lambda db: migrations.revision(db.engine, args.message, autogenerate=args.autogenerate))
    return 0


def _upgrade(args: argparse.Namespace) -> int:
    if args.target and ":" not in args.target and args.revision == "head":
        # `upgrade 0002`: one positional that is not module:attribute is the revision.
        args.revision, args.target = args.target, None
    migrations, settings = _resolve(args)
    timeout = settings.migrate_lock_timeout
    _run(settings, lambda db: migrations.upgrade(db.engine, args.revision, lock_timeout=timeout))
    return 0


def _downgrade(args: argparse.Namespace) -> int:
    migrations, settings = _resolve(args)
    _run(settings, lambda db: migrations.downgrade(db.engine, args.revision))
    return 0


def _current(args: argparse.Namespace) -> int:
    migrations, settings = _resolve(args)
    heads = _run(settings, lambda db: migrations.current(db.engine))
    print(",".join(heads) or "<base> (never migrated)")
    return 0


def _history(args: argparse.Namespace) -> int:
    migrations, _ = _resolve(args, need_url=False)
    for revision in migrations.history():
        print(revision)
    return 0


def _seed(args: argparse.Namespace) -> int:
    _, settings = _resolve(args)
    target = args.seed_function or settings.seed
    if not target:
        raise CommandError("no seed function: pass --seed module:function or set database.seed")
    try:
        seed = load_seed(target)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    _run(settings, lambda db: run_seed(db, seed))
    print(f"seed {target} applied")
    return 0


def _resolve(args: argparse.Namespace, *, need_url: bool = True) -> tuple[Migrations, DatabaseSettings]:
    """The database settings and migrations this invocation acts on."""
    settings = _settings(args)
    if args.url:
        settings = settings.model_copy(update={"url": args.url})
    if args.migrations:
        settings = settings.model_copy(update={"migrations": args.migrations})
    if need_url and not settings.url:
        raise CommandError(f"no database URL: pass --url, configure database.url, or set ${_ENV_URL}")
    metadata = None
    if args.metadata:
        module, _, attribute = args.metadata.partition(":")
        try:
            metadata = getattr(importlib.import_module(module), attribute)
        except (ImportError, AttributeError) as exc:
            raise CommandError(f"--metadata {args.metadata!r}: {exc}") from None
    return Migrations(settings.migrations, metadata=metadata, progress=_print), settings


def _settings(args: argparse.Namespace) -> DatabaseSettings:
    """The service's ``database`` section when there is a service, else the environment."""
    try:
        service = load_service(args.target)
    except CommandError:
        if args.target:
            raise
        return DatabaseSettings(url=os.environ.get(_ENV_URL))
    # Importing the service also imported its models, which autogenerate needs.
    return service.configure(files=args.config, overrides=args.overrides).database


def _run(settings: DatabaseSettings, action: Callable[[Database], Awaitable[T]]) -> T:
    if not structlog.is_configured():
        # Logs go to stderr: stdout carries the command's own output (``current`` is scripted).
        structlog.configure(logger_factory=lambda *_: structlog.PrintLogger(sys.stderr))

    async def main() -> T:
        db = Database(settings.model_copy(update={"migrate_on_start": False}))
        try:
            await db.start()
            return await action(db)
        finally:
            await db.stop()

    try:
        return asyncio.run(main())
    except Error as exc:
        raise CommandError(exc.message) from None


def _print(line: str) -> None:
    print(line, flush=True)
