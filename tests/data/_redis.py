"""A dedicated redis-server on a free loopback port, stoppable and restartable."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import redis


class RedisServer:
    """One redis-server process bound to 127.0.0.1.

    Args:
        persist_to: Keep an append-only file there, written on every
            command, so a restart finds the data again; None for none.
    """

    def __init__(self, persist_to: Path | None = None) -> None:
        self._persistence = (
            ["--appendonly", "no"]
            if persist_to is None
            else ["--appendonly", "yes", "--appendfsync", "always", "--dir", str(persist_to)]
        )
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start it and wait (bounded) until it answers PING."""
        self._process = subprocess.Popen(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                *self._persistence,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.2)
        try:
            for _ in range(100):
                try:
                    client.ping()
                    return
                except redis.ConnectionError:
                    time.sleep(0.05)
            raise RuntimeError(f"redis-server on port {self.port} did not start")
        finally:
            client.close()

    def stop(self) -> None:
        """Terminate it and wait for the process to exit."""
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None
