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

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path

__all__ = ["available", "instructions", "keep_alive_load", "per_call", "served_per_request"]

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


def served_per_request(
    serve: Callable[[int], list[str]],
    load: Callable[[int, int], None],
    requests: int,
    *,
    warm_up: int,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    keep: Path | None = None,
    name: str = "server",
) -> float:
    """Instructions per request of a server process, every thread counted: ``(I(2N) - I(N)) / N``.

    The server (``serve(port)``, its command line) runs once outside
    valgrind, so its bytecode is cached uncounted, then twice under
    callgrind: each time ``load(port, n)`` sends ``warm_up`` + N (then
    2N) requests from this process, and the server is stopped with
    SIGTERM. What the server does with its wall time rather than its
    requests (ticks, timers, background threads) counts too, and grows
    with N under valgrind, which runs some 50 times slower.

    Args:
        keep: A folder for callgrind's profiles, ``NAME-N.out``, for
            ``callgrind_annotate`` (the difference of two, over N, is one
            request's cost by C function).
    """
    env = {**(os.environ if env is None else env), "PYTHONHASHSEED": "0", "PYTHONUNBUFFERED": "1"}
    _serve_once(serve, load, 1, [], env, cwd)
    counts = []
    with tempfile.TemporaryDirectory() as tmp:
        for calls in (requests, 2 * requests):
            out = (keep or Path(tmp)) / f"{name}-{calls}.out"
            valgrind = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
            stderr = _serve_once(serve, load, warm_up + calls, valgrind, env, cwd)
            found = _COLLECTED.search(stderr)
            if found is None:
                raise RuntimeError(f"{name}: no count from callgrind:\n{stderr[-2000:]}")
            counts.append(int(found.group(1)))
    return (counts[1] - counts[0]) / requests


def _serve_once(
    serve: Callable[[int], list[str]],
    load: Callable[[int, int], None],
    requests: int,
    valgrind: list[str],
    env: Mapping[str, str],
    cwd: Path | None,
) -> str:
    """Serve ``requests`` requests (under ``valgrind``, if given); the server's stderr."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = subprocess.Popen(
        [*valgrind, *serve(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=cwd,
    )
    try:
        deadline = time.monotonic() + 600  # a start under valgrind takes a minute or two
        while not _listening(port):
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError(f"nothing listening on port {port}:\n{server.communicate()[1][-2000:]}")
            time.sleep(0.2)
        load(port, requests)
    finally:
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=600)
    return stderr


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def keep_alive_load(request: bytes, connections: int) -> Callable[[int, int], None]:
    """A load for :func:`served_per_request`: ``request`` sent over ``connections``
    keep-alive connections, one in flight on each (as wrk keeps them), each answer a 2xx."""

    def load(port: int, requests: int) -> None:
        asyncio.run(_keep_alive(port, request, requests, connections))

    return load


async def _keep_alive(port: int, request: bytes, requests: int, connections: int) -> None:
    left = requests

    async def one_connection() -> None:
        nonlocal left
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while left > 0:
            left -= 1
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 2"):
                raise RuntimeError(f"the server answered {head[:40]!r}")
            length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
            if length is None:
                raise RuntimeError(f"no content-length in {head!r}")
            await reader.readexactly(int(length.group(1)))
        writer.close()
        await writer.wait_closed()

    await asyncio.gather(*(one_connection() for _ in range(connections)))
