"""TypeSpec as a contract source: `microlib codegen` compiles `.tsp` to OpenAPI 3.1 and generates from it.

The compiler is the npm package package.json pins (`npm install`); the
contract is compiled in a folder of the test's own whose `node_modules` is
the one holding `tsp`, as a project's would be after `npm install`.
"""

from __future__ import annotations

import importlib
import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from microlib.http import OpenAPIApp
from microlib_codegen.typespec import find_tsp
from tests.codegen.conftest import ROOT, codegen, tree

SOURCE = Path(__file__).resolve().parent / "typespec" / "widgets.tsp"


def _node_modules() -> Path:
    tsp = find_tsp(ROOT).resolve()
    return next(folder for folder in tsp.parents if folder.name == "node_modules")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A TypeSpec project: the contract and the node_modules `npm install` gives."""
    folder = tmp_path_factory.mktemp("tsp")
    shutil.copy(SOURCE, folder / "widgets.tsp")
    (folder / "node_modules").symlink_to(_node_modules(), target_is_directory=True)
    return folder


@pytest.fixture(scope="module")
def generated(project: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The contract generated into an importable `tsp_widgets` package, with its stubs."""
    root = tmp_path_factory.mktemp("importable")
    package = root / "tsp_widgets"
    package.mkdir()
    (package / "__init__.py").write_text('"""Generated from TypeSpec."""\n')
    args = ["--out", package / "gen", "--stubs", package / "handlers", "--package", "tsp_widgets.gen"]
    result = codegen(project / "widgets.tsp", *args)
    assert result.returncode == 0, result.stderr
    sys.path.insert(0, str(root))
    try:
        yield package
    finally:
        sys.path.remove(str(root))


def test_the_compiled_document_is_generated_and_served(
    generated: Path, project: Path, tmp_path: Path
) -> None:
    """The package holds the OpenAPI 3.1 document tsp emitted (the one it serves), its models,
    operations and handlers; a second run writes the same bytes."""
    document = json.loads((generated / "gen" / "widgets" / "openapi.json").read_text())
    assert document["openapi"] == "3.1.0"
    assert document["info"]["title"] == "Widgets"
    assert set(document["paths"]) == {"/widgets", "/widgets/{id}"}
    again = codegen(project / "widgets.tsp", "--out", tmp_path / "gen", "--package", "tsp_widgets.gen")
    assert again.returncode == 0, again.stderr
    assert tree(tmp_path / "gen") == tree(generated / "gen")


class _Widgets:
    async def widgets_list(self, *, limit: int | None = None) -> Any:
        return []

    async def widgets_create(self, *, body: Any) -> Any:
        return {"id": 1, "name": body.name}

    async def widgets_read(self, *, id: int) -> Any:
        return {"id": id, "name": "gear"}


async def test_requests_are_validated_against_the_typespec_rules(generated: Path) -> None:
    """@minLength and the scalar types of the .tsp hold at the door; the id TypeSpec marks
    @visibility(Read) (readOnly and required) is not required in a request."""
    operations = importlib.import_module("tsp_widgets.gen.widgets.operations")
    app = OpenAPIApp(operations.OPERATIONS, _Widgets(), spec_path=operations.SPEC_PATH)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        created = await client.post("/widgets", json={"name": "gear"})
        assert created.status_code == 201, created.text
        assert (await client.post("/widgets", json={"name": ""})).status_code == 400
        assert (await client.get("/widgets/seven")).status_code == 400
        assert (await client.get("/widgets/7")).json() == {"id": 7, "name": "gear"}
        assert (await client.get("/openapi.json")).json()["info"]["title"] == "Widgets"


@pytest.mark.parametrize("colour", [None, "CI", "FORCE_COLOR"], ids=["plain", "ci", "force-color"])
def test_compiler_errors_name_the_tsp_file_and_line(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, colour: str | None
) -> None:
    """A TypeSpec error is one line with its .tsp file, line and column: no traceback, nothing written.

    The compiler colours its diagnostics when `CI` (as CI runners set) or `FORCE_COLOR` is in the
    environment, whatever its value: the report is the same line either way.
    """
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    if colour is not None:
        monkeypatch.setenv(colour, "1")
    broken = project / "broken.tsp"
    broken.write_text(
        'import "@typespec/http";\n@service(#{ title: "B" })\nnamespace B;\nmodel X { a: strin; }\n'
    )
    try:
        result = codegen(broken, "--out", tmp_path / "gen")
    finally:
        broken.unlink()
    assert result.returncode != 0
    assert "broken.tsp:4:14: invalid-ref: Unknown identifier strin" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "gen").exists()
