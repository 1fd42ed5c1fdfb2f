"""A generated model's fields that override its base's, typed so mypy --strict takes them.

datamodel-code-generator writes an ``allOf`` of one ``$ref`` and properties of its own as a
subclass of the referenced model, each property of the same name a field overriding the
base's. JSON Schema reads ``allOf`` as "both at once": the override narrows the base's
property (a discriminator's tag; Train Travel's ``data: list[Station]`` over its wrapper's
``data: list[dict[str, Any]]``), which the model validates as the contract says but which
Python's typing calls an incompatible override when the narrower type is no subtype.
"""

from __future__ import annotations

import ast

__all__ = ["overrides_typed"]

# mypy refuses some overrides and takes others: `unused-ignore` keeps it quiet on the ones it takes.
_NARROWED = "  # type: ignore[assignment, unused-ignore]  # allOf narrows the base's field"


def overrides_typed(body: str) -> str:
    """``body`` with each field whose type differs from the base field it overrides typed so
    mypy --strict takes it.

    A ``Literal['car']`` narrowing a base's field typed by an enum holding that value is written
    as the member, ``Literal[VehicleKind.CAR]``: the generator narrows a discriminator property
    to its tag in each member of a tagged union, and when the members extend a base typing it
    by an enum (a Jackson type hierarchy as springdoc describes it), ``Literal['car']`` is no
    VehicleKind. Any other narrowing is marked as one. Each validates the same wire values.
    """
    tree = ast.parse(body)
    classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}
    members = {
        name: {
            stmt.value.value: stmt.targets[0].id
            for stmt in node.body
            if isinstance(stmt, ast.Assign)
            and isinstance(stmt.targets[0], ast.Name)
            and isinstance(stmt.value, ast.Constant)
        }
        for name, node in classes.items()
        if any(isinstance(base, ast.Name) and base.id == "StrEnum" for base in node.bases)
    }
    lines = body.split("\n")
    for node in classes.values():
        for stmt in node.body:
            if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)):
                continue
            base = _inherited(classes, node, stmt.target.id)
            if base is None or _within(stmt.annotation, base.annotation):
                continue
            enum = base.annotation.id if isinstance(base.annotation, ast.Name) else ""
            tag = _literal(stmt.annotation)
            member = members.get(enum, {}).get(tag) if tag is not None else None
            if member is None:
                lines[stmt.lineno - 1] += _NARROWED  # `data: list[Station]` over `list[dict[str, Any]]`
                continue
            at, row = stmt.annotation, stmt.annotation.lineno - 1
            text = lines[row]
            lines[row] = f"{text[: at.col_offset]}Literal[{enum}.{member}]{text[at.end_col_offset :]}"
    return "\n".join(lines)


def _inherited(classes: dict[str, ast.ClassDef], node: ast.ClassDef, field: str) -> ast.AnnAssign | None:
    """The declaration of ``field`` ``node`` inherits, from the nearest base declaring it."""
    for base in node.bases:
        parent = classes.get(base.id) if isinstance(base, ast.Name) else None
        if parent is None:
            continue
        for stmt in parent.body:
            if (
                isinstance(stmt, ast.AnnAssign)
                and isinstance(stmt.target, ast.Name)
                and stmt.target.id == field
            ):
                return stmt
        found = _inherited(classes, parent, field)
        if found is not None:
            return found
    return None


def _within(narrow: ast.expr, wide: ast.expr) -> bool:
    """Whether each type of the union ``narrow`` is one of the union ``wide`` (``str`` over
    ``str | MISSING``), or a string ``Literal`` where ``wide`` takes ``str``: overrides mypy takes."""
    types = {ast.unparse(t) for t in _union(wide)}
    return all(
        ast.unparse(t) in types or (_literal(t) is not None and "str" in types) for t in _union(narrow)
    )


def _union(annotation: ast.expr) -> list[ast.expr]:
    """The types of ``A | B | C``; ``[annotation]`` when it is no union."""
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        return [*_union(annotation.left), *_union(annotation.right)]
    return [annotation]


def _literal(annotation: ast.expr) -> str | None:
    """The one value of a ``Literal[value]`` annotation; None for any other."""
    if (
        isinstance(annotation, ast.Subscript)
        and isinstance(annotation.value, ast.Name)
        and annotation.value.id == "Literal"
        and isinstance(annotation.slice, ast.Constant)
        and isinstance(annotation.slice.value, str)
    ):
        return annotation.slice.value
    return None
