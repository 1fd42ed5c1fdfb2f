"""Keys of a contract's JSON schemas that look like a JSON Schema keyword misspelt.

JSON Schema ignores a keyword it does not know, and an OpenAPI 3.1 or AsyncAPI document is valid
with one (OpenAPI 3.0's own schema refuses them): ``minLenght: 1`` or ``requried: [name]``
validates nothing, and nothing says so. A key close to a keyword is reported; one close to none
(a vendor's annotation) is left alone.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from microlib.config._schema import suggest
from microlib_codegen._bundle import SCHEMA_MAP_KEYS, VALUE_KEYS, Bundled, Path_

__all__ = ["misspelt_in_schemas", "misspelt_keywords"]

_SUBSCHEMAS = frozenset(
    {
        "allOf", "anyOf", "oneOf", "not", "if", "then", "else", "items", "prefixItems", "additionalItems",
        "contains", "additionalProperties", "propertyNames", "unevaluatedItems", "unevaluatedProperties",
        "contentSchema",
    }
)  # fmt: skip
# JSON Schema 2020-12 and draft 7, and what OpenAPI and AsyncAPI add to them.
_KEYWORDS = frozenset(
    SCHEMA_MAP_KEYS
    | _SUBSCHEMAS
    | VALUE_KEYS
    | {
        "$schema", "$id", "$ref", "$anchor", "$dynamicRef", "$dynamicAnchor", "$vocabulary", "$comment",
        "type", "multipleOf", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum", "maxLength",
        "minLength", "pattern", "maxItems", "minItems", "uniqueItems", "maxContains", "minContains",
        "maxProperties", "minProperties", "required", "dependentRequired", "dependencies", "title",
        "description", "deprecated", "readOnly", "writeOnly", "format", "contentEncoding",
        "contentMediaType", "discriminator", "xml", "externalDocs", "nullable",
    }
)  # fmt: skip


def misspelt_keywords(document: Any, path: Path_ = ()) -> Iterator[tuple[Path_, str]]:
    """``(path, reason)`` of each key of a schema in the OpenAPI ``document`` that is close to
    a keyword."""
    if isinstance(document, list):
        for index, item in enumerate(document):
            yield from misspelt_keywords(item, (*path, index))
        return
    if not isinstance(document, dict):
        return
    for key, value in document.items():
        here = (*path, str(key))
        if key in VALUE_KEYS or str(key).startswith("x-"):
            continue
        if key == "schema":
            yield from _in_schema(value, here)
        elif key == "schemas" and isinstance(value, dict):
            for name, schema in value.items():
                yield from _in_schema(schema, (*here, str(name)))
        else:
            yield from misspelt_keywords(value, here)


def misspelt_in_schemas(
    schemas: Mapping[str, Any], origins: Mapping[str, Path_], bundled: Bundled
) -> list[str]:
    """A warning line for each key of the named JSON ``schemas`` (of an AsyncAPI document or a
    jobs contract) close to a keyword, at the line where ``origins`` says the schema is written."""
    return [
        bundled.located(path, reason)
        for name, origin in origins.items()
        for path, reason in _in_schema(schemas.get(name), origin)
    ]


def _in_schema(schema: Any, path: Path_) -> Iterator[tuple[Path_, str]]:
    if not isinstance(schema, dict):
        return  # true, false, or a reference already resolved elsewhere
    for key, value in schema.items():
        here = (*path, str(key))
        if key in SCHEMA_MAP_KEYS and isinstance(value, dict):
            for name, sub in value.items():
                yield from _in_schema(sub, (*here, str(name)))
        elif key in _SUBSCHEMAS:
            for index, sub in enumerate(value) if isinstance(value, list) else [(None, value)]:
                yield from _in_schema(sub, here if index is None else (*here, index))
        elif key not in _KEYWORDS and not str(key).startswith("x-"):
            keyword = suggest(str(key), sorted(_KEYWORDS))
            if keyword is not None:
                yield here, f"{key!r} is no schema keyword, so it checks nothing: did you mean {keyword!r}?"
