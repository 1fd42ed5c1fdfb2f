"""One of ``run.py``'s processes, in this process, exiting the moment it is ready.

For counting rather than timing: ``instructions.py`` runs this under
callgrind, where polling ``/health/ready`` from outside would count the
server's idle loop too. ``bare`` and ``floor`` exit once uvicorn listens; ``microlib``
and ``microlib-http`` once ``Service.start`` returns (``/health/ready``
answers 200 from then on).

    .venv/bin/python bench/startup/to_ready.py microlib
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import runpy
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
TARGETS = {"microlib": "examples.bookshop.main:service", "microlib-http": "bench.startup.http_app:service"}


def exit_after(owner: Any, method: str) -> None:
    original = getattr(owner, method)

    async def then_exit(self: Any, *args: Any, **kwargs: Any) -> None:
        await original(self, *args, **kwargs)
        sys.stdout.flush()
        os._exit(0)

    setattr(owner, method, then_exit)


class _PatchOnLoad(importlib.abc.MetaPathFinder):
    """Calls ``patch(module)`` once ``name`` has loaded, whoever imports it."""

    def __init__(self, name: str, patch: Callable[[ModuleType], None]) -> None:
        self.name, self.patch = name, patch

    def find_spec(self, name: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if name != self.name:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        assert spec is not None
        assert spec.loader is not None
        load, patch = spec.loader.exec_module, self.patch

        def exec_module(module: ModuleType) -> None:
            load(module)
            patch(module)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def main() -> None:
    name = sys.argv[1]
    if name in ("bare", "floor"):
        import uvicorn

        exit_after(uvicorn.Server, "startup")
        sys.argv = [str(HERE / f"{name}_app.py"), "0"]
        runpy.run_path(sys.argv[0], run_name="__main__")
        return
    from microlib.cli.main import main as cli

    # Patched as it loads, not imported here: `microlib run` imports it itself,
    # with the collector paused (``microlib/cli/run.py``).
    def patch(service: ModuleType) -> None:
        exit_after(service.Service, "start")

    sys.meta_path.insert(0, _PatchOnLoad("microlib.service", patch))
    settings = ["http.host=127.0.0.1", "http.port=0", "grpc.port=0", "logging.level=WARNING"]
    sys.exit(cli(["run", TARGETS[name], *(a for s in settings for a in ("--set", s))]))


if __name__ == "__main__":
    main()
