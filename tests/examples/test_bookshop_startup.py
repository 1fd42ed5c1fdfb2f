"""What the bookshop has loaded once it is ready (issue 19's start-to-ready target).

The process is ``bench/startup/to_ready.py``'s, the one ``instructions.py``
counts: ``microlib run examples.bookshop.main:service``, stopped the moment
it is ready. Each assertion pins work that was taken off the start.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# to_ready.py leaves through os._exit at ready: report there what the process holds.
_AT_READY = """
import json, os, sys
sys.path.insert(0, "bench/startup")
import to_ready
exit_now = os._exit
def report(code):
    protobuf = sys.modules["examples.bookshop.gen._messages.google.protobuf"]
    print(json.dumps({"modules": sorted(sys.modules), "protobuf_messages": sorted(protobuf.__all__)}))
    sys.stdout.flush()
    exit_now(code)
os._exit = report
sys.argv = ["to_ready.py", "microlib"]
to_ready.main()
"""


def _at_ready() -> dict[str, list[str]]:
    result = subprocess.run(
        [sys.executable, "-c", _AT_READY], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    report: dict[str, list[str]] = json.loads(result.stdout.strip().splitlines()[-1])
    return report


def test_ready_without_unreached_messages() -> None:
    """The messages of `google/protobuf/descriptor.proto` and `google/api`, imported by the
    contract for its options only, are not generated, so not built at start."""
    report = _at_ready()
    assert report["protobuf_messages"] == ["Timestamp"]
    assert "examples.bookshop.gen._messages.google.api" not in report["modules"]
