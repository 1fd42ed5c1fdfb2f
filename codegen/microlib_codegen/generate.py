"""One generation: contracts → IR → files, plus stubs and the drift report."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from microlib_codegen import openapi
from microlib_codegen._protoc import builtin_includes, run_protoc
from microlib_codegen.check import Drift, compare, with_manifest, write
from microlib_codegen.config import CodegenConfig
from microlib_codegen.drift import stub_drift
from microlib_codegen.errors import CodegenError
from microlib_codegen.model import Contract
from microlib_codegen.proto import read_descriptor_set
from microlib_codegen.render import render
from microlib_codegen.sources import discover
from microlib_codegen.stubs import plan_stubs

__all__ = ["Outcome", "build", "run"]


@dataclass(slots=True)
class Outcome:
    """What a run did or found.

    Args:
        contract: The IR generated from.
        files: The generated package, by relative path (manifest included).
        drift: Differences from disk (``--check``), or None after writing.
        changed: Paths rewritten in the output package.
        stubs_written: User stubs created by this run.
        stub_drift: Lines reporting stubs that no longer match.
        documents: The OpenAPI documents generated from.
        skipped: Contract documents of kinds not generated yet.
    """

    contract: Contract
    files: dict[str, str]
    drift: Drift | None = None
    changed: list[str] = field(default_factory=list)
    stubs_written: list[Path] = field(default_factory=list)
    stub_drift: list[str] = field(default_factory=list)
    documents: tuple[Path, ...] = ()
    skipped: tuple[str, ...] = ()


def build(config: CodegenConfig) -> Outcome:
    """Generate in memory; touches nothing on disk.

    Raises:
        CodegenError: A contract or configuration problem.
    """
    found = discover(list(config.contracts), list(config.include))
    files: dict[str, str] = {}
    contract = Contract(files=())
    if found.files:
        output = run_protoc(list(found.files), [*found.includes, *builtin_includes()])
        contract = read_descriptor_set(output.descriptor_set, list(found.files))
        files = render(contract, output.message_files)
    for document in found.documents:
        package = api_package(document)
        if any(name.split("/")[0] == package for name in files):
            raise CodegenError(f"{document}: its package name {package!r} is taken by a proto package")
        rendered = openapi.render(document, source_name=_shown(document, config.base))
        files.update(
            {f"{package}/{name}": text for name, text in rendered.items() if name != "_manifest.json"}
        )
    files.setdefault("__init__.py", '"""Generated code. DO NOT EDIT."""\n')
    return Outcome(
        contract=contract, files=with_manifest(files), documents=found.documents, skipped=found.skipped
    )


def api_package(document: Path) -> str:
    """The sub-package an OpenAPI document generates into: its file name as
    an identifier (``orders-api.yaml`` → ``orders_api``)."""
    name = re.sub(r"\W", "_", document.stem.lower())
    return f"api_{name}" if name[:1].isdigit() else name


def _shown(path: Path, base: Path) -> str:
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return path.name


def run(config: CodegenConfig, *, check: bool = False) -> Outcome:
    """Generate, then write (or, with ``check``, only compare) and report stub drift.

    Raises:
        CodegenError: A contract or configuration problem.
    """
    outcome = build(config)
    if check:
        outcome.drift = compare(outcome.files, config.out)
    else:
        outcome.changed = write(outcome.files, config.out)
    if config.stubs is None:
        return outcome
    for document in outcome.documents:
        gen_package = f"{config.import_name}.{api_package(document)}"
        for name, text in openapi.render_stubs(document, gen_package=gen_package).items():
            _write_stub(outcome, config.stubs / name, text, check=check, what=f"{document.name} handlers")
    for stub in plan_stubs(outcome.contract.services, config.stubs, config.import_name):
        if stub.path.is_file():
            outcome.stub_drift.extend(stub_drift(stub, stub.path.read_text(encoding="utf-8")))
        else:
            _write_stub(outcome, stub.path, stub.text, check=check, what=stub.service.full_name)
    return outcome


def _write_stub(outcome: Outcome, path: Path, text: str, *, check: bool, what: str) -> None:
    """Create a user stub once; in check mode report it missing instead."""
    if path.is_file():
        return
    if check:
        outcome.stub_drift.append(f"{path}: missing stub for {what}")
        return
    if not path.parent.is_dir():
        path.parent.mkdir(parents=True)
        (path.parent / "__init__.py").write_text(
            '"""Service implementations (yours; microlib codegen never overwrites them)."""\n',
            encoding="utf-8",
        )
    path.write_text(text, encoding="utf-8")
    outcome.stubs_written.append(path)
