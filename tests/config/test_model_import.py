"""``microlib.config.model`` is written for a cheap import; it must mean what the plain writing meant.

The module evaluates its annotations eagerly (no ``from __future__ import
annotations``) and gives list and dict fields Python functions as default
factories rather than ``list`` and ``dict`` (pydantic reads a builtin's
signature from its text). These tests rebuild the module as it would be
written plainly, with postponed annotations and the builtins, and hold every
section of the two to the same fields, JSON Schema and validation results.
"""

from __future__ import annotations

import importlib.util
import itertools
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

import microlib.config.model as model

_PLAIN = "microlib.config._model_written_plainly"


def _written_plainly() -> ModuleType:
    """``microlib.config.model`` with postponed annotations and builtin default factories."""
    source = Path(model.__file__).read_text(encoding="utf-8")
    plain = source.replace("default_factory=_no_items)", "default_factory=list)")
    plain = plain.replace("default_factory=_no_entries)", "default_factory=dict)")
    assert plain.count("default_factory=list)") > 10
    assert plain.count("default_factory=dict)") > 5
    spec = importlib.util.spec_from_loader(_PLAIN, loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[_PLAIN] = module  # pydantic resolves the postponed annotations in it
    try:
        exec(compile("from __future__ import annotations\n" + plain, model.__file__, "exec"), vars(module))
    except BaseException:
        del sys.modules[_PLAIN]
        raise
    return module


@pytest.fixture(scope="module")
def plain() -> Iterator[ModuleType]:
    module = _written_plainly()
    yield module
    del sys.modules[_PLAIN]


def _sections(module: ModuleType) -> dict[str, type[BaseModel]]:
    return {
        name: value
        for name, value in vars(module).items()
        if isinstance(value, type) and issubclass(value, BaseModel) and value.__module__ == module.__name__
    }


def _shown(value: Any) -> str:
    """``repr`` without the module's name or object addresses (markers such as ``NotSecret``)."""
    return re.sub(r" object at 0x[0-9a-f]+", " object", repr(value).replace(_PLAIN, model.__name__))


def test_every_section_has_the_fields_and_schema_of_the_plain_writing(plain: ModuleType) -> None:
    """Field by field (annotation, default, constraints, factory result) and the JSON Schema
    in both modes: the same as with postponed annotations and ``list``/``dict`` factories."""
    ours, theirs = _sections(model), _sections(plain)
    assert sorted(ours) == sorted(theirs)
    assert len(ours) > 30
    for name, section in ours.items():
        other = theirs[name]
        assert list(section.model_fields) == list(other.model_fields), name
        for field_name, field in section.model_fields.items():
            twin = other.model_fields[field_name]
            where = f"{name}.{field_name}"
            assert _shown(field.annotation) == _shown(twin.annotation), where
            assert _shown(field.metadata) == _shown(twin.metadata), where
            assert field.is_required() == twin.is_required(), where
            assert (field.default_factory is None) == (twin.default_factory is None), where
            made = field.get_default(call_default_factory=True)
            made_too = twin.get_default(call_default_factory=True)
            assert type(made).__name__ == type(made_too).__name__, where
            if not isinstance(made, BaseModel):
                assert made == made_too, where
            if field.default_factory is not None:  # a new value on each call, never a shared one
                assert field.get_default(call_default_factory=True) is not made or made is None, where
        for mode in ("validation", "serialization"):
            schema = section.model_json_schema(mode=mode)
            assert schema == other.model_json_schema(mode=mode), (name, mode)


_VALUES: tuple[Any, ...] = (
    None,
    True,
    0,
    1,
    -1,
    2.5,
    "",
    "x",
    "info",
    "http://host:1/path",
    "0.0.0.0",
    [],
    ["a"],
    [{"name": "x"}],
    {},
    {"a": "b"},
    {"a": True},
)


def _inputs(section: type[BaseModel]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each field of each section of the settings tree set to each of a pool of values."""
    for key, field in section.model_fields.items():
        annotation = field.annotation
        for value in _VALUES:
            yield key, {key: value}
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            for inner, data in _inputs(annotation):
                yield f"{key}.{inner}", {key: data}


def _outcome(section: type[BaseModel], data: dict[str, Any]) -> Any:
    try:
        return section.model_validate(data).model_dump(mode="json")
    except ValidationError as exc:
        return [(e["loc"], e["type"], e["msg"]) for e in exc.errors(include_url=False)]


def test_the_settings_validate_every_input_as_the_plain_writing_does(plain: ModuleType) -> None:
    """Thousands of one-field settings trees, each validated by both: the same settings,
    or the same errors."""
    checked = 0
    for (where, data), expected in itertools.zip_longest(_inputs(model.Settings), _inputs(plain.Settings)):
        assert where == expected[0]
        assert _outcome(model.Settings, data) == _outcome(plain.Settings, expected[1]), (where, data)
        checked += 1
    assert checked > 3000


def test_no_section_field_reads_a_builtin_factory_or_a_postponed_annotation() -> None:
    """The cheap writing stays: no ``list``/``dict`` (or other class) as a default factory,
    and the annotations are objects, not text for pydantic to compile."""
    for name, section in _sections(model).items():
        for field_name, field in section.model_fields.items():
            assert not isinstance(field.default_factory, type), f"{name}.{field_name}"
        annotations = vars(section).get("__annotations__", {})
        assert [a for a in annotations.values() if isinstance(a, str)] == [], name
