"""microlib codegen: generate typed glue from contracts: .proto files,
OpenAPI 3.0/3.1 documents and AsyncAPI documents (a .yaml or .json file is
told by its openapi: or asyncapi: key).

With no arguments it reads [tool.microlib.codegen] from ./pyproject.toml;
`microlib codegen CONTRACT... --out DIR [-I DIR]` needs no project config.
The generator is the separate microlib-codegen distribution, imported
only here and only when the command runs.
"""

# The docstring is the command's --help text: plain text, not reStructuredText.

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from microlib.cli.main import CommandError

if TYPE_CHECKING:
    import microlib_codegen

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the ``codegen`` subcommand."""
    parser = subparsers.add_parser(
        "codegen",
        help="generate typed code and stubs from .proto, OpenAPI and AsyncAPI contracts",
        description=__doc__,
    )
    parser.add_argument(
        "contracts",
        nargs="*",
        type=Path,
        metavar="CONTRACT",
        help=".proto files, OpenAPI or AsyncAPI documents, or folders",
    )
    parser.add_argument("--out", type=Path, help="the generated package folder (replaced whole)")
    parser.add_argument(
        "-I", "--include", dest="include", action="append", type=Path, default=[], help="an include root"
    )
    parser.add_argument("--package", default="", help="the generated package's import name")
    parser.add_argument("--stubs", type=Path, help="the folder for user stubs (written once)")
    parser.add_argument(
        "--config", type=Path, default=Path("pyproject.toml"), help="default: ./pyproject.toml"
    )
    parser.add_argument(
        "--check", action="store_true", help="compare with disk, write nothing; exit 1 if stale"
    )
    parser.add_argument(
        "--strict", action="store_true", help="fail, writing nothing, where a construct would be skipped"
    )
    parser.add_argument(
        "--messages",
        choices=("betterproto2", "upb"),
        help="the message classes of proto packages (default: the config's, else betterproto2)",
    )
    parser.add_argument("--lint", action="store_true", help="also run `buf lint`")
    parser.add_argument("--breaking-against", metavar="REF", help="also run `buf breaking --against REF`")
    parser.set_defaults(handler=_run)


def _load() -> Any:
    try:
        import microlib_codegen
    except ModuleNotFoundError as exc:
        if exc.name != "microlib_codegen":
            raise
        raise CommandError("the code generator is not installed: pip install 'microlib[codegen]'") from None
    return microlib_codegen


def _config(gen: Any, args: argparse.Namespace) -> microlib_codegen.CodegenConfig:
    if args.contracts:
        if args.out is None:
            raise CommandError("--out DIR is required when contracts are given")
        config: microlib_codegen.CodegenConfig = gen.CodegenConfig(
            contracts=tuple(args.contracts),
            out=args.out,
            include=tuple(args.include),
            package=args.package,
            stubs=args.stubs,
        )
        return config
    given = {"--out": args.out, "--package": args.package, "--stubs": args.stubs, "-I": args.include}
    flag = next((flag for flag, value in given.items() if value), None)
    if flag is not None:
        raise CommandError(
            f"{flag} goes with CONTRACT... (microlib codegen CONTRACT... --out DIR); without them, "
            "[tool.microlib.codegen] in pyproject.toml says what to generate and where"
        )
    loaded: microlib_codegen.CodegenConfig = gen.load_pyproject(args.config)
    return loaded


def _run(args: argparse.Namespace) -> int:
    gen = _load()
    try:
        config = _config(gen, args)
        if args.strict:
            config = dataclasses.replace(config, strict=True)
        if args.messages:
            config = dataclasses.replace(config, messages=args.messages)
        outcome = gen.run(config, check=args.check)
    except gen.CodegenError as exc:
        raise CommandError(str(exc)) from None
    code = 0
    for warning in outcome.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.check:
        if outcome.drift:
            for line in outcome.drift.lines(config.out):
                print(line, file=sys.stderr)
            print(f"{config.out} is out of date: run `microlib codegen`", file=sys.stderr)
            code = 1
        elif not outcome.stub_drift:
            print(f"{config.out} is up to date ({len(outcome.files)} files)")
    else:
        # Paths written are of the new files; the rest of the changed paths were removed.
        removed = sorted(path for path in outcome.changed if path not in outcome.files)
        written = len(outcome.changed) - len(removed)
        gone = f", {len(removed)} removed" if removed else ""
        print(f"wrote {config.out}: {written} of {len(outcome.files)} files changed{gone}")
        for package in _gone(removed, outcome.files):
            # Said, not only counted: a contract codegen no longer reads (an OpenAPI document
            # whose `paths:` an edit lost is taken for a fragment) takes its package with it.
            print(
                f"removed {config.out / package}: no contract generates it now (removed or renamed, "
                "or an OpenAPI document without `paths` or `webhooks`, read as a fragment)",
                file=sys.stderr,
            )
        for stub in outcome.stubs_written:
            print(f"created stub {stub}{_to_include(stub)}")
    for line in outcome.stub_drift:
        print(f"drift: {line}", file=sys.stderr)
    if args.check and outcome.stub_drift:
        count = len(outcome.stub_drift)
        print(f"{count} stub problem(s) above: the code disagrees with the contracts", file=sys.stderr)
        code = 1
    return max(code, _buf(gen, args, config))


def _gone(removed: list[str], kept: Collection[str]) -> list[str]:
    """The generated packages (top folders) of ``removed`` that no file ``kept`` is in."""
    living = {path.split("/", 1)[0] for path in kept}
    return sorted({path.split("/", 1)[0] for path in removed if "/" in path} - living)


def _to_include(stub: Path) -> str:
    """What a new stub asks of the user: the service serves its class only once it is included."""
    classes = _TOP_LEVEL_CLASS.findall(stub.read_text(encoding="utf-8"))
    if not classes:
        return ""
    return f": implement {', '.join(classes)} and pass an instance to service.include()"


_TOP_LEVEL_CLASS = re.compile(r"^class (\w+)", re.MULTILINE)


def _buf(gen: Any, args: argparse.Namespace, config: microlib_codegen.CodegenConfig) -> int:
    if not args.lint and not args.breaking_against:
        return 0
    from microlib_codegen.lint import buf_breaking, buf_lint

    workdir = config.base if not args.contracts else Path.cwd()
    code = 0
    try:
        steps = []
        if args.lint:
            steps.append(("buf lint", buf_lint(workdir)))
        if args.breaking_against:
            steps.append(("buf breaking", buf_breaking(workdir, args.breaking_against)))
    except gen.CodegenError as exc:
        raise CommandError(str(exc)) from None
    for name, (rc, findings) in steps:
        if findings:
            print(findings, file=sys.stderr if rc else sys.stdout)
        print(f"{name}: {'ok' if rc == 0 else 'findings above'}", file=sys.stderr if rc else sys.stdout)
        code = max(code, 1 if rc else 0)
    return code
