"""The JSON Schema dialect of an OpenAPI 3.1 document's schemas, where it names one.

OpenAPI 3.1 lets a document (``jsonSchemaDialect``) or a schema (``$schema``) say its
schemas are of another JSON Schema draft than 2020-12. microlib reads every schema as
2020-12 (the spec validator, the generated models and the runtime validation alike),
where a draft-04 ``exclusiveMaximum: true`` means "at most 1", so another dialect is
refused at the line naming it rather than read as a different contract.
"""

from __future__ import annotations

from typing import Any

from microlib_codegen._bundle import VALUE_KEYS, Path_, walk_nodes

__all__ = ["foreign_dialect"]

# JSON Schema 2020-12 and OpenAPI 3.1's base dialect over it (by its published and dated URIs).
_READ = ("https://json-schema.org/draft/2020-12/schema", "https://spec.openapis.org/oas/3.1/dialect/")


def foreign_dialect(doc: dict[str, Any]) -> tuple[Path_, str] | None:
    """The first ``jsonSchemaDialect`` or ``$schema`` naming a dialect microlib does not read,
    with why; None when there is none."""
    named: list[tuple[Path_, Any]] = []
    if "jsonSchemaDialect" in doc:
        named.append((("jsonSchemaDialect",), doc["jsonSchemaDialect"]))
    named += [
        ((*path, "$schema"), node["$schema"])
        for path, node in walk_nodes(doc, ())
        if isinstance(node, dict) and "$schema" in node and not VALUE_KEYS & {str(p) for p in path}
    ]
    for path, uri in named:
        if not isinstance(uri, str) or not uri.rstrip("#").startswith(_READ):
            return path, (
                f"{uri!r}: microlib reads schemas as JSON Schema 2020-12 (OpenAPI 3.1's own dialect) "
                "only; write this one in it (docs/codegen.md#json-schema-dialects)"
            )
    return None
