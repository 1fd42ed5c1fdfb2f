"""Run the `microlib` command as a user would: a fresh interpreter, no MICROLIB__ variables."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def microlib(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m microlib.cli ARGS` in ``cwd``, with this checkout (and its generator) importable."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MICROLIB__")}
    environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), str(ROOT / "codegen"), environ.get("PYTHONPATH")])
    )
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "microlib.cli", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
