"""Generate contracts/testdata/transcode into a private folder, once per process.

Both fixtures and module-level schemathesis schemas need the package, so it
is generated on first use (a real ``microlib codegen`` subprocess) rather
than in a fixture. Importing this module makes ``gen_transcode`` importable.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PROTO = ROOT / "contracts" / "testdata" / "transcode" / "v1" / "transcode.proto"

_folder = tempfile.TemporaryDirectory(prefix="microlib-transcode-")
OUT = Path(_folder.name) / "gen_transcode"
_env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "codegen")]))
_result = subprocess.run(
    [sys.executable, "-m", "microlib.cli", "codegen", str(PROTO), "--out", str(OUT)],
    cwd=ROOT,
    env=_env,
    capture_output=True,
    text=True,
    timeout=300,
    check=False,
)
if _result.returncode != 0:
    raise RuntimeError(f"codegen failed: {_result.stderr}")
sys.path.insert(0, _folder.name)
