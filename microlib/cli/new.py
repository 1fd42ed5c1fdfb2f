"""``microlib new``: write a contract-first project, then generate its code.

``microlib new NAME --template proto|openapi|messaging|jobs|all`` writes the folder
NAME (its last part is the Python package's name): contracts, the user's
implementations of what they generate, ``main.py`` wiring them into a Service,
tests, ``microlib.yaml``, a Makefile, a Dockerfile and a CI workflow; then runs
``microlib codegen`` in it. The templates are the files under
``microlib/cli/templates`` (see ``microlib.cli._templates``); ``--templates
DIR`` replaces or adds some of them.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import keyword
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from microlib.cli._templates import render_project
from microlib.cli.errors import CommandError

__all__ = ["register"]

# The parts each template combines, after the files every project has.
TEMPLATES = {
    "proto": ("proto",),
    "openapi": ("openapi",),
    "messaging": ("messaging",),
    "jobs": ("jobs",),
    "all": ("proto", "openapi", "messaging", "jobs"),
}

# A package name that is also a valid service name once "_" becomes "-"
# (config's service.name: at most 63 characters).
_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}\Z")


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the ``new`` subcommand."""
    parser = subparsers.add_parser(
        "new",
        help="create a contract-first project from a template and generate its code",
        description="Write the folder NAME (its last part names the Python package): contracts, "
        "implementations of what they generate, main.py wiring them into a Service, tests, "
        "microlib.yaml, a Makefile, a Dockerfile and a CI workflow; then run `microlib codegen` in "
        "it. In the folder, `make run` serves the service and `make test` tests it.",
    )
    parser.add_argument(
        "folder", type=Path, metavar="NAME", help="the project's folder; its last part names the package"
    )
    parser.add_argument(
        "--template",
        "-t",
        choices=list(TEMPLATES),
        default="proto",
        help="proto: gRPC with REST transcoding; openapi: OpenAPI-first HTTP; "
        "messaging: AsyncAPI consumers and publishers; jobs: background and scheduled jobs; "
        "all: the four together (default: proto)",
    )
    parser.add_argument(
        "--templates",
        type=Path,
        metavar="DIR",
        help="a folder of template parts (project, proto, openapi, messaging, jobs) whose files "
        "replace or add to the built-in ones",
    )
    parser.set_defaults(handler=_run)


# The extras a part's service needs beside microlib's core: a proto project serves gRPC, and
# the jobs contract schedules a job with cron (croniter).
_EXTRAS = {"proto": "grpc", "jobs": "jobs"}


def _run(args: argparse.Namespace) -> int:
    target: Path = args.folder
    name = _package_name(target)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise CommandError(f"{target} already exists and is not empty: give the name of a new folder")
    parts = ("project", *TEMPLATES[args.template])
    serves = "HTTP on :8080, gRPC on :50051" if "proto" in parts else "HTTP on :8080"
    extras = [extra for part, extra in _EXTRAS.items() if part in parts]
    values = {
        "name": name,
        "Name": "".join(word.capitalize() for word in name.split("_")),
        "service": name.replace("_", "-"),
        "template": args.template,
        "python": sys.executable,
        "microlib_version": importlib.metadata.version("microlib"),
        "microlib_extras": f"[{','.join(extras)}]" if extras else "",
        "serves": serves,
    }
    files = render_project(parts, values, args.templates)
    for rel, text in sorted(files.items()):
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    print(f"created {target} ({args.template} template): {len(files)} files")
    if (target / "package.json").is_file():
        _install_tools(target)
    _codegen(target)
    print(f"\nnext:\n  cd {target}\n  make run    # {serves}\n  make test")
    return 0


def _package_name(target: Path) -> str:
    name = target.resolve().name  # `microlib new .` in an empty folder names it after the folder
    if not _NAME.match(name) or keyword.iskeyword(name):
        raise CommandError(
            f"{name!r} is not a valid project name: it names the Python package, so use lower-case "
            "letters, digits and underscores, starting with a letter (e.g. order_book)"
        )
    if name in sys.stdlib_module_names:
        raise CommandError(
            f"{name!r} is a module of Python's standard library: choose a name it does not hide"
        )
    origin = _origin(name)
    if origin is not None:
        raise CommandError(f"{name!r} is already importable (from {origin}): choose a name it does not hide")
    return name


def _origin(name: str) -> str | None:
    """Where Python imports ``name`` from today, if it does."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):  # pragma: no cover - a broken installation
        return None
    # A folder without __init__.py is only a namespace package: nothing to hide.
    return None if spec is None else spec.origin


def _install_tools(target: Path) -> None:
    """npm installs what package.json pins: the AsyncAPI JSON Schemas codegen validates against."""
    npm = shutil.which("npm")
    if npm is None:
        raise CommandError(
            f"{target} is written, but codegen needs the AsyncAPI JSON Schemas that npm installs and "
            f"npm is not on PATH: install Node.js, then run `make codegen` in {target}"
        )
    done = subprocess.run(
        [npm, "install", "--prefer-offline", "--no-audit", "--no-fund", "--silent"],
        cwd=target,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        cause = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise CommandError(f"`npm install` in {target} failed ({cause}): run it there, then `make codegen`")
    (target / "node_modules" / ".installed").touch()  # the Makefile's stamp: installed


def _codegen(target: Path) -> None:
    from microlib.cli.main import main

    if main(["codegen", "--config", str(target / "pyproject.toml")]) != 0:
        raise CommandError(f"{target} is written, but codegen failed (above): fix, then `make codegen` there")
