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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import structlog

from microlib.cli._target import load_service
from microlib.cli.errors import CommandError
from microlib.cli.run import add_config_arguments, config_files
from microlib.config.model import DatabaseSettings
from microlib.core.errors import Error
from microlib.core.extras import require

if TYPE_CHECKING:
    from microlib.data.database import Database
    from microlib.data.migrations import Migrations

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
    upgrade.add_argument("revision", nargs="?", metavar="REV", help="default: head")
    upgrade.set_defaults(handler=_upgrade)

    downgrade = actions.add_parser(
        "downgrade", parents=[common], help="downgrade to a revision ('base': all)"
    )
    downgrade.add_argument("revision", nargs="?", metavar="REV")
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


@dataclass(frozen=True, slots=True)
class _Target:
    """The database an invocation acts on, and where its URL came from."""

    migrations: Migrations
    settings: DatabaseSettings
    origin: str


def _revision(args: argparse.Namespace) -> int:
    target = _resolve(args, need_url=args.autogenerate)
    migrations = target.migrations
    if args.autogenerate:
        _run(target, lambda db: migrations.revision(db.engine, args.message))
        return 0
    # An empty script compares nothing: no database is opened, and no SQLite file is created.
    try:
        asyncio.run(migrations.revision(None, args.message, autogenerate=False))
    except Error as exc:
        raise CommandError(exc.message) from None
    return 0


def _upgrade(args: argparse.Namespace) -> int:
    _sort_positionals(args, default="head")
    target = _resolve(args, migrating=True)
    timeout = target.settings.migrate_lock_timeout
    _run(target, lambda db: target.migrations.upgrade(db.engine, args.revision, lock_timeout=timeout))
    return 0


def _downgrade(args: argparse.Namespace) -> int:
    _sort_positionals(args, default=None)
    target = _resolve(args, migrating=True)
    _run(target, lambda db: target.migrations.downgrade(db.engine, args.revision))
    return 0


def _sort_positionals(args: argparse.Namespace, *, default: str | None) -> None:
    """Take TARGET and REV for what they are, in whichever order they were given.

    argparse fills the two optional positionals left to right, so a lone
    ``downgrade app:service`` would read the service as the revision. A
    target is ``module:attribute``; a revision never has a colon.
    """
    given = [value for value in (args.target, args.revision) if value]
    targets = [value for value in given if ":" in value]
    revisions = [value for value in given if ":" not in value]
    if len(targets) > 1 or len(revisions) > 1:
        raise CommandError(f"expected [TARGET] REV, got {' '.join(given)!r}")
    args.target = targets[0] if targets else None
    args.revision = revisions[0] if revisions else default
    if args.revision is None:
        raise CommandError(f"{args.action} needs REV, the revision to go to ('base': all, '-1': one step)")


def _current(args: argparse.Namespace) -> int:
    target = _resolve(args)
    heads = _run(target, lambda db: target.migrations.current(db.engine), create=False)
    print(",".join(heads) or "<base> (never migrated)")
    return 0


def _history(args: argparse.Namespace) -> int:
    target = _resolve(args, need_url=False)
    for revision in target.migrations.history():
        print(revision)
    return 0


def _seed(args: argparse.Namespace) -> int:
    target = _resolve(args)
    from microlib.data.seed import load_seed, run_seed

    function = args.seed_function or target.settings.seed
    if not function:
        raise CommandError("no seed function: pass --seed module:function or set database.seed")
    try:
        seed = load_seed(function)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    _run(target, lambda db: run_seed(db, seed), create=False)  # rows go into migrated tables
    print(f"seed {function} applied")
    return 0


def database_settings(
    args: argparse.Namespace, *, need_url: bool = True
) -> tuple[DatabaseSettings, str, list[Path]]:
    """The ``database`` settings an invocation acts on (``--url`` first), where their URL came
    from, and the migration branches the service's configuration turns on."""
    settings, origin, branches = _settings(args)
    if args.url:
        settings, origin = settings.model_copy(update={"url": args.url}), "--url"
    if need_url and not settings.url:
        raise CommandError(f"no database URL: pass --url, configure database.url, or set ${_ENV_URL}")
    # The data libraries are imported by the command that uses them, not by `microlib --help`.
    require("data", f"microlib {args.command} {args.action}")
    return settings, origin, branches


def _resolve(args: argparse.Namespace, *, need_url: bool = True, migrating: bool = False) -> _Target:
    """The database settings and migrations this invocation acts on; when ``migrating``, checked
    to have revision scripts before the database is opened (which creates a SQLite file)."""
    settings, origin, branches = database_settings(args, need_url=need_url)
    if args.migrations:
        settings = settings.model_copy(update={"migrations": args.migrations})
    from microlib.data.migrations import Migrations

    metadata = None
    if args.metadata:
        module, _, attribute = args.metadata.partition(":")
        try:
            metadata = getattr(importlib.import_module(module), attribute)
        except (ImportError, AttributeError) as exc:
            raise CommandError(f"--metadata {args.metadata!r}: {exc}") from None
    migrations = Migrations(settings.migrations, metadata=metadata, progress=_print, branches=branches)
    if migrating:
        try:
            migrations.check()
        except Error as exc:
            raise CommandError(exc.message) from None
    return _Target(migrations, settings, origin)


def _settings(args: argparse.Namespace) -> tuple[DatabaseSettings, str, list[Path]]:
    """The service's ``database`` section when there is a service, else the
    environment; with where ``database.url`` came from, and the migration
    branches the service's configuration turns on."""
    try:
        service = load_service(args.target)
    except CommandError:
        if args.target:
            raise
        return DatabaseSettings(url=os.environ.get(_ENV_URL)), f"env {_ENV_URL}", []
    # Importing the service also imported its models, which autogenerate needs.
    settings = service.configure(files=config_files(args.config), overrides=args.overrides).database
    return settings, service.live_config.current.origin("database.url"), service.migration_branches()


def _run(target: _Target, action: Callable[[Database], Awaitable[T]], *, create: bool = True) -> T:
    return with_database(target.settings, target.origin, action, create=create)


def with_database(
    settings: DatabaseSettings,
    origin: str,
    action: Callable[[Database], Awaitable[T]],
    *,
    create: bool = True,
) -> T:
    """Run ``action`` on the started database; its failures as one line naming ``database.url``
    and where it came from (``origin``). Unless ``create``, a SQLite file that does not exist is
    such a failure: a command that only reads leaves no empty database behind."""
    from sqlalchemy import exc as sa_exc

    from microlib.data._engine import sqlite_file
    from microlib.data.database import Database

    if not structlog.is_configured():
        # Logs go to stderr: stdout carries the command's own output (``current`` is scripted).
        structlog.configure(logger_factory=lambda *_: structlog.PrintLogger(sys.stderr))

    def wrong(reason: str) -> CommandError:
        return CommandError(f"database.url (from {origin}): {reason}")

    async def main() -> T:
        try:
            db = Database(settings.model_copy(update={"migrate_on_start": False}))
        except ValueError:
            # The URL itself is not repeated: it may hold a password.
            raise wrong(
                "not a database URL (e.g. postgresql+asyncpg://user@host/db or sqlite+aiosqlite:///file.db)"
            ) from None
        file = sqlite_file(db.url)
        if not create and file is not None and not file.exists():
            raise CommandError(
                f"no database: {file} does not exist (database.url from {origin}); "
                "`microlib db upgrade` creates it"
            )
        try:
            try:
                await db.start()
            except sa_exc.NoSuchModuleError:
                raise wrong(
                    f"unknown scheme {db.url.drivername!r} in {db.safe_url}: use postgresql+asyncpg://... "
                    "or sqlite+aiosqlite:///..."
                ) from None
            except sa_exc.DBAPIError as exc:
                # The server's own words: database "x" does not exist, role "y" does not exist...
                raise wrong(f"{db.safe_url}: {exc.orig}") from None
            except Error as exc:
                raise wrong(exc.message) from None
            return await action(db)
        finally:
            await db.stop()

    try:
        return asyncio.run(main())
    except Error as exc:
        raise CommandError(exc.message) from None


def _print(line: str) -> None:
    print(line, flush=True)
