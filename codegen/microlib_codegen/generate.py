"""One generation: contracts → IR → files, plus stubs and the drift report."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from microlib_codegen._protoc import builtin_includes, run_protoc
from microlib_codegen.check import Drift, compare, with_manifest, write
from microlib_codegen.config import CodegenConfig
from microlib_codegen.drift import stub_drift
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
        skipped: Contract documents of kinds not generated yet.
    """

    contract: Contract
    files: dict[str, str]
    drift: Drift | None = None
    changed: list[str] = field(default_factory=list)
    stubs_written: list[Path] = field(default_factory=list)
    stub_drift: list[str] = field(default_factory=list)
    skipped: tuple[str, ...] = ()


def build(config: CodegenConfig) -> Outcome:
    """Generate in memory; touches nothing on disk.

    Raises:
        CodegenError: A contract or configuration problem.
    """
    found = discover(list(config.contracts), list(config.include))
    output = run_protoc(list(found.files), [*found.includes, *builtin_includes()])
    contract = read_descriptor_set(output.descriptor_set, list(found.files))
    files = with_manifest(render(contract, output.message_files))
    return Outcome(contract=contract, files=files, skipped=found.skipped)


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
    for stub in plan_stubs(outcome.contract.services, config.stubs, config.import_name):
        if stub.path.is_file():
            outcome.stub_drift.extend(stub_drift(stub, stub.path.read_text(encoding="utf-8")))
        elif check:
            outcome.stub_drift.append(f"{stub.path}: missing stub for {stub.service.full_name}")
        else:
            if not stub.path.parent.is_dir():
                stub.path.parent.mkdir(parents=True)
                (stub.path.parent / "__init__.py").write_text(
                    '"""Service implementations (yours; microlib codegen never overwrites them)."""\n',
                    encoding="utf-8",
                )
            stub.path.write_text(stub.text, encoding="utf-8")
            outcome.stubs_written.append(stub.path)
    return outcome
