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
    # As deep as the first: the manifest names the contract relative to the package.
    out = tmp_path / "tsp_widgets" / "gen"
    again = codegen(project / "widgets.tsp", "--out", out, "--package", "tsp_widgets.gen")
    assert again.returncode == 0, again.stderr
    assert tree(out) == tree(generated / "gen")


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


SHOP = Path(__file__).resolve().parent / "typespec" / "shop"


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """A copy of the TypeSpec project `shop` (tspconfig.yaml, main.tsp importing a file and a
    folder, a file only the config's `imports` names) below a `contracts` folder, with the
    node_modules `npm install` gives."""
    (tmp_path / "node_modules").symlink_to(_node_modules(), target_is_directory=True)
    shutil.copytree(SHOP, tmp_path / "contracts" / "shop")
    return tmp_path / "contracts" / "shop"


def _check(project: Path, out: Path) -> list[str]:
    result = codegen(project, "--out", out, "--check", cwd=project.parent.parent)
    return [line for line in (result.stdout + result.stderr).splitlines() if "stale" in line]


def test_a_project_is_compiled_with_its_own_configuration(shop: Path, tmp_path: Path) -> None:
    """The folder (or its tspconfig.yaml) is one contract named after the folder: its main.tsp,
    the files it imports and those the config's `imports` adds are compiled together; the
    project's `omit-unreachable-types` holds, while its 3.0/YAML settings and its second emitter
    give way to the OpenAPI 3.1 JSON microlib generates from. The package names every source."""
    result = codegen(shop.parent, "--out", tmp_path / "gen")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "gen").iterdir() if p.is_dir()) == ["shop"]
    document = json.loads((tmp_path / "gen" / "shop" / "openapi.json").read_text())
    assert document["openapi"] == "3.1.0"
    assert set(document["paths"]) == {"/items", "/items/{id}", "/orders"}
    assert set(document["components"]["schemas"]) == {"Item", "Order"}
    assert not (shop / "api.yaml").exists()
    init = (tmp_path / "gen" / "shop" / "__init__.py").read_text()
    sources = ["main.tsp", "models.tsp", "orders.tsp", "routes/main.tsp", "tspconfig.yaml"]
    assert [line.split()[0] for line in init.split("(sha256):\n\n")[1].splitlines()[:5]] == sources
    again = codegen(shop / "tspconfig.yaml", "--out", tmp_path / "again")
    assert again.returncode == 0, again.stderr
    assert tree(tmp_path / "again") == tree(tmp_path / "gen")


@pytest.fixture(scope="module")
def generated_shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `shop` project generated into gen/ beside its contracts/ folder, `--check` clean."""
    root = tmp_path_factory.mktemp("generated-shop")
    (root / "node_modules").symlink_to(_node_modules(), target_is_directory=True)
    shutil.copytree(SHOP, root / "contracts" / "shop")
    assert codegen(root / "contracts" / "shop", "--out", root / "gen", cwd=root).returncode == 0
    assert _check(root / "contracts" / "shop", root / "gen") == []
    return root


@pytest.mark.parametrize("edited", ["routes/main.tsp", "orders.tsp", "tspconfig.yaml"])
def test_check_covers_every_source_of_the_project(generated_shop: Path, tmp_path: Path, edited: str) -> None:
    """An edit to any .tsp the project compiles (imported by a file, or by the config) or to its
    tspconfig.yaml, even one that leaves the document as it was, is drift for `--check`."""
    root = tmp_path / "project"
    shutil.copytree(generated_shop, root, symlinks=True)  # the generation's paths are relative
    shop, out = root / "contracts" / "shop", root / "gen"
    path = shop / edited
    path.write_text(path.read_text() + ("# edited\n" if path.suffix == ".yaml" else "// edited\n"))
    assert _check(shop, out) == [f"stale: {out / '_manifest.json'}", f"stale: {out / 'shop' / '__init__.py'}"]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda text: text.replace("omit-unreachable-types", "omit-unreachable-type"),
            "shop/tspconfig.yaml:16:5: invalid-schema: Schema violation: must NOT have additional "
            "properties (/) (additionalProperty: omit-unreachable-type)",
        ),
        (
            lambda text: text.replace("imports:", "imports: ["),
            "shop/tspconfig.yaml:7:3: yaml-block-in-flow: Block collections are not allowed within "
            "flow collections",
        ),
        (
            lambda text: text + "warn-as-error: true\n",
            "shop/models.tsp:2:1: @typespec/compiler/unused-using: 'using TypeSpec.Http' is declared "
            "but never used.",
        ),
    ],
    ids=["unknown-emitter-option", "yaml", "project-linter"],
)
def test_a_bad_project_is_reported_at_its_file_and_line(
    shop: Path, tmp_path: Path, edit: Any, expected: str
) -> None:
    """A YAML error or an option the emitter does not know is named at its line of tspconfig.yaml;
    the project's linter (unused `using`, an error with its `warn-as-error`) holds. No traceback,
    nothing written."""
    config = shop / "tspconfig.yaml"
    config.write_text(edit(config.read_text()))
    models = shop / "models.tsp"
    models.write_text(
        models.read_text().replace("namespace Shop;\n", "namespace Shop;\nusing TypeSpec.Http;\n")
    )
    result = codegen(shop, "--out", tmp_path / "gen", cwd=shop.parent)
    assert result.returncode != 0
    assert expected in result.stderr.splitlines(), result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "gen").exists()


def test_a_project_s_entry_point_and_several_services(shop: Path, tmp_path: Path) -> None:
    """No main.tsp (and no package.json `tspMain` naming another): one line naming the project.
    Two @service namespaces emit two documents: one line naming them, as microlib generates one
    package per contract."""
    (shop / "main.tsp").rename(shop / "shop.tsp")
    result = codegen(shop, "--out", tmp_path / "gen", cwd=shop.parent)
    assert f"shop/tspconfig.yaml: file-not-found: File {shop / 'main.tsp'} not found." in result.stderr
    (shop / "package.json").write_text('{"name": "shop", "tspMain": "shop.tsp"}')
    named = codegen(shop, "--out", tmp_path / "named", cwd=shop.parent)
    assert named.returncode == 0, named.stderr
    assert "shop.tsp" in (tmp_path / "named" / "shop" / "__init__.py").read_text()
    (shop / "package.json").unlink()
    (shop / "shop.tsp").rename(shop / "main.tsp")
    with (shop / "orders.tsp").open("a") as tsp:
        tsp.write('@service(#{ title: "Admin" })\nnamespace Admin { @route("/admin") op ping(): void; }\n')
    result = codegen(shop, "--out", tmp_path / "gen", cwd=shop.parent)
    assert result.returncode != 0
    assert (
        "shop/tspconfig.yaml: the TypeSpec contract emits 2 OpenAPI documents (services, versions: "
        "Shop.Admin, Shop): microlib generates one package per contract" in result.stderr
    )
    assert not (tmp_path / "gen").exists()


def test_the_documented_project_is_the_tested_one() -> None:
    """docs/codegen.md shows the tspconfig.yaml these tests compile, byte for byte."""
    doc = (ROOT / "docs" / "codegen.md").read_text()
    assert f"```yaml\n{(SHOP / 'tspconfig.yaml').read_text()}```" in doc
