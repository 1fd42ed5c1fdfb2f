"""Find the Service a command acts on: ``module:attribute`` or pyproject's default."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import traceback
from pathlib import Path
from typing import Any

from microlib.cli.errors import CommandError
from microlib.core.extras import extra_missing
from microlib.service import Service

__all__ = ["load_service"]

_MICROLIB = Path(__file__).resolve().parents[1]


def load_service(target: str | None) -> Service:
    """Import ``target`` (``package.module:attribute``) and return its Service.

    Without a target, ``[tool.microlib] service`` in ``./pyproject.toml`` is
    used. The working directory is importable, as with uvicorn.

    Raises:
        CommandError: naming what could not be found, or what microlib
            refused while the module wired the service (an implementation that
            does not match its contract, a contract it cannot serve, an
            argument: with the file:line that gave it), or a syntax error in
            the service's code (with its file:line).
    """
    target = target or _default_target()
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise CommandError(f"target {target!r} must look like 'package.module:attribute'")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            message = f"cannot import module {module_name!r} (from target {target!r})"
            dotted = module_name.removesuffix(".py").replace("/", ".").replace("\\", ".").strip(".")
            if dotted != module_name:  # a file's path: `microlib run shop/main.py:service`
                message += f": name the module with dots, {dotted}:{attribute}"
            raise CommandError(message) from None
        missing = extra_missing(exc, module_name)
        if missing is not None:
            raise missing from None
        raise CommandError(f"{_wired_at(exc)}: {_unimportable(exc)}") from None
    except ImportError as exc:
        # A name generated code does not have: the code was imported for what its contract says
        # now, or a generated file was edited. Anywhere else, the traceback tells more.
        why = _generated_out_of_date(exc)
        if why is None:
            raise
        raise CommandError(f"{_wired_at(exc)}: {exc.msg}: {why}") from None
    except (TypeError, ValueError) as exc:
        # Raised by microlib, it refused what the service's code gave it while wiring it (a
        # servicer that does not match its contract, a Service name, a contract's cron): the line
        # that gave it. Raised by the service's own code, its traceback tells more.
        if not _raised_by_microlib(exc):
            raise
        raise CommandError(f"{_wired_at(exc)}: {exc}") from None
    except SyntaxError as exc:
        # Python names the file and line; the import machinery's frames around it say nothing.
        where = f"{_shown(Path(str(exc.filename)))}:{exc.lineno}"
        raise CommandError(f"{where}: {type(exc).__name__}: {exc.msg}") from None
    try:
        service = getattr(module, attribute)
    except AttributeError:
        message = f"module {module_name!r} has no attribute {attribute!r}"
        services = sorted(name for name, value in vars(module).items() if isinstance(value, Service))
        if services:
            message += f"; its Service: {', '.join(services)}"
        raise CommandError(message) from None
    if not isinstance(service, Service):
        kind = "class" if isinstance(service, type) else type(service).__name__
        raise CommandError(f"{target!r} is a {kind}, not a microlib Service")
    return service


def _default_target() -> str:
    import tomllib  # here: a command given its TARGET never reads TOML

    try:
        target = _named_service(Path("pyproject.toml"))
    except tomllib.TOMLDecodeError as exc:
        raise CommandError(f"./pyproject.toml: invalid TOML: {exc}") from None
    if target is not None:
        return target
    message = "no TARGET given and no [tool.microlib] service = 'module:attribute' in ./pyproject.toml"
    typo = _service_typo(Path("pyproject.toml"))
    if typo:
        message += f" ([tool.microlib] {typo} is there: a typo?)"
    # Run from a folder inside the project (its package, tests/): say where the project is, as
    # its imports and its microlib.yaml are read from there.
    above = next((p for p in Path.cwd().parents if _named_service(p / "pyproject.toml", quiet=True)), None)
    if above is not None:
        message += f"; {above / 'pyproject.toml'} names one: run from {above}"
    raise CommandError(message)


def _service_typo(pyproject: Path) -> str | None:
    """A key of ``[tool.microlib]`` in ``pyproject`` that looks like ``service`` misspelt."""
    from microlib.config._schema import suggest

    keys = [key for key in _microlib_table(pyproject) if key != "service"]
    return next((key for key in keys if suggest(key, ["service"])), None)


def _codegen_package(pyproject: Path) -> str | None:
    """``[tool.microlib.codegen] package`` of ``pyproject``: the package codegen writes."""
    codegen = _microlib_table(pyproject).get("codegen")
    package = codegen.get("package") if isinstance(codegen, dict) else None
    return package if isinstance(package, str) else None


def _microlib_table(pyproject: Path) -> dict[str, Any]:
    """``[tool.microlib]`` of ``pyproject``; empty when there is none or it cannot be read."""
    import tomllib

    try:
        with pyproject.open("rb") as f:
            table = tomllib.load(f).get("tool", {}).get("microlib", {})
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    return table if isinstance(table, dict) else {}


def _named_service(pyproject: Path, *, quiet: bool = False) -> str | None:
    """``[tool.microlib] service`` of ``pyproject``, if it is a file naming one.

    Raises:
        tomllib.TOMLDecodeError: The file is not valid TOML, unless ``quiet``.
    """
    import tomllib

    if not pyproject.is_file():
        return None
    try:
        with pyproject.open("rb") as f:
            target = tomllib.load(f).get("tool", {}).get("microlib", {}).get("service")
    except tomllib.TOMLDecodeError:
        if quiet:
            return None
        raise
    return target if isinstance(target, str) else None


def _unimportable(exc: ModuleNotFoundError) -> str:
    """Why an import of the service's code failed, and for generated code what to do."""
    name = exc.name or ""
    importer = _generated_package(Path(_user_frame(exc).filename))
    if importer is not None and name.startswith("microlib."):
        return (
            f"{exc}: {_shown(importer)} was written by `microlib codegen` for another version of "
            "microlib: run `microlib codegen` to write it for this one"
        )
    parts = name.split(".")
    for size in range(len(parts) - 1, 0, -1):
        package = ".".join(parts[:size])
        try:
            spec = importlib.util.find_spec(package)
        except ImportError:
            continue
        locations = (spec.submodule_search_locations or []) if spec is not None else []
        if any((Path(location) / "_manifest.json").is_file() for location in locations):
            return (
                f"{exc}: {package} is written by `microlib codegen`, which writes no {name} any more "
                "(its contract was removed or renamed): update or remove the code that imports it"
            )
    generated = _codegen_package(Path("pyproject.toml"))
    if generated is not None and (name == generated or name.startswith(f"{generated}.")):
        # A fresh checkout of a project that does not commit its generated package, or one deleted.
        return (
            f"{exc}: {generated} is written by `microlib codegen` ([tool.microlib.codegen] in "
            "pyproject.toml), which has not written it here: run `microlib codegen`"
        )
    return str(exc)


def _generated_out_of_date(exc: ImportError) -> str | None:
    """Why generated code lacks the name ``exc`` could not import from it, and what to run;
    None when the module is no generated code, or is what its contracts generate."""
    # Imported on this error's path only: a service that starts never loads the manifest check.
    from microlib.core._manifest import edited_files, manifest_of, stale_generation

    manifest = manifest_of(exc.path) if exc.path else None
    if manifest is None:
        return None
    stale = stale_generation(manifest)
    if stale is not None:
        return stale
    edited = edited_files(manifest)
    if not edited:
        return None
    return (
        f"{', '.join(_shown(path) for path in edited)} edited by hand since `microlib codegen` wrote "
        f"{_shown(manifest.parent)}, which it replaces whole: run `microlib codegen`, and edit the contract "
        "instead"
    )


def _generated_package(file: Path) -> Path | None:
    """The package ``microlib codegen`` wrote (its ``_manifest.json``) that holds ``file``, if any."""
    return next((folder for folder in file.parents if (folder / "_manifest.json").is_file()), None)


def _raised_by_microlib(exc: BaseException) -> bool:
    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and _MICROLIB in Path(frames[-1].filename).resolve().parents


def _wired_at(exc: BaseException) -> str:
    """``file:line`` of the user's code that raised ``exc`` through microlib (``service.include(...)``)."""
    frame = _user_frame(exc)
    return f"{_shown(Path(frame.filename))}:{frame.lineno}"


def _user_frame(exc: BaseException) -> traceback.FrameSummary:
    """The innermost frame of ``exc`` outside microlib: the service's code, or code generated for it."""
    frames = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if not frame.filename.startswith("<") and _MICROLIB not in Path(frame.filename).resolve().parents
    ]
    if not frames:  # pragma: no cover - the import itself is always a frame outside microlib
        return traceback.FrameSummary("<import>", None, "<module>")
    return frames[-1]


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
