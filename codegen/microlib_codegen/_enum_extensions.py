"""The enum extensions of a document in the form the model generator reads them.

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
# Notes: the JSON path, and what was done.
_Note = tuple[tuple[str, ...], str]


def enum_extensions_read(node: Any, path: tuple[str, ...]) -> tuple[Any, list[_Note]]:
    """``node`` with each enum extension a list the generator reads, and a note for each left out."""
    if isinstance(node, list):
        kept = [enum_extensions_read(value, (*path, str(index))) for index, value in enumerate(node)]
        return [value for value, _ in kept], [note for _, notes in kept for note in notes]
    if not isinstance(node, dict):
        return node, []
    out: dict[str, Any] = {}
    notes: list[_Note] = []
    for key, value in node.items():
        if key in _LISTED and isinstance(node.get("enum"), list):
            listed = _listed(value, node["enum"])
            if listed is None:
                notes.append(
                    ((*path, key), f"{key} is neither a list nor a mapping of strings: left out of the model")
                )
            else:
                out[key] = listed
            continue
        out[key], inner = enum_extensions_read(value, (*path, key))
        notes.extend(inner)
    return out, notes


def _listed(value: Any, enum: list[Any]) -> list[str | None] | None:
    """``value`` as the list of a string (or None) per member of ``enum``; None when it is neither
    such a list nor a mapping from the members' values."""
    if isinstance(value, dict):
        value = [value.get(str(member)) for member in enum]
    if isinstance(value, list) and all(isinstance(item, str | None) for item in value):
        return value
    return None
