"""``microlib run --reload``: serve in a child process, restart it when code or contracts change.

For development only. The parent watches the working directory (Python
files, contracts, config files); on a change it regenerates code first when
a contract changed and the project configures ``[tool.microlib.codegen]``,
then stops the child with SIGTERM (its graceful shutdown) and starts a new
one; it alone signals the child, on Ctrl-C too. A child that fails to start
is reported and restarted on the next change.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path

import watchfiles

__all__ = ["serve_with_reload"]

_WATCHED = frozenset({".py", ".proto", ".yaml", ".yml", ".json", ".toml"})
_CONTRACTS = frozenset({".proto", ".yaml", ".yml", ".json"})
_IGNORED_DIRS = frozenset({".venv", "node_modules", ".git", "__pycache__", ".mypy_cache", ".ruff_cache"})


def serve_with_reload(argv: Sequence[str], *, stop_timeout: float = 30.0) -> int:
    """Run ``microlib run ARGV`` in a child; restart it on each change until interrupted.

    Returns:
        The exit status: 0 after Ctrl-C, SIGTERM or SIGHUP.
    """
    root = Path.cwd()
    generated = _generated_dir(root)
    child = _start(argv)
    stop = _StopSignal()
    try:
        for changes in watchfiles.watch(
            root,
            watch_filter=lambda _c, p: _watched(Path(p), root, generated),
            stop_event=stop,
            rust_timeout=500,
        ):
            paths = sorted({Path(p) for _, p in changes})
            print(
                f"microlib run: changed {', '.join(_shown(p, root) for p in paths)}; restarting",
                file=sys.stderr,
            )
            _stop(child, stop_timeout)
            if generated is not None and any(p.suffix in _CONTRACTS for p in paths):
                subprocess.run([sys.executable, "-m", "microlib.cli", "codegen"], check=False)
            child = _start(argv)
    finally:
        stop.restore()
        _stop(child, stop_timeout)
    return 0


class _StopSignal:
    """A stop event for watchfiles, set by SIGTERM, SIGINT or SIGHUP (the terminal closed: the
    child, in a process group of its own, is not hung up on with the parent)."""

    def __init__(self) -> None:
        self._set = False
        signals = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
        self._previous = {s: signal.signal(s, self._handle) for s in signals}

    def _handle(self, signum: int, frame: object) -> None:
        self._set = True

    def is_set(self) -> bool:
        return self._set

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


def _start(argv: Sequence[str]) -> subprocess.Popen[bytes]:
    # A process group of its own: Ctrl-C signals the terminal's whole group, and a child in it
    # would take the parent's SIGTERM that follows for a second signal, exiting at once.
    return subprocess.Popen([sys.executable, "-m", "microlib.cli", "run", *argv], process_group=0)


def _stop(child: subprocess.Popen[bytes], timeout: float) -> None:
    if child.poll() is not None:
        return
    child.send_signal(signal.SIGTERM)
    try:
        child.wait(timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def _generated_dir(root: Path) -> Path | None:
    """``[tool.microlib.codegen] out``: not watched, regenerated when a contract changes."""
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        return None
    with pyproject.open("rb") as f:
        codegen = tomllib.load(f).get("tool", {}).get("microlib", {}).get("codegen")
    out = codegen.get("out") if isinstance(codegen, dict) else None
    return (root / out).resolve() if isinstance(out, str) else None


def _watched(path: Path, root: Path, generated: Path | None) -> bool:
    if path.suffix not in _WATCHED:
        return False
    parts = path.relative_to(root).parts if path.is_relative_to(root) else path.parts
    if any(part in _IGNORED_DIRS or part.startswith(".") for part in parts[:-1]):
        return False
    return generated is None or not path.resolve().is_relative_to(generated)


def _shown(path: Path, root: Path) -> str:
    return os.path.relpath(path, root)
