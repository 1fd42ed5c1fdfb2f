"""One generation: contracts → IR → files, plus stubs and the drift report."""

from __future__ import annotations

import keyword
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from microlib_codegen import asyncapi, jobs, openapi
from microlib_codegen._protoc import builtin_includes, run_protoc
from microlib_codegen.check import Drift, compare, with_manifest, write
from microlib_codegen.config import CodegenConfig
from microlib_codegen.drift import consumer_drift, handlers_drift, import_drift, jobs_drift, stub_drift
from microlib_codegen.errors import CodegenError
from microlib_codegen.model import Contract
from microlib_codegen.proto import read_descriptor_set
from microlib_codegen.render import render
from microlib_codegen.sources import discover
from microlib_codegen.stubs import plan_stubs
from microlib_codegen.typespec import CONFIG

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
        applications: The AsyncAPI documents generated from.
        warnings: Constructs of the documents skipped, ``file:line: what: reason``.
        jobs: The jobs contracts generated from.
    """

    contract: Contract
    files: dict[str, str]
    drift: Drift | None = None
    changed: list[str] = field(default_factory=list)
    stubs_written: list[Path] = field(default_factory=list)
    stub_drift: list[str] = field(default_factory=list)
    documents: tuple[Path, ...] = ()
    applications: tuple[asyncapi.Application, ...] = ()
    warnings: list[str] = field(default_factory=list)
    jobs: tuple[Path, ...] = ()


def build(config: CodegenConfig) -> Outcome:
    """Generate in memory; touches nothing on disk.

    Raises:
        CodegenError: A contract or configuration problem.
    """
    found = discover(list(config.contracts), list(config.include))
    warnings: list[str] = []
    # The files the contracts were read from beyond those found in their folders: a $ref's or an
    # import's target elsewhere in the project (the manifest digests them too).
    read: list[Path] = []
    files: dict[str, str] = {}
    contract = Contract(files=())
    if found.files:
        output = run_protoc(list(found.files), [*found.includes, *builtin_includes()])
        contract = read_descriptor_set(output.descriptor_set, list(found.files))
        # protovalidate is imported only for proto contracts.
        from microlib_codegen._rule_check import uncompilable_rules

        broken = uncompilable_rules(
            output.descriptor_set, (name for name, message in contract.messages.items() if message.has_rules)
        )
        if broken:
            raise CodegenError(
                "\n".join(f"{_on_disk(e.file, found.includes)}:{e.line}:{e.column}: {e.text}" for e in broken)
            )
        files = render(contract, output.message_files, config.messages)
        read.extend(
            path for source in contract.files if (path := _in_roots(source.name, found.includes)) is not None
        )
        warnings.extend(
            f"{_on_disk(w.file, found.includes)}:{w.line}: {w.message}" for w in contract.warnings
        )
    for document in found.documents:
        package = api_package(document)
        if any(name.split("/")[0] == package for name in files):
            raise CodegenError(f"{document}: its package name {package!r} is taken by a proto package")
        rendered = openapi.render(
            document, source_name=_shown(document, config.base), warnings=warnings, read=read
        )
        files.update(
            {f"{package}/{name}": text for name, text in rendered.items() if name != "_manifest.json"}
        )
    proto = {name: message.ref for name, message in contract.messages.items()}
    applications = []
    for document in found.asyncapi:
        package = api_package(document)
        if any(name.split("/")[0] == package for name in files):
            raise CodegenError(f"{document}: its package name {package!r} is taken by another contract")
        app = asyncapi.load(document, package=package, proto=proto, starts=[config.base, Path.cwd()])
        rendered = asyncapi.render(app, source_name=_shown(document, config.base))
        files.update({f"{package}/{name}": text for name, text in rendered.items()})
        applications.append(app)
        read.extend(app.bundled.files)
    for contract_file in found.jobs:
        package = api_package(contract_file)
        if any(name.split("/")[0] == package for name in files):
            raise CodegenError(f"{contract_file}: its package name {package!r} is taken by another contract")
        shown = _shown(contract_file, config.base)
        rendered = jobs.render(contract_file, source_name=shown, warnings=warnings)
        files.update({f"{package}/{name}": text for name, text in rendered.items()})
    files.setdefault("__init__.py", '"""Generated code. DO NOT EDIT."""\n')
    return Outcome(
        contract=contract,
        files=with_manifest(
            files,
            {
                _relative(source, config.out): source.read_bytes()
                # A TypeSpec document's emitted OpenAPI is read from a folder gone by now.
                for source in {*found.sources, *(path.resolve() for path in read if path.is_file())}
            },
        ),
        documents=found.documents,
        applications=tuple(applications),
        warnings=[*warnings, *(line for app in applications for line in app.spec.warnings)],
        jobs=found.jobs,
    )


def api_package(document: Path) -> str:
    """The sub-package an OpenAPI or AsyncAPI document generates into: its
    file name as an identifier (``orders-api.yaml`` → ``orders_api``, ``not.yaml``
    → ``not_``); a TypeSpec project's is its folder's (``shop/tspconfig.yaml`` → ``shop``)."""
    stem = document.parent.name if document.name == CONFIG else document.stem
    name = re.sub(r"\W", "_", stem.lower())
    if keyword.iskeyword(name):
        return f"{name}_"
    return f"api_{name}" if name[:1].isdigit() else name


def _relative(path: Path, out: Path) -> str:
    """``path`` relative to the output folder, as the manifest names it: the two move together
    when the project does."""
    return Path(os.path.relpath(path.resolve(), out.resolve())).as_posix()


def _in_roots(name: str, includes: tuple[Path, ...]) -> Path | None:
    """The file a proto import ``name`` resolved to under the project's include roots, if any
    (the generator's own roots, ``google/api`` and the like, are not the project's)."""
    return next((root / name for root in includes if (root / name).is_file()), None)


def _on_disk(name: str, includes: tuple[Path, ...]) -> str:
    """A proto file's path as protoc shows it: below the first include root holding it,
    relative to the working folder when inside it."""
    found = _in_roots(name, includes)
    if found is None:
        return name
    path = found.resolve()
    return path.relative_to(Path.cwd()).as_posix() if path.is_relative_to(Path.cwd()) else str(path)


def _shown(path: Path, base: Path) -> str:
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return path.name


def run(config: CodegenConfig, *, check: bool = False) -> Outcome:
    """Generate, then write (or, with ``check``, only compare) and report stub drift.

    Raises:
        CodegenError: A contract or configuration problem, or with
            ``config.strict`` a construct that would be left out (nothing is written).
    """
    outcome = build(config)
    if config.strict and outcome.warnings:
        raise CodegenError(
            f"{len(outcome.warnings)} construct(s) would be left out (strict):\n"
            + "\n".join(outcome.warnings)
        )
    if check:
        outcome.drift = compare(outcome.files, config.out)
    else:
        outcome.changed = write(outcome.files, config.out)
    if config.stubs is None:
        return outcome
    tagged = {document: openapi.handler_stubs(document) for document in outcome.documents}
    # A tag's module (`default.py`, `pets.py`) that two documents would both write is each one's
    # own, named after its package (`petstore_pets.py`); a document alone keeps the short name.
    claims = Counter(handlers.module for stubs in tagged.values() for handlers in stubs)
    for document, stubs in tagged.items():
        gen_package = f"{config.import_name}.{api_package(document)}"
        own = {name: f"{api_package(document)}_{name}" if claims[name] > 1 else name for name in claims}
        for name, text in openapi.render_stubs(document, gen_package=gen_package).items():
            _write_stub(
                outcome, config.stubs / own[name], text, check=check, what=f"{document.name} handlers"
            )
        for handlers in stubs:
            if (config.stubs / own[handlers.module]).is_file():
                outcome.stub_drift.extend(handlers_drift(handlers, config.stubs / own[handlers.module]))
    for app in outcome.applications:
        if not app.receives:
            continue
        path = config.stubs / app.stub_module
        if path.is_file():
            outcome.stub_drift.extend(consumer_drift(app, path, config.import_name))
        else:
            text = asyncapi.render_stub(app, import_name=config.import_name)
            _write_stub(outcome, path, text, check=check, what=f"{app.document.name} consumer")
    for contract_file in outcome.jobs:
        shown = _shown(contract_file, config.base)
        gen_package = f"{config.import_name}.{api_package(contract_file)}"
        name, text = jobs.render_stub(contract_file, source_name=shown, gen_package=gen_package)
        path = config.stubs / name
        if path.is_file():
            outcome.stub_drift.extend(jobs_drift(jobs.load(contract_file, shown), path))
        else:
            _write_stub(outcome, path, text, check=check, what=f"{contract_file.name} jobs")
    for stub in plan_stubs(outcome.contract.services, config.stubs, config.import_name):
        if stub.path.is_file():
            outcome.stub_drift.extend(stub_drift(stub, stub.path.read_text(encoding="utf-8")))
        else:
            _write_stub(outcome, stub.path, stub.text, check=check, what=stub.service.full_name)
    if config.stubs.is_dir():
        outcome.stub_drift.extend(import_drift(config.stubs, config.import_name, outcome.files))
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
