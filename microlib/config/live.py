"""``LiveConfig``: the current configuration snapshot, reloaded when files change.

On a change everything is loaded again. An invalid result is logged and
ignored. Otherwise the changed paths are computed: if every one lies under
a field marked ``Reloadable()`` the new snapshot replaces the old one in a
single assignment and subscribers are told; if any does not, "restart
required" is logged and nothing of that edit is applied.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import os
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar

import structlog
from pydantic import BaseModel

from microlib.config._paths import dotted
from microlib.config._schema import build_model, is_reloadable
from microlib.config.errors import ConfigError
from microlib.config.loader import LoadedConfig, load_sources, standard_sources
from microlib.config.model import Settings

if TYPE_CHECKING:
    from microlib.config._watch import FileWatcher

__all__ = ["LiveConfig", "ReloadResult", "Subscriber", "changed_paths"]

M = TypeVar("M", bound=BaseModel)


class Subscriber(Protocol):
    """A reload callback: ``callback(old_settings, new_settings, changed_paths)``, sync or async."""

    def __call__(self, old: Any, new: Any, changed: tuple[str, ...], /) -> Awaitable[None] | None:
        """React to an applied change; ``changed`` holds the dotted paths."""
        ...


log = structlog.get_logger("microlib.config")


@dataclass(frozen=True, slots=True)
class ReloadResult:
    """What a reload did.

    Args:
        status: ``applied``, ``unchanged``, ``rejected`` (invalid: the old
            configuration stays) or ``restart_required`` (nothing applied).
        changed: The dotted paths whose value differs from the running one.
        blocked: The changed paths that are not reloadable.
        error: The validation error of a rejected reload.
    """

    status: Literal["applied", "unchanged", "rejected", "restart_required"]
    changed: tuple[str, ...] = ()
    blocked: tuple[str, ...] = ()
    error: ConfigError | None = None


class LiveConfig(Generic[M]):
    """A lifecycle component holding the current configuration.

    The first load happens in the constructor, so an invalid configuration
    fails before anything starts. ``start()`` watches the config files'
    directories (OS notifications through watchfiles, or content polling
    with ``force_polling``) and reloads on a change; ``reload()`` may be
    called directly (on SIGHUP, say).

    Args:
        model: The settings model. The other arguments are those of
            :func:`~microlib.config.load_config`.
        watch: Whether ``start()`` watches the files.
        force_polling: Poll the files' content instead of using OS
            notifications (network file systems, some containers).
        poll_interval: Seconds between polls when polling.
        debounce: Seconds to wait for a burst of writes to settle.

    Attributes:
        last_reload: The outcome of the latest reload, None before the first.

    Raises:
        ConfigError: the initial configuration is invalid.
    """

    name = "config"

    def __init__(
        self,
        model: type[M] = Settings,  # type: ignore[assignment]
        *,
        sections: Mapping[str, type[BaseModel]] | None = None,
        files: Sequence[str | os.PathLike[str]] = (),
        overrides: Sequence[str] = (),
        environ: Mapping[str, str] | None = None,
        env_prefix: str = "MICROLIB",
        values: Mapping[str, Any] | None = None,
        watch: bool = True,
        force_polling: bool = False,
        poll_interval: float = 1.0,
        debounce: float = 0.2,
    ) -> None:
        self._model: type[M] = build_model(model, sections)
        sources = standard_sources(
            files=files, overrides=overrides, environ=environ, env_prefix=env_prefix, values=values
        )
        self._files = tuple(Path(path) for path in files)
        self._load = functools.partial(load_sources, self._model, sources)
        self._current: LoadedConfig[M] = self._load()
        self._subscribers: list[Subscriber] = []
        self._lock = asyncio.Lock()
        self._watch = watch
        self._watched = [path.absolute() for path in self._files]
        self._force_polling, self._poll_interval, self._debounce = force_polling, poll_interval, debounce
        self._stop_event: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._watching = asyncio.Event()
        self.last_reload: ReloadResult | None = None

    @property
    def current(self) -> LoadedConfig[M]:
        """The configuration in force, with the origin of each value."""
        return self._current

    @property
    def settings(self) -> M:
        """The settings in force: an immutable snapshot, safe to keep and share."""
        return self._current.settings

    @property
    def model(self) -> type[M]:
        """The settings model, user sections included."""
        return self._model

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback(old, new, changed_paths)`` after each applied reload.

        Callbacks run in subscription order, inside the reload; one that
        raises is logged and the others still run. A callback must not call
        :meth:`reload`.

        Returns:
            A function that unsubscribes.
        """
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    async def start(self) -> None:
        """Start watching the config files (if any and ``watch`` is on)."""
        if not (self._watch and self._files) or self._task is not None:
            return
        # Only a configuration read from files is watched: the watcher loads with the first.
        from microlib.config._watch import FileWatcher

        watcher = FileWatcher(
            self._watched,
            force_polling=self._force_polling,
            poll_interval=self._poll_interval,
            debounce=self._debounce,
        )
        self._stop_event = asyncio.Event()
        self._watching.clear()
        watching = self._watch_files(watcher, self._stop_event)
        self._task = asyncio.create_task(watching, name="microlib.config watcher")

    async def wait_watching(self) -> bool:
        """Wait until edits to the files are being picked up.

        Returns:
            True once watching; False at once if nothing is watched (not
            started, no files, ``watch=False``) or if the watcher stopped.
        """
        task = self._task
        if task is None:
            return False
        waiter = asyncio.ensure_future(self._watching.wait())
        try:
            await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
        return self._watching.is_set()

    async def stop(self) -> None:
        """Stop watching."""
        task, self._task = self._task, None
        if task is None or self._stop_event is None:
            return
        self._stop_event.set()
        try:
            await task
        finally:
            self._watching.clear()

    async def check(self) -> Mapping[str, Any] | None:
        """Details for the health report: the files, and any pending restart."""
        details: dict[str, Any] = {
            "files": [str(path) for path in self._files],
            "watching": self._watching.is_set(),
        }
        if self.last_reload is not None:
            details["last_reload"] = self.last_reload.status
            if self.last_reload.status == "restart_required":
                details["restart_required"] = list(self.last_reload.blocked)
        return details

    async def reload(self) -> ReloadResult:
        """Load everything again and apply the change if it is valid and reloadable.

        Returns:
            What happened; the outcome is also logged.
        """
        async with self._lock:
            result = await self._reload()
            self.last_reload = result
            return result

    async def _reload(self) -> ReloadResult:
        try:
            loaded = await asyncio.to_thread(self._load)
        except ConfigError as exc:
            log.error("config reload rejected, the running configuration stays in force", error=str(exc))
            return ReloadResult("rejected", error=exc)
        old = self._current
        paths = changed_paths(old.settings, loaded.settings)
        if not paths:
            # Same values, but a value may have moved to another file: keep the
            # snapshot object, refresh the origins.
            self._current = LoadedConfig(old.settings, loaded.leaves)
            return ReloadResult("unchanged")
        changed = tuple(dotted(path) for path in paths)
        blocked = tuple(dotted(path) for path in paths if not is_reloadable(self._model, path))
        if blocked:
            log.warning(
                "config change not applied: restart required",
                restart_required=list(blocked),
                changed=list(changed),
            )
            return ReloadResult("restart_required", changed, blocked)
        self._current = loaded
        await self._notify(old.settings, loaded.settings, changed)
        # After the subscribers: a log level this reload raises applies to this line too.
        log.info("config reloaded", changed=list(changed))
        return ReloadResult("applied", changed)

    async def _notify(self, old: M, new: M, changed: tuple[str, ...]) -> None:
        for callback in list(self._subscribers):
            try:
                outcome = callback(old, new, changed)
                if inspect.isawaitable(outcome):
                    await outcome
            except Exception:
                name = getattr(callback, "__qualname__", repr(callback))
                log.exception("config subscriber failed", subscriber=name)

    async def _watch_files(self, watcher: FileWatcher, stop_event: asyncio.Event) -> None:
        try:
            async for _ in watcher.events(stop_event):
                # The first event means "now watching": reload once in case an
                # edit landed while the watcher was being set up.
                await self.reload()
                self._watching.set()
        except Exception:
            log.exception("config watcher failed; file changes are no longer applied")


def changed_paths(old: BaseModel, new: BaseModel) -> list[tuple[str | int, ...]]:
    """The paths whose values differ between two snapshots (a list is one value)."""
    return sorted(_diff(old.model_dump(), new.model_dump(), ()), key=lambda path: tuple(map(str, path)))


def _diff(old: Any, new: Any, path: tuple[str | int, ...]) -> Iterator[tuple[str | int, ...]]:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in old.keys() | new.keys():
            if key not in old or key not in new:
                yield (*path, key)
            else:
                yield from _diff(old[key], new[key], (*path, key))
    elif old != new:
        yield path
