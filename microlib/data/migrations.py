"""Schema migrations with Alembic, driven from code: no alembic.ini.

The migrations directory holds only revision scripts; the environment and
the revision template ship with microlib. Every command runs on a
connection microlib opens itself, so it works on SQLite (batch mode) and
PostgreSQL alike, from the CLI or inside a starting service.

On PostgreSQL an upgrade holds an advisory lock: when several replicas
start at once, one migrates and the others wait, then find nothing to do.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext, MigrationInfo
from alembic.script import Script, ScriptDirectory
from alembic.util import CommandError as AlembicError
from sqlalchemy import text

from microlib.core.errors import Internal, Unavailable
from microlib.data.errors import DOMAIN, map_db_errors

if TYPE_CHECKING:
    from sqlalchemy import Connection, MetaData
    from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["MigrationError", "Migrations", "Revision"]

log = structlog.get_logger("microlib.data.migrations")

_TEMPLATE = Path(__file__).parent / "_alembic"
# pg_advisory_lock key: "microlib" as ASCII, shared by every microlib service on a database.
_LOCK_KEY = 0x6D6963726F6C6962


class MigrationError(Internal):
    """A migration step failed; the database stays at the last good revision.

    Args:
        message: What failed.
        revision: The revision whose step failed.
    """

    def __init__(self, message: str, *, revision: str | None = None) -> None:
        super().__init__(message, reason="MIGRATION_FAILED", domain=DOMAIN)
        self.revision = revision


@dataclass(frozen=True, slots=True)
class Revision:
    """One revision script.

    Args:
        id: The revision id.
        down: The revisions it follows.
        message: Its message (``-m``).
        path: The script's file.
        is_head: Whether no revision follows it.
    """

    id: str
    down: tuple[str, ...]
    message: str
    path: Path
    is_head: bool

    def __str__(self) -> str:
        down = ",".join(self.down) or "<base>"
        return f"{down} -> {self.id}{' (head)' if self.is_head else ''}, {self.message}"


class Migrations:
    """The revision scripts in ``directory``, and the commands over them.

    Args:
        directory: Where revision scripts live (created by :meth:`revision`).
        metadata: The tables autogenerate compares against; defaults to
            ``SQLModel.metadata`` (import your models first).
        progress: Receives one line per step; defaults to the log.
        branches: Directories of revision scripts a microlib feature ships
            (the outbox's table), each a branch of its own next to the
            application's: ``head`` then means every branch's head.
    """

    def __init__(
        self,
        directory: str | Path,
        *,
        metadata: MetaData | None = None,
        progress: Callable[[str], None] | None = None,
        branches: Sequence[Path] = (),
    ) -> None:
        self.directory = Path(directory)
        self.branches = tuple(branches)
        self._metadata = metadata
        self._progress = progress or (lambda line: log.info(line))

    @property
    def metadata(self) -> MetaData:
        """The target metadata of autogenerate."""
        if self._metadata is None:
            from sqlmodel import SQLModel

            return SQLModel.metadata
        return self._metadata

    def config(self) -> Config:
        """An Alembic ``Config`` built in code for this directory."""
        # Quiet: Alembic's own lines ("Generating ... done") would repeat what microlib says.
        cfg = Config(cmd_opts=argparse.Namespace(quiet=True))
        cfg.set_main_option("script_location", str(_TEMPLATE))
        locations = [b.resolve() for b in self.branches]
        if self.directory.is_dir() or not locations:
            locations.insert(0, self.directory.resolve())
        cfg.set_main_option("version_locations", os.pathsep.join(str(p) for p in locations))
        cfg.set_main_option("path_separator", "os")
        cfg.attributes["metadata"] = self.metadata
        return cfg

    def check(self) -> None:
        """Check there are revision scripts to migrate with.

        Raises:
            MigrationError: the directory does not exist and no branch is on.
        """
        if not self.directory.is_dir() and not self.branches:
            raise MigrationError(f"migrations directory {str(self.directory)!r} does not exist")

    def history(self) -> list[Revision]:
        """Every revision, newest first."""
        return [_revision(s) for s in self._scripts().walk_revisions()]

    async def current(self, engine: AsyncEngine) -> tuple[str, ...]:
        """The revision(s) the database is at; empty when never migrated."""
        with map_db_errors("read the current revision"):
            async with engine.connect() as conn:
                return await conn.run_sync(_heads)

    async def revision(self, engine: AsyncEngine | None, message: str, *, autogenerate: bool = True) -> Path:
        """Write a new revision script, comparing the database to the models.

        Args:
            engine: The database autogenerate compares with; ``None`` writes an empty script
                without opening a database (``autogenerate`` must then be false).
            message: The revision's message, also in its file name.
            autogenerate: Fill the script with the differences between the models and the
                database.

        Returns:
            The script's path.
        """
        if engine is None and autogenerate:
            raise ValueError("autogenerate compares the models with a database: pass its engine")
        self.directory.mkdir(parents=True, exist_ok=True)
        cfg = self.config()

        # With feature branches there are several heads: a new revision follows the application's.
        own = [r.id for r in self.history() if r.is_head and r.path.parent == self.directory.resolve()]
        head = (own[0] if own else "base") if self.branches else "head"

        def write(conn: Connection | None) -> Any:
            cfg.attributes["connection"] = conn
            try:
                # The application's directory, named: beside a feature's branch there are several
                # locations, and a first revision (head "base") has no head to tell which.
                return command.revision(
                    cfg,
                    message=message,
                    autogenerate=autogenerate,
                    head=head,
                    version_path=str(self.directory.resolve()),
                )
            except AlembicError as exc:
                raise MigrationError(_revision_refused(exc)) from None

        if engine is None:
            script = write(None)
        else:
            with map_db_errors("autogenerate"):
                async with engine.connect() as conn:
                    script = await conn.run_sync(write)
        path = Path(script.path)
        shown = path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path
        self._progress(f"created revision {script.revision} ({message}): {shown}")
        return path

    async def upgrade(
        self, engine: AsyncEngine, revision: str = "head", *, lock_timeout: float = 300.0
    ) -> list[str]:
        """Upgrade to ``revision``, one committed step at a time.

        Returns:
            The revisions applied, oldest first (empty if up to date).

        Raises:
            MigrationError: naming the step that failed; the steps before
                it stay applied.
            Unavailable: the lock was not obtained within ``lock_timeout``.
        """
        return await self._migrate(engine, revision, upgrade=True, lock_timeout=lock_timeout)

    async def downgrade(
        self, engine: AsyncEngine, revision: str, *, lock_timeout: float = 300.0
    ) -> list[str]:
        """Downgrade to ``revision`` (``base`` removes everything).

        Returns:
            The revisions undone, newest first.

        Raises:
            MigrationError: naming the step that failed.
        """
        return await self._migrate(engine, revision, upgrade=False, lock_timeout=lock_timeout)

    async def _migrate(
        self, engine: AsyncEngine, target: str, *, upgrade: bool, lock_timeout: float
    ) -> list[str]:
        self.check()
        with map_db_errors("migrate"):
            async with engine.connect() as conn:
                locked = conn.dialect.name == "postgresql"
                if locked:
                    await self._lock(conn, lock_timeout)
                try:
                    return await conn.run_sync(self._run, target, upgrade)
                finally:
                    if locked:
                        await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_KEY})
                        await conn.commit()

    async def _lock(self, conn: Any, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        waiting = False
        while not (await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _LOCK_KEY})).scalar():
            if not waiting:
                self._progress("another instance is migrating this database; waiting for it to finish")
                waiting = True
            if time.monotonic() > deadline:
                raise Unavailable(
                    f"another instance held the migration lock for more than {timeout}s",
                    reason="MIGRATION_LOCK_TIMEOUT",
                    domain=DOMAIN,
                )
            await conn.rollback()
            await asyncio.sleep(0.2)
        # The lock belongs to the session and outlives this transaction; Alembic begins its own.
        await conn.commit()

    def _run(self, conn: Connection, target: str, upgrade: bool) -> list[str]:
        scripts = self._scripts()
        heads = _heads(conn)
        conn.commit()
        if target == "head" and len(scripts.get_heads()) > 1:
            target = "heads"
        try:
            # Planned as Alembic plans the steps it then applies. implicit_base: a branch the
            # database has none of (the outbox's, turned on after the application's revisions;
            # the application's first, after the outbox's) is upgraded from the base.
            if upgrade:
                plan = list(reversed(list(scripts.iterate_revisions(target, heads, implicit_base=True))))
            else:
                plan = [
                    s
                    for s in scripts.iterate_revisions(heads, target, select_for_downgrade=True)
                    if s.revision != target
                ]
        except Exception as exc:
            raise MigrationError(f"cannot plan the migration to {target!r}: {exc}") from exc
        at = ",".join(heads) or "<base>"
        if not plan:
            self._progress(f"database is at {at}: nothing to do")
            return []
        verb = "upgrading" if upgrade else "downgrading"
        self._progress(f"{verb} from {at} to {target}: {len(plan)} step(s)")
        done: list[str] = []
        started = time.perf_counter()

        def applied(*, step: MigrationInfo, **_: Any) -> None:
            nonlocal started
            script = plan[len(done)]
            elapsed = time.perf_counter() - started
            self._progress(
                f"  {'applied' if upgrade else 'reverted'} {script.revision}: {script.doc} ({elapsed:.2f}s)"
            )
            done.append(script.revision)
            started = time.perf_counter()

        cfg = self.config()
        cfg.attributes.update(connection=conn, on_version_apply=applied)
        try:
            if upgrade:
                command.upgrade(cfg, target)
            else:
                command.downgrade(cfg, target)
        except Exception as exc:
            failed = plan[len(done)]
            last = done[-1] if done else at
            raise MigrationError(
                f"migration step {failed.revision} ({failed.doc}) failed: {_first_line(exc)}; "
                f"the database remains at revision {last}",
                revision=failed.revision,
            ) from exc
        self._progress(f"database is at {','.join(_heads(conn)) or '<base>'}")
        return done

    def _scripts(self) -> ScriptDirectory:
        return ScriptDirectory.from_config(self.config())


def _revision_refused(exc: AlembicError) -> str:
    """Why Alembic would not write a revision, saying what to do when it is the usual case."""
    if "not up to date" in str(exc):
        # Autogenerate compares the models with a database at every head: one that is behind
        # (a fresh one, beside the outbox's branch included) would yield its missing revisions again.
        return "autogenerate: the database is not at the latest revision; run `microlib db upgrade` first"
    return f"revision: {exc}"


def _heads(conn: Connection) -> tuple[str, ...]:
    return tuple(MigrationContext.configure(conn).get_current_heads())


def _revision(script: Script) -> Revision:
    down: Sequence[str] | str | None = script.down_revision
    downs = (down,) if isinstance(down, str) else tuple(down or ())
    return Revision(script.revision, downs, script.doc, Path(script.path), script.is_head)


def _first_line(exc: BaseException) -> str:
    # SQLAlchemy appends the statement and a help link on later lines.
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
