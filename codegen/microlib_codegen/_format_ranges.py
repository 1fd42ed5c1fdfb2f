"""The numeric ranges a ``format`` implies, written as ``minimum``/``maximum`` for the model generator.

OpenAPI's ``int32``, ``int64`` and ``float`` (and the ``uint32``/``uint64``
many documents use) each bound the value, but the model generator makes a
plain ``int`` or ``float`` of them, so ``int32`` would accept -112544437138
and ``float`` 1e39. Only the copy the models are generated from gets the
bounds (as ``ge``/``le`` on the fields); the served document is left as written,
where the format already says it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["bound_formats"]

# The largest finite single-precision float; a larger JSON number is out of a `float`'s range.
_FLOAT32_MAX = 3.4028234663852886e38
_RANGES: dict[tuple[str, str], tuple[float, float]] = {
    ("integer", "int32"): (-(2**31), 2**31 - 1),
    ("integer", "int64"): (-(2**63), 2**63 - 1),
    ("integer", "uint32"): (0, 2**32 - 1),
    ("integer", "uint64"): (0, 2**64 - 1),
    ("number", "float"): (-_FLOAT32_MAX, _FLOAT32_MAX),
}


def bound_formats(node: Any) -> None:
    """Add to every schema of ``node`` (in place) the range its ``format`` implies.

    A bound the schema already states and that is tighter is kept.

    Args:
        node: A document, or any part of one.
    """
    if isinstance(node, list):
        for item in node:
            bound_formats(item)
        return
    if not isinstance(node, dict):
        return
    fmt = node.get("format")
    kinds = node.get("type")
    for kind in kinds if isinstance(kinds, list) else [kinds]:
        found = _RANGES.get((kind, fmt)) if isinstance(kind, str) and isinstance(fmt, str) else None
        if found is not None:
            low, high = found
            node["minimum"] = _tighter(node.get("minimum"), low, max)
            node["maximum"] = _tighter(node.get("maximum"), high, min)
    for value in node.values():
        bound_formats(value)


def _tighter(stated: Any, implied: float, pick: Any) -> Any:
    if isinstance(stated, int | float) and not isinstance(stated, bool):
        return pick(stated, implied)
    return implied
