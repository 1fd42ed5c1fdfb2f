"""docs/getting-started.md: what it shows of a new project is what `microlib new` writes,
and its plain-routes example runs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from microlib.cli.main import main
from microlib.testing import TestService

DOC = Path(__file__).resolve().parents[2] / "docs" / "getting-started.md"
BLOCKS = re.compile(r"```(\w+)\n(.*?)```", re.DOTALL)
# A block that shows a file starts with a comment naming it.
FILE = re.compile(r"(?:#|//) ([\w./-]+\.\w+)\n")


def _blocks(kind: str) -> list[str]:
    return [body for lang, body in BLOCKS.findall(DOC.read_text(encoding="utf-8")) if lang == kind]


@pytest.fixture(scope="module")
def greeter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project `microlib new greeter` writes."""
    target = tmp_path_factory.mktemp("new") / "greeter"
    assert main(["new", str(target)]) == 0
    return target


def test_the_files_shown_are_the_files_written(greeter: Path) -> None:
    """Each block naming a file is that file of `microlib new greeter`, byte for byte."""
    shown = [(m, body) for body in [*_blocks("python"), *_blocks("proto")] if (m := FILE.match(body))]
    assert {m[1] for m, _ in shown} == {
        "contracts/greeter/v1/greeter.proto",
        "greeter/services/greeter_service.py",
        "greeter/main.py",
        "tests/test_greeter_service.py",
    }
    for match, body in shown:
        assert body[match.end() :] == (greeter / match[1]).read_text(), match[1]


def test_the_layout_shown_is_the_layout_written(greeter: Path) -> None:
    """Every path the layout block lists exists in the new project."""
    layout = next(body for body in _blocks("text") if body.startswith("greeter/\n"))
    paths = [word for line in layout.splitlines()[1:] for word in line.split("#")[0].split()]
    assert len(paths) == 13
    for path in paths:
        assert (greeter / path).exists(), path


async def test_the_plain_routes_example_runs() -> None:
    """The service without contracts, and its test, as the page gives them."""
    unnamed = [b for b in _blocks("python") if not FILE.match(b)]
    [service_block] = [b for b in unnamed if 'Service("greeter"' in b]
    [test_block] = [b for b in unnamed if "async def test_hello" in b]
    namespace: dict[str, Any] = {"__name__": "greeter_doc"}
    exec(compile(service_block, str(DOC), "exec"), namespace)
    exec(compile(test_block, str(DOC), "exec"), namespace)
    assert namespace["TestService"] is TestService
    await namespace["test_hello"]()
