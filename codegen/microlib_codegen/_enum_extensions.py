"""The enum extensions of a schema in the form the model generator reads them.

datamodel-code-generator gives ``x-enum-varnames``, ``x-enumNames`` and ``x-enum-descriptions``
a meaning (member names, member docstrings) and reads each as a list in the order of ``enum``.
Other tools write a mapping from each value instead (Scalar's Galaxy:
``x-enum-descriptions: {terrestrial: Rocky planets...}``), and any ``x-`` key is the document's
own to use: the generator refused the whole document for it. A mapping is read in ``enum``'s
order; another shape is left out of the models, with a note.
"""

from __future__ import annotations

from typing import Any

__all__ = ["enum_extensions_read"]

_LISTED = ("x-enum-varnames", "x-enumNames", "x-enum-descriptions")


def enum_extensions_read(schema: dict[str, Any], path: tuple[str, ...]) -> list[tuple[tuple[str, ...], str]]:
    """Make each enum extension of ``schema`` (at ``path``) a list the generator reads, in place;
    a note (path, what was done) for each left out."""
    enum = schema.get("enum")
    notes: list[tuple[tuple[str, ...], str]] = []
    if not isinstance(enum, list):
        return notes
    for key in [key for key in _LISTED if key in schema]:
        value = schema[key]
        if isinstance(value, dict):
            value = [value.get(str(member)) for member in enum]
        if isinstance(value, list) and all(isinstance(item, str | None) for item in value):
            schema[key] = value
        else:
            del schema[key]
            notes.append(((*path, key), f"{key} is no list nor mapping of strings: left out of the model"))
    return notes
