"""Questions about the settings model: sections, unknown keys, reloadable and secret fields."""

from __future__ import annotations

import dataclasses
import functools
import re
import types
from collections.abc import Callable, Mapping
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, SecretBytes, SecretStr, create_model
from pydantic.fields import FieldInfo

from microlib.config.model import NotSecret, Reloadable

__all__ = [
    "build_model",
    "check_sections",
    "given_sections_validator",
    "is_declared_not_secret",
    "is_reloadable",
    "is_secret_type",
    "suggest",
    "unknown_keys",
]

M = TypeVar("M", bound=BaseModel)

_SECTION_KEY = re.compile(r"^[a-z][a-z0-9_]*$")


def build_model(model: type[M], sections: Mapping[str, type[BaseModel]] | None) -> type[M]:
    """``model`` extended with one field per user section.

    A section class that is not frozen is subclassed into a frozen one, so
    every snapshot is immutable. A section whose fields all have defaults
    defaults to its empty instance; otherwise it is required.

    Raises:
        TypeError: a section is not a pydantic model.
        ValueError: a key is not lowercase or clashes with a framework section.
    """
    if not sections:
        return model
    check_sections(model, sections)
    fields: dict[str, Any] = {}
    for key, section in sections.items():
        frozen = _frozen(section)
        required = any(field.is_required() for field in frozen.model_fields.values())
        fields[key] = (frozen, ... if required else Field(default_factory=frozen))
    combined: type[M] = create_model(model.__name__, __base__=model, __module__=model.__module__, **fields)
    return combined


def check_sections(model: type[BaseModel], sections: Mapping[str, type[BaseModel]]) -> None:
    """Check that ``sections`` can extend ``model`` (see :func:`build_model`).

    Raises:
        TypeError: a section is not a pydantic model.
        ValueError: a key is not lowercase or clashes with a framework section.
    """
    for key, section in sections.items():
        if not (isinstance(section, type) and issubclass(section, BaseModel)):
            raise TypeError(f"section {key!r} must be a pydantic BaseModel subclass, got {section!r}")
        if not _SECTION_KEY.match(key):
            raise ValueError(f"section key {key!r} must match {_SECTION_KEY.pattern}")
        if key in model.model_fields:
            raise ValueError(f"section key {key!r} is microlib's own section: name yours differently")


def given_sections_validator(model: type[M], given: frozenset[str]) -> Callable[[Any], M]:
    """``model.model_validate`` for data whose top-level keys are ``given``, compiling only their schemas.

    A model's validator compiles the schema of every section (about 2.5% of a
    service's start) though a start sets a handful; the others take their
    defaults, which validation leaves unchecked. So the data is validated by
    a model of the same fields in which those others are typed ``Any`` with the
    same default: the given, required and validated-by-default fields keep
    their types, so the same values and errors come out (in the same order),
    and its values move into a ``model`` as they are (``model_construct`` given
    every field adds nothing). A model this cannot mirror exactly (validators
    or serializers of its own, ``model_post_init``, aliases, extra fields kept,
    defaults validated) is validated whole.
    """
    if not _mirrorable(model):
        return model.model_validate
    partial = _given_sections_model(model, given)

    def validate(data: Any) -> M:
        validated = partial.model_validate(data)
        return model.model_construct(validated.model_fields_set, **validated.__dict__)

    return validate


def _mirrorable(model: type[BaseModel]) -> bool:
    decorators = model.__pydantic_decorators__
    config = model.model_config
    return (
        not any(getattr(decorators, kind.name) for kind in dataclasses.fields(decorators))
        and model.__pydantic_post_init__ is None
        and config.get("extra") != "allow"
        and not config.get("validate_default")
        and not config.get("populate_by_name")
        and all(f.alias is None and f.validation_alias is None for f in model.model_fields.values())
    )


@functools.lru_cache(maxsize=32)  # one per model and set of given sections: a reload reuses it
def _given_sections_model(model: type[BaseModel], given: frozenset[str]) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        if name in given or field.is_required() or field.validate_default:
            fields[name] = (field.annotation, field)
        elif field.default_factory is not None:
            fields[name] = (Any, Field(default_factory=field.default_factory))
        else:
            fields[name] = (Any, Field(default=field.default))
    return create_model(model.__name__, __config__=model.model_config, __module__=model.__module__, **fields)


def _frozen(section: type[BaseModel]) -> type[BaseModel]:
    if section.model_config.get("frozen"):
        return section
    namespace = {
        "__module__": section.__module__,
        "__qualname__": section.__qualname__,
        "__doc__": section.__doc__,
        "model_config": ConfigDict(frozen=True),
    }
    return type(section.__name__, (section,), namespace)


def unknown_keys(model: type[BaseModel], data: Any) -> list[tuple[tuple[str, ...], list[str]]]:
    """Every key of ``data`` that no model field accepts, with its sibling field names.

    Models configured with ``extra="allow"`` accept any key.
    """
    found: list[tuple[tuple[str, ...], list[str]]] = []
    _collect_unknown(model, data, (), found)
    return found


def _collect_unknown(
    annotation: Any, data: Any, path: tuple[str, ...], found: list[tuple[tuple[str, ...], list[str]]]
) -> None:
    target = _strip(annotation)
    if not isinstance(data, dict):
        return
    if isinstance(target, type) and issubclass(target, BaseModel):
        names = _field_names(target)
        for key, value in data.items():
            field = _field(target, key)
            if field is None:
                if target.model_config.get("extra") != "allow":
                    found.append(((*path, key), sorted(names)))
                continue
            _collect_unknown(field.annotation, value, (*path, key), found)
    elif get_origin(target) in (dict, Mapping) and len(get_args(target)) == 2:
        for key, value in data.items():
            _collect_unknown(get_args(target)[1], value, (*path, key), found)


def suggest(word: str, candidates: list[str]) -> str | None:
    """The candidate closest to ``word``, if one is close enough to be a typo."""
    import difflib  # only a configuration error asks: a valid one never loads it

    matches = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return matches[0] if matches else None


def is_reloadable(model: type[BaseModel], path: tuple[str | int, ...]) -> bool:
    """Whether ``path`` lies under a field marked ``Reloadable()``."""
    fields, _ = _walk(model, path)
    return any(isinstance(item, Reloadable) for field in fields for item in _metadata(field))


def is_declared_not_secret(model: type[BaseModel], path: tuple[str | int, ...]) -> bool:
    """Whether the last field on ``path`` is marked ``NotSecret()``."""
    fields, _ = _walk(model, path)
    return bool(fields) and any(isinstance(item, NotSecret) for item in _metadata(fields[-1]))


def is_secret_type(model: type[BaseModel], path: tuple[str | int, ...]) -> bool:
    """Whether the value at ``path`` is declared ``SecretStr`` or ``SecretBytes``."""
    _, annotation = _walk(model, path)
    target = _strip(annotation)
    return isinstance(target, type) and issubclass(target, SecretStr | SecretBytes)


def _walk(model: type[BaseModel], path: tuple[str | int, ...]) -> tuple[list[FieldInfo], Any]:
    """The fields met along ``path`` and the declared type at its end (None if unknown)."""
    fields: list[FieldInfo] = []
    annotation: Any = model
    for key in path:
        target = _strip(annotation)
        origin = get_origin(target)
        if isinstance(target, type) and issubclass(target, BaseModel):
            field = _field(target, key) if isinstance(key, str) else None
            if field is None:
                return fields, None
            fields.append(field)
            annotation = field.annotation
        elif origin in (dict, Mapping) and len(get_args(target)) == 2:
            annotation = get_args(target)[1]
        elif origin in (list, tuple, set, frozenset) and get_args(target):
            annotation = get_args(target)[0]
        else:
            return fields, None
    return fields, annotation


def _field(model: type[BaseModel], key: str) -> FieldInfo | None:
    field = model.model_fields.get(key)
    if field is not None:
        return field
    return next((f for f in model.model_fields.values() if f.alias == key), None)


def _field_names(model: type[BaseModel]) -> set[str]:
    names = set(model.model_fields)
    names.update(f.alias for f in model.model_fields.values() if f.alias)
    return names


def _metadata(field: FieldInfo) -> list[Any]:
    # Annotated[...] inside an Optional keeps its metadata on the union member.
    items = list(field.metadata)
    for member in get_args(field.annotation) if _is_union(field.annotation) else ():
        if get_origin(member) is Annotated:
            items.extend(get_args(member)[1:])
    return items


def _strip(annotation: Any) -> Any:
    """Remove ``Annotated`` and ``| None`` wrappers around a single type."""
    while True:
        if get_origin(annotation) is Annotated:
            annotation = get_args(annotation)[0]
        elif _is_union(annotation):
            members = [m for m in get_args(annotation) if m is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def _is_union(annotation: Any) -> bool:
    return get_origin(annotation) in (Union, types.UnionType)
