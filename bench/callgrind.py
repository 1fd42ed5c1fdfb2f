"""Instructions per call, counted by valgrind's callgrind: deterministic under any load.

Wall-clock figures move with whatever else the machine runs; the number of
instructions a piece of Python executes does not (within about 1%). A
harness runs its case in a child process twice under callgrind, once with
``n`` calls and once with ``2n`` after the same warm-up, and the difference
divided by ``n`` is the cost of one call: start-up, imports and the warm-up
cancel out.

    from callgrind import per_call
    per_call(lambda calls: [sys.executable, "harness.py", "--one", "unary", str(calls)], 1000)
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

__all__ = ["available", "instructions", "per_call"]

_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


def available() -> bool:
    """Whether valgrind is installed (``apt-get install valgrind``)."""
    return shutil.which("valgrind") is not None


def instructions(argv: list[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None) -> int:
    """The instructions ``argv`` executes from start to exit, under callgrind.

    ``env`` (default: this process's) is the child's environment, ``cwd``
    its working directory.

    Raises:
        RuntimeError: the command failed, with its last lines of output.
    """
    # A fixed hash seed: with a random one each process hashes (and collides)
    # differently, and the start-up of the N and 2N runs, billions of
    # instructions, differs by millions, which does not cancel out.
    env = {**(os.environ if env is None else env), "PYTHONHASHSEED": "0"}
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={Path(tmp) / 'out'}", *argv],
            capture_output=True,
            text=True,
            check=False,
            env=env,
            cwd=cwd,
        )
    found = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-15:])
        raise RuntimeError(f"{' '.join(argv)} failed under callgrind (exit {done.returncode}):\n{tail}")
    return int(found.group(1))


def per_call(command: Callable[[int], list[str]], n: int) -> float:
    """Instructions per call: ``(I(2n) - I(n)) / n``.

    Args:
        command: The command line that warms up, then makes the given
            number of calls, then exits.
        n: Calls in the shorter run; 1000 keeps a run under a minute.
    """
    return (instructions(command(2 * n)) - instructions(command(n))) / n
