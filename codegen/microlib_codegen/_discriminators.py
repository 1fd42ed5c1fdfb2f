"""Which ``discriminator``s of a document the model generator may turn into tagged unions.

OpenAPI's Discriminator Object is a hint: a ``oneOf``/``anyOf`` validates by its members, and a
member's own schema says which values its property takes. datamodel-code-generator instead
narrows each member's model to the union's tags and makes the property required, in the member's
one class that every other use of the schema shares. Scalar's Galaxy: ``CelestialBody``'s
discriminator made ``Planet.type`` required, and ``POST /planets`` refused a Planet without it.

So a discriminator is given to the generator only when that narrowing changes nothing the
document allows: each member requires the property (itself or through ``allOf``), and no other
discriminator gives a member other tags. Without it, the union validates by trying each member,
as ``oneOf`` reads.
"""

from __future__ import annotations

from typing import Any

from microlib_codegen._bundle import VALUE_KEYS, Path_, walk_nodes

__all__ = ["discriminators_kept"]

_SCHEMAS = "#/components/schemas/"
# A member's tags under one discriminator: (its property, the tags).
_Tags = tuple[str, frozenset[str]]


def discriminators_kept(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` without the ``discriminator`` of each union whose narrowing of its members
    would refuse what a member's own schema allows (the containers on its way copied, not changed)."""
    components = document.get("components")
    schemas = components.get("schemas") if isinstance(components, dict) else None
    named = schemas if isinstance(schemas, dict) else {}
    unions = {
        path: node
        for path, node in walk_nodes(document, ())
        if _is_union(node) and not VALUE_KEYS & {str(part) for part in path}
    }
    given: dict[str, set[_Tags]] = {}
    for union in unions.values():
        for ref, tags in _member_tags(union).items():
            given.setdefault(ref, set()).add(tags)
    out = document
    for path, union in unions.items():
        if not _requires_everywhere(union, named) or any(len(given[ref]) > 1 for ref in _member_tags(union)):
            out = _without_discriminator(out, path)
    return out


def _is_union(node: Any) -> bool:
    """Whether ``node`` is a ``oneOf``/``anyOf`` schema with a ``discriminator`` naming a property."""
    discriminator = node.get("discriminator") if isinstance(node, dict) else None
    return (
        isinstance(discriminator, dict)
        and isinstance(discriminator.get("propertyName"), str)
        and bool(_members(node))
    )


def _members(union: dict[str, Any]) -> list[Any]:
    members = union.get("oneOf", union.get("anyOf"))
    return members if isinstance(members, list) else []


def _member_tags(union: dict[str, Any]) -> dict[str, _Tags]:
    """The tags of each ``$ref`` member: the mapping's keys naming it, else the schema's name."""
    discriminator = union["discriminator"]
    mapping = discriminator.get("mapping")
    mapped = mapping if isinstance(mapping, dict) else {}
    out = {}
    for member in _members(union):
        ref = member.get("$ref") if isinstance(member, dict) else None
        if isinstance(ref, str):
            tags = frozenset(tag for tag, target in mapped.items() if target == ref)
            out[ref] = (discriminator["propertyName"], tags or frozenset({ref.rsplit("/", 1)[-1]}))
    return out


def _requires_everywhere(union: dict[str, Any], schemas: dict[str, Any]) -> bool:
    """Whether every member of ``union`` requires the discriminator's property."""
    name = union["discriminator"]["propertyName"]
    return all(_requires(member, name, schemas, frozenset()) for member in _members(union))


def _requires(schema: Any, name: str, schemas: dict[str, Any], seen: frozenset[str]) -> bool:
    """Whether ``schema`` requires the property ``name``, itself, through a ``$ref`` to a named
    schema or through one of its ``allOf``."""
    if not isinstance(schema, dict):
        return False
    ref = schema.get("$ref")
    if isinstance(ref, str):
        target = ref.removeprefix(_SCHEMAS)
        if ref.startswith(_SCHEMAS) and target not in seen:
            return _requires(schemas.get(target), name, schemas, seen | {target})
        return False
    required = schema.get("required")
    if isinstance(required, list) and name in required:
        return True
    parts = schema.get("allOf")
    return isinstance(parts, list) and any(_requires(part, name, schemas, seen) for part in parts)


def _without_discriminator(node: Any, path: Path_) -> Any:
    """``node`` with the schema at ``path`` holding no ``discriminator``."""
    if not path:
        return {key: value for key, value in node.items() if key != "discriminator"}
    head, *rest = path
    copied = list(node) if isinstance(node, list) else dict(node)
    copied[head] = _without_discriminator(node[head], tuple(rest))  # type: ignore[index]
    return copied
