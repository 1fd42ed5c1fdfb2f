"""Every Python block of README.md and docs/ runs: a page's blocks in order, in one namespace, in a
fresh interpreter whose working folder holds the files the page shows; then the tests the page
writes run under pytest. A block that cannot run says why in the page (tests/docs/_blocks.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs._blocks import DOCS, ROOT, Block, blocks
from tests.docs._run import check_outputs, run_commands, run_python, run_tests, write_files

# Blocks that may say `skip` across all pages: a block that cannot run is the rare exception.
MAX_SKIPPED = 2


# Pages whose tests also run against a real server (RabbitMQ): `make unit` leaves them out.
CONNECTED = {"docs/messaging.md"}


def _page(doc: Path) -> object:
    name = str(doc.relative_to(ROOT))
    return pytest.param(doc, marks=[pytest.mark.connected] if name in CONNECTED else [], id=name)


PAGES = [_page(doc) for doc in DOCS if blocks(doc, "python")]


@pytest.mark.parametrize("doc", PAGES)
def test_the_python_blocks_of_a_page_run(doc: Path, tmp_path: Path) -> None:
    """Files shown are written, the other Python blocks run in order, tests written run."""
    mine = [b for b in blocks(doc) if b.directive in (None, "run", "output")]
    write_files([b for b in mine if b.file], tmp_path)
    run_commands([b for b in mine if b.directive == "run"], tmp_path)
    run_python([b for b in mine if b.lang == "python" and not b.file and not b.directive], tmp_path)
    run_tests([b.file for b in mine if b.file and Path(b.file).name.startswith("test_")], tmp_path)
    check_outputs([b for b in mine if b.directive == "output"], tmp_path)


def _python_blocks() -> list[Block]:
    return [b for doc in DOCS for b in blocks(doc, "python")]


@pytest.mark.parametrize(
    "block", [b for b in _python_blocks() if b.directive in ("skip", "checked by")], ids=lambda b: b.where
)
def test_a_block_that_does_not_run_here_says_why(block: Block) -> None:
    """`skip` names a reason; `checked by` names a test that exists."""
    assert block.reason, f"{block.where}: a docs-test directive needs a reason"
    if block.directive == "checked by":
        path, _, name = block.reason.partition("::")
        source = (ROOT / path).read_text(encoding="utf-8")
        assert f"def {name}(" in source, f"{block.where}: {block.reason} does not exist"


def test_few_blocks_are_skipped() -> None:
    """Skipping is the exception: a page that skips more should be completed instead."""
    skipped = [b.where for b in _python_blocks() if b.directive == "skip"]
    assert len(skipped) <= MAX_SKIPPED, skipped


def test_a_page_whose_block_fails_fails(tmp_path: Path) -> None:
    """The runner can fail: a block raising after the first ran is reported with the page's line."""
    page = tmp_path / "page.md"
    page.write_text("```python\nvalue = 1\n```\n\ntext\n\n```python\nassert value == 2, 'off'\n```\n")
    with pytest.raises(AssertionError, match=r'page.md", line 8[\s\S]*AssertionError: off'):
        run_python(blocks(page, "python"), tmp_path)
