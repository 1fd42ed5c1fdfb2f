"""Instructions to ready by module: what each import costs, itself and with what it imports.

Runs one process of ``to_ready.py`` under callgrind with a marker, a call of
``os.getppid()`` (which nothing else on the way to ready makes), before and
after each module executes; ``--dump-before=os_getppid`` cuts the count at
each marker, so the parts between them add up to each module's own
instructions (its body, and whatever it calls that is not an import) and its
inclusive ones. Work done outside any import (configuring, starting) is
listed as ``(not importing)``, with the interpreter's own start; ``--call``
counts the calls of a function apart from it (configuring, assembling, starting).
Slower than ``instructions.py`` (a dump per marker), as deterministic.

    PYTHONPATH=$PWD .venv/bin/python bench/startup/by_module.py microlib --top 40
    PYTHONPATH=$PWD .venv/bin/python bench/startup/by_module.py microlib \
        --call microlib.service:Service.configure --call microlib.core.lifecycle:start_all
"""

from __future__ import annotations

import argparse
import functools
import inspect
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import ROOT, child_env  # noqa: E402


def _wrap(owner: Any, attribute: str, label: str, order: list[str]) -> None:
    """Mark each call of ``owner.attribute`` (a function or method, awaited or not) as ``label``."""
    function = getattr(owner, attribute)

    def enter() -> None:
        order.append(f"+{label}")
        os.getppid()

    def leave() -> None:
        order.append(f"-{label}")
        os.getppid()

    async def awaited(*args: Any, **kwargs: Any) -> Any:
        enter()
        try:
            return await function(*args, **kwargs)
        finally:
            leave()

    def called(*args: Any, **kwargs: Any) -> Any:
        enter()
        try:
            return function(*args, **kwargs)
        finally:
            leave()

    setattr(owner, attribute, awaited if inspect.iscoroutinefunction(function) else called)


def _wrap_calls(module: str, qualnames: Iterable[str], order: list[str]) -> None:
    """Mark the calls of ``qualnames`` in ``module``, which has just loaded."""
    for qualname in qualnames:
        *path, attribute = qualname.split(".")
        owner = functools.reduce(getattr, path, sys.modules[module])
        _wrap(owner, attribute, f"{module}:{qualname}()", order)


def _marked(name: str, events: Path, calls: list[str]) -> None:
    """In the measured process: mark each module's execution and each call of ``calls``
    (``module:qualname``), then run ``to_ready.py name``."""
    import importlib._bootstrap as bootstrap

    import to_ready

    order: list[str] = []
    load = bootstrap._load_unlocked  # type: ignore[attr-defined]
    wrapped: dict[str, list[str]] = {}
    for call in calls:
        module, _, qualname = call.partition(":")
        wrapped.setdefault(module, []).append(qualname)

    def marked_load(spec: object) -> object:
        order.append(f"+{spec.name}")  # type: ignore[attr-defined]
        os.getppid()
        try:
            module = load(spec)
        finally:
            order.append(f"-{spec.name}")  # type: ignore[attr-defined]
            os.getppid()
        _wrap_calls(spec.name, wrapped.get(spec.name, ()), order)  # type: ignore[attr-defined]
        return module

    def write_then_exit(code: int, exit_now: object = os._exit) -> None:
        order.append("=ready")
        os.getppid()
        events.write_text("\n".join(order))
        exit_now(code)  # type: ignore[operator]

    bootstrap._load_unlocked = marked_load  # type: ignore[attr-defined]
    os._exit = write_then_exit  # type: ignore[assignment]
    sys.argv = [sys.argv[0], name]
    to_ready.main()


def _parts(directory: Path) -> dict[int, int]:
    """Instructions of each part callgrind dumped, by part number."""
    parts: dict[int, int] = {}
    for path in directory.iterdir():
        number = None
        with path.open() as dump:
            for line in dump:
                if line.startswith("part:"):
                    number = int(line.split()[1])
                elif line.startswith("summary:") and number is not None:
                    parts[number] = int(line.split()[1])
                    break
    return parts


def attribute(events: list[str], parts: dict[int, int]) -> tuple[dict[str, int], dict[str, int]]:
    """Own and inclusive instructions by module; part ``i + 1`` ran just before event ``i``."""
    own: dict[str, int] = {"(not importing)": 0}
    inclusive: dict[str, int] = {}
    stack: list[tuple[str, int]] = []
    for i, event in enumerate(events):
        cost = parts.get(i + 1, 0)
        own[stack[-1][0] if stack else "(not importing)"] += cost
        if event.startswith("+"):
            stack.append((event[1:], i))
            own.setdefault(event[1:], 0)
        elif event.startswith("-"):
            module, start = stack.pop()
            inclusive[module] = sum(parts.get(k + 1, 0) for k in range(start + 1, i + 1))
    return own, inclusive


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", help="bare, floor, microlib-http or microlib")
    parser.add_argument("--top", type=int, default=30, help="modules listed (default 30)")
    parser.add_argument(
        "--call",
        action="append",
        default=[],
        metavar="MODULE:QUALNAME",
        help="also count the calls of this function or method apart, listed as MODULE:QUALNAME() "
        "(one call at a time: calls running concurrently would interleave their marks)",
    )
    parser.add_argument("--marked", action="store_true", help=argparse.SUPPRESS)  # the measured process
    parser.add_argument("--events", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.marked:
        _marked(args.name, args.events, args.call)
        return
    env = {**child_env(), "PYTHONHASHSEED": "0"}
    command = [sys.executable, __file__, args.name, *(f"--call={call}" for call in args.call), "--marked"]
    with tempfile.TemporaryDirectory() as tmp:
        events = Path(tmp) / "events"
        subprocess.run([*command, "--events", str(events)], cwd=ROOT, env=env, check=True)  # bytecode
        dumps = Path(tmp) / "dumps"
        dumps.mkdir()
        subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--dump-before=os_getppid",
                "--dump-instr=no",
                f"--callgrind-out-file={dumps / 'out'}",
                *command,
                "--events",
                str(events),
            ],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        own, inclusive = attribute(events.read_text().split("\n"), _parts(dumps))
    print(f"{sum(own.values()) / 1e6:,.1f} M instructions to ready; own and inclusive by module:")
    for module in sorted(own, key=own.__getitem__, reverse=True)[: args.top]:
        print(f"{own[module] / 1e6:9.1f} {inclusive.get(module, 0) / 1e6:9.1f}  {module}")


if __name__ == "__main__":
    main()
