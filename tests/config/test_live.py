"""Hot reload: real files edited while the watcher runs; applied, rejected and restart-required edits."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from microlib.config import LiveConfig, Settings
from microlib.core.lifecycle import Component

BASE = "logging:\n  level: INFO\nhttp:\n  port: 8080\nfeatures:\n  checkout: false\n"

Call = tuple[Any, Any, tuple[str, ...]]


def edit(path: Path, text: str) -> None:
    """Save in place, as `echo ... > file` does."""
    path.write_text(text, encoding="utf-8")


def replace(path: Path, text: str) -> None:
    """Save the way editors and Kubernetes do: write a new file, rename it over the old one."""
    scratch = path.with_name(f".{path.name}.tmp")
    scratch.write_text(text, encoding="utf-8")
    os.replace(scratch, path)


async def until(predicate: Callable[[], bool]) -> None:
    """Wait for the watcher to act, bounded so a broken watcher fails the test instead of hanging."""
    async with asyncio.timeout(15):
        # The watcher exposes its outcome as state, not as an event to await.
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "service.yaml"
    path.write_text(BASE, encoding="utf-8")
    return path


@pytest.fixture
async def live(config_file: Path) -> AsyncIterator[LiveConfig[Settings]]:
    config = LiveConfig(Settings, files=[config_file], environ={}, debounce=0.05)
    await config.start()
    assert await config.wait_watching()
    yield config
    await config.stop()


def recorder(live: LiveConfig[Settings]) -> list[Call]:
    calls: list[Call] = []
    live.subscribe(lambda old, new, changed: calls.append((old, new, changed)))
    return calls


async def test_reloadable_edit_is_applied_and_subscribers_notified_once(
    live: LiveConfig[Settings], config_file: Path
) -> None:
    """Editing a reloadable field swaps the snapshot and notifies each subscriber once per change."""
    calls = recorder(live)
    before = live.settings

    edit(config_file, BASE.replace("level: INFO", "level: DEBUG"))
    await until(lambda: len(calls) == 1)
    replace(
        config_file, BASE.replace("level: INFO", "level: DEBUG").replace("checkout: false", "checkout: true")
    )
    await until(lambda: len(calls) == 2)

    assert [changed for _, _, changed in calls] == [("logging.level",), ("features.checkout",)]
    assert calls[0][0] is before
    assert calls[0][1].logging.level == "DEBUG"
    assert calls[1][1] is live.settings
    assert live.settings.features == {"checkout": True}
    assert before.logging.level == "INFO"  # old snapshots never change
    assert live.current.origin("logging.level") == f"{config_file}:2"
    assert (await live.reload()).status == "unchanged"
    assert len(calls) == 2


async def test_invalid_edit_is_rejected_and_old_config_stays(
    live: LiveConfig[Settings], config_file: Path
) -> None:
    """An invalid edit is logged with the full report; the running snapshot is untouched."""
    calls = recorder(live)
    before = live.settings
    with capture_logs() as logs:
        replace(config_file, BASE.replace("level: INFO", "level: LOUD").replace("port: 8080", "port: -1"))
        await until(lambda: live.last_reload is not None and live.last_reload.status == "rejected")

    assert live.settings is before
    assert calls == []
    (event,) = [e for e in logs if e["event"].startswith("config reload rejected")]
    assert event["log_level"] == "error"
    assert f"logging.level = LOUD ({config_file}:2)" in event["error"]
    assert f"http.port = -1 ({config_file}:4)" in event["error"]


async def test_non_reloadable_change_applies_nothing_of_the_edit(
    live: LiveConfig[Settings], config_file: Path
) -> None:
    """Changing http.port with logging.level logs "restart required" and keeps both old values."""
    calls = recorder(live)
    before = live.settings
    with capture_logs() as logs:
        replace(config_file, BASE.replace("level: INFO", "level: DEBUG").replace("port: 8080", "port: 9090"))
        await until(lambda: live.last_reload is not None and live.last_reload.status == "restart_required")

    assert live.settings is before
    assert calls == []
    assert live.last_reload is not None
    assert live.last_reload.blocked == ("http.port",)
    assert live.last_reload.changed == ("http.port", "logging.level")
    (event,) = [e for e in logs if "restart required" in e["event"]]
    assert event["restart_required"] == ["http.port"]
    assert await live.check() == {
        "files": [str(config_file)],
        "watching": True,
        "last_reload": "restart_required",
        "restart_required": ["http.port"],
    }

    replace(config_file, BASE.replace("level: INFO", "level: DEBUG"))
    await until(lambda: len(calls) == 1)
    assert calls[0][2] == ("logging.level",)
    assert live.settings.http.port == 8080


async def test_polling_fallback_sees_edits(config_file: Path) -> None:
    """With force_polling the watcher still applies an edit."""
    live = LiveConfig(Settings, files=[config_file], environ={}, force_polling=True, poll_interval=0.05)
    calls = recorder(live)
    await live.start()
    try:
        assert await live.wait_watching()
        replace(config_file, BASE.replace("checkout: false", "checkout: true"))
        await until(lambda: len(calls) == 1)
    finally:
        await live.stop()
    assert live.settings.features == {"checkout": True}


async def test_direct_reload_async_subscribers_and_unsubscribe(config_file: Path) -> None:
    """reload() works without the watcher; async callbacks are awaited; a failing one does not stop others."""
    live = LiveConfig(Settings, files=[config_file], environ={})
    seen: list[tuple[str, ...]] = []

    async def async_callback(old: Settings, new: Settings, changed: tuple[str, ...]) -> None:
        await asyncio.sleep(0)
        seen.append(changed)

    def failing(old: Settings, new: Settings, changed: tuple[str, ...]) -> None:
        raise RuntimeError("subscriber bug")

    live.subscribe(failing)
    unsubscribe = live.subscribe(async_callback)
    edit(config_file, BASE.replace("level: INFO", "level: WARNING"))
    with capture_logs() as logs:
        result = await live.reload()
    assert (result.status, result.changed) == ("applied", ("logging.level",))
    assert seen == [("logging.level",)]
    assert any(e["event"] == "config subscriber failed" for e in logs)

    unsubscribe()
    edit(config_file, BASE.replace("level: INFO", "level: ERROR"))
    assert (await live.reload()).status == "applied"
    assert seen == [("logging.level",)]


async def test_config_reloaded_is_logged_once_the_subscribers_applied_it(config_file: Path) -> None:
    """The "config reloaded" line follows the subscribers (the observability one sets the
    new log level), so a reload that raises the level shows the line."""
    live = LiveConfig(Settings, files=[config_file], environ={})
    edit(config_file, BASE.replace("level: INFO", "level: WARNING"))
    with capture_logs() as logs:
        live.subscribe(lambda old, new, changed: logs.append({"event": "subscriber applied"}))
        await live.reload()
    assert [e["event"] for e in logs] == ["subscriber applied", "config reloaded"]


async def test_live_config_is_a_lifecycle_component(config_file: Path) -> None:
    """LiveConfig satisfies the Component protocol under the name "config"; without watching it idles."""
    live = LiveConfig(Settings, files=[config_file], environ={}, watch=False)
    assert isinstance(live, Component)
    assert live.name == "config"
    await live.start()
    assert await live.wait_watching() is False
    assert await live.check() == {"files": [str(config_file)], "watching": False}
    await live.stop()


def configmap(root: Path, version: str, text: str) -> None:
    """Lay out a Kubernetes ConfigMap volume: service.yaml -> ..data/service.yaml, ..data -> ..<version>."""
    (root / f"..{version}").mkdir()
    (root / f"..{version}" / "service.yaml").write_text(text, encoding="utf-8")
    link = root / "..data_tmp"
    link.symlink_to(f"..{version}")
    os.replace(link, root / "..data")
    if not (root / "service.yaml").is_symlink():
        (root / "service.yaml").symlink_to("..data/service.yaml")


async def test_kubernetes_configmap_symlink_swap_is_seen(tmp_path: Path) -> None:
    """An atomic swap of the `..data` symlink (how the kubelet updates a ConfigMap) triggers a reload."""
    configmap(tmp_path, "v1", BASE)
    live = LiveConfig(Settings, files=[tmp_path / "service.yaml"], environ={}, debounce=0.05)
    calls = recorder(live)
    await live.start()
    try:
        assert await live.wait_watching()
        configmap(tmp_path, "v2", BASE.replace("level: INFO", "level: DEBUG"))
        await until(lambda: len(calls) == 1)
    finally:
        await live.stop()
    assert calls[0][2] == ("logging.level",)
