"""Instructions from process start to ready, counted by callgrind: the noise-free twin of ``run.py``.

Each process of ``run.py`` runs once under callgrind through
``to_ready.py``, which exits the moment the service is ready; prints the
counts and the microlib/bare ratios. Deterministic within about 1%
whatever else the machine runs (about a minute per process).

    .venv/bin/python bench/startup/instructions.py

``--python`` as in ``run.py``: the measured processes' interpreter.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from callgrind import instructions  # noqa: E402
from run import ROOT, child_env  # noqa: E402

NAMES = ("bare", "floor", "microlib-http", "microlib")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"some of {', '.join(NAMES)} (default: all)")
    parser.add_argument("--python", default=sys.executable, help="the measured processes' interpreter")
    args = parser.parse_args()
    counts = {}
    for name in args.names or NAMES:
        command = [args.python, str(HERE / "to_ready.py"), name]
        subprocess.run(command, cwd=ROOT, env=child_env(), check=True)  # writes the bytecode cache
        counts[name] = instructions(command, cwd=ROOT, env=child_env())
        print(f"{name:13} {counts[name] / 1e6:8.1f} M instructions to ready", flush=True)
    for name in ("floor", "microlib-http", "microlib"):
        if name in counts and "bare" in counts:
            print(f"ratio {name}/bare: {counts[name] / counts['bare']:.2f}x instructions")


if __name__ == "__main__":
    main()
