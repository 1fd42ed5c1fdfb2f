"""What importing observability costs: telemetry alone, no HTTP server or framework."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_observability_imports_nothing_http() -> None:
    """``import microlib.observability`` loads neither uvicorn, Starlette nor ``microlib.http``: the
    management port and the log-level endpoint are HTTP's, and a worker without HTTP pays for none."""
    probe = "import sys\nimport microlib.observability\nprint(' '.join(sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True, cwd=ROOT
    ).stdout
    loaded = {name.split(".")[0] for name in out.split()} | set(out.split())
    assert not loaded & {"uvicorn", "starlette", "microlib.http"}
