"""docs/codegen.md's AsyncAPI examples run on the document they are generated from, microlib's test
contract tests/codegen/asyncapi/orders-amqp.yaml, and print what the page says they print."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.docs._blocks import ROOT, blocks
from tests.docs._run import run, run_python, write_files

DOC = ROOT / "docs" / "codegen.md"
CONTRACTS = ROOT / "tests" / "codegen" / "asyncapi"


def test_the_asyncapi_examples_run_on_their_document(tmp_path: Path) -> None:
    write_files([], tmp_path)
    (tmp_path / "contracts").mkdir()
    for name in ("orders-amqp.yaml", "orders-schemas.yaml"):
        shutil.copy(CONTRACTS / name, tmp_path / "contracts" / name)
    generated = run(
        ["microlib", "codegen", "contracts", "--out", "gen", "--stubs", "bookshop/services"], tmp_path
    )
    assert generated.returncode == 0, generated.stderr
    name = test_the_asyncapi_examples_run_on_their_document.__name__
    examples = [b for b in blocks(DOC, "python") if b.reason.endswith(f"::{name}")]
    assert len(examples) == 3
    printed = run_python(examples, tmp_path)
    decode = examples[0].body
    assert printed.strip() == decode[decode.rindex("# ") + 2 :].strip()  # the output the page shows
