"""Instructions per operation under callgrind: deterministic on a shared machine.

A case (``bench/libraries/cases.py``) sets itself up and returns the
operation, a no-argument callable. Each case runs in its own process under
``valgrind --tool=callgrind``: 200 operations to warm up, then ``n`` inside
``collections.deque(map(...), maxlen=0)``, and callgrind collects only
inside ``deque_init`` (``--toggle-collect``), so start-up, imports, setup
and warm-up are not counted. The ``loop`` case (an operation that does
nothing) is subtracted. Hash randomisation is off; reruns agree within 1%.

    PYTHONPATH=$PWD:$PWD/codegen python bench/libraries/callgrind.py [--n 5000] [--jobs 4] [GROUP ...]

A group is a case name without its last part (``metrics.counter``,
``json.dump``...); each row prints the case's instructions per operation and
its ratio to the group's first case, the library's. The ``protobuf_py``
cases need ``protoc-gen-py`` on ``PATH`` (``pip install protoc-gen-py``) and
are skipped without it.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.libraries import cases

_TOTALS = re.compile(r"^(?:summary|totals):\s+(\d+)", re.MULTILINE)


def _instructions(case: str, n: int, scratch: Path) -> int:
    out = scratch / f"{case}.out"
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    subprocess.run(
        ["valgrind", "--tool=callgrind", "--toggle-collect=deque_init", f"--callgrind-out-file={out}",
         sys.executable, "-m", "bench.libraries.cases", case, str(n)],
        check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    found = _TOTALS.search(out.read_text())
    if found is None:
        raise RuntimeError(f"no instruction total in {out}")
    return int(found.group(1))


def main() -> None:
    """Run the chosen groups and print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=5000, help="operations counted per case")
    parser.add_argument("--jobs", type=int, default=4, help="cases run at once")
    parser.add_argument("groups", nargs="*", help="groups to run; all by default")
    args = parser.parse_args()
    named = [case for case in cases.CASES if case != "loop"]
    chosen = [case for case in named if not args.groups or case.rsplit(".", 1)[0] in args.groups]
    runnable = [c for c in chosen if "protobuf_py" not in c or shutil.which("protoc-gen-py") is not None]
    with tempfile.TemporaryDirectory() as scratch, ThreadPoolExecutor(args.jobs) as pool:
        os.environ["BENCH_LIBRARIES_GEN"] = scratch
        cases.generate(Path(scratch), protobuf_py=shutil.which("protoc-gen-py") is not None)
        # Counts do not depend on what else runs: the cases run side by side.
        counted = pool.map(lambda case: _instructions(case, args.n, Path(scratch)), runnable)
        totals = dict(zip(runnable, counted, strict=True))
        loop = _instructions("loop", args.n, Path(scratch)) / args.n
    print(f"{'loop (subtracted)':40} {loop:12,.0f} instructions/op")
    first: dict[str, float] = {}
    for case in chosen:
        if case not in totals:
            print(f"{case:40} skipped: protoc-gen-py is not on PATH")
            continue
        per_op = totals[case] / args.n - loop
        base = first.setdefault(case.rsplit(".", 1)[0], per_op)
        print(f"{case:40} {per_op:12,.0f} instructions/op {per_op / base:6.2f}x")


if __name__ == "__main__":
    main()
