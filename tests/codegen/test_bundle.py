"""Loading and bundling contract documents: lines, origins, YAML 1.2 scalars, ref errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from microlib_codegen._bundle import BundleError, bundle, load_document


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_yaml_12_scalars_stay_strings(tmp_path: Path) -> None:
    """`NO`, `on` and dates are strings as in JSON; only true/false are booleans."""
    text = "country: NO\nswitch: on\nday: 2024-05-01\nflag: true\n"
    doc = load_document(_write(tmp_path, "d.yaml", text))
    assert doc == {"country": "NO", "switch": "on", "day": "2024-05-01", "flag": True}


def test_every_node_is_traced_to_the_file_and_line_that_wrote_it(tmp_path: Path) -> None:
    """Nodes inlined or hoisted from another file report that file; list items their own line."""
    _write(
        tmp_path,
        "common.yaml",
        (
            "Money:\n"
            "  type: object\n"
            "  properties:\n"
            "    units:\n"
            "      type: integer\n"
            "Trait:\n"
            "  headers:\n"
            "    type: object\n"
        ),
    )
    root = _write(
        tmp_path,
        "doc.yaml",
        (
            "asyncapi: 3.0.0\n"
            "tags:\n"
            "  - name: a\n"
            "  - name: b\n"
            "messages:\n"
            "  paid:\n"
            "    traits:\n"
            "      - $ref: 'common.yaml#/Trait'\n"
            "    payload:\n"
            "      $ref: 'common.yaml#/Money'\n"
        ),
    )
    bundled = bundle(root, schema_keys=frozenset({"payload", "headers"}))
    doc = bundled.document
    assert doc["messages"]["paid"]["payload"] == {"$ref": "#/components/schemas/Money"}
    assert doc["messages"]["paid"]["traits"] == [{"headers": {"type": "object"}}]
    assert list(doc) == ["asyncapi", "tags", "messages", "components"]
    common = tmp_path / "common.yaml"
    assert bundled.where(("tags", 1, "name")) == (root.resolve(), 4)
    assert bundled.where(("components", "schemas", "Money", "properties", "units", "type")) == (common, 5)
    assert bundled.where(("messages", "paid", "traits", 0, "headers")) == (common, 7)
    assert bundled.origin(("messages", "paid", "traits", 0)) == (common, ("Trait",))
    assert bundled.where(("messages", "paid", "nothing", "here")) == (root.resolve(), 6)


def test_no_components_are_added_to_a_document_that_needs_none(tmp_path: Path) -> None:
    """A document without external schemas is served exactly as written."""
    root = _write(tmp_path, "doc.yaml", "asyncapi: 3.0.0\ninfo: {title: t, version: '1'}\n")
    assert bundle(root).document == {"asyncapi": "3.0.0", "info": {"title": "t", "version": "1"}}
    kept = _write(tmp_path, "kept.yaml", "asyncapi: 3.0.0\ncomponents:\n  schemas: {}\n")
    assert bundle(kept).document == {"asyncapi": "3.0.0", "components": {"schemas": {}}}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "a:\n  b:\n    $ref: 'other.yaml#/nope'\n",
            r"doc.yaml:3: \$ref 'other.yaml#/nope' does not resolve: no 'nope' in other.yaml",
        ),
        (
            # The $ref's own file and line: a document may refer to many files.
            "a:\n  $ref: 'missing.yaml#/x'\n",
            r"doc.yaml:2: \$ref 'missing.yaml#/x' does not resolve: no file \S*missing.yaml \(at a.\$ref\)$",
        ),
        ("a: [\n", r"doc.yaml:2:1: invalid YAML/JSON"),
        ("- 1\n", r"doc.yaml: a contract document must be a mapping"),
        ("components: 3\n", r"doc.yaml:1: components must be a mapping"),
    ],
)
def test_a_document_that_cannot_be_bundled_names_file_and_line(
    tmp_path: Path, text: str, message: str
) -> None:
    """Unresolvable refs, unreadable files and bad YAML are BundleErrors naming where."""
    _write(tmp_path, "other.yaml", "yes: 1\n")
    with pytest.raises(BundleError, match=message):
        bundle(_write(tmp_path, "doc.yaml", text))


def test_a_yaml_syntax_error_is_one_line_at_its_line_and_column(tmp_path: Path) -> None:
    """Not pyyaml's several lines quoting the text with a caret under it."""
    doc = _write(tmp_path, "doc.yaml", "paths:\n  /a:\n    get: {}\n   bad: [\n")
    with pytest.raises(BundleError) as raised:
        bundle(doc)
    assert str(raised.value).endswith(
        "doc.yaml:4:4: invalid YAML/JSON: while parsing a block mapping "
        "expected <block end>, but found '<block mapping start>'"
    ), str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_ref_inside_the_root_document_must_resolve(tmp_path: Path) -> None:
    """A `#/...` ref is kept as is, but one to nowhere is named with file, line and JSON path."""
    doc = _write(
        tmp_path,
        "doc.yaml",
        "components:\n  schemas:\n    A: {type: string}\nb:\n  - $ref: '#/components/schemas/B'\n",
    )
    with pytest.raises(
        BundleError,
        match=r"doc.yaml:5: \$ref '#/components/schemas/B' does not resolve: no 'B' in doc.yaml "
        r"\(at b.0.\$ref\)",
    ):
        bundle(doc)


def test_a_path_relative_to_an_enclosing_node_is_completed_from_the_root(tmp_path: Path) -> None:
    """A validator that lost the prefix gets it back: the first node under which the path leads there."""
    bundled = bundle(_write(tmp_path, "doc.yaml", "a:\n  s: {type: x}\nb:\n  s: {type: bool}\n"))
    assert bundled.complete(["s", "type"], "bool") == ("b", "s", "type")
    assert bundled.complete(["a", "s", "type"], "x") == ("a", "s", "type")
    assert bundled.complete(["s", "type"], "nothing") == ("s", "type")
    assert bundled.complete([0, "s"], "x") == (0, "s")
