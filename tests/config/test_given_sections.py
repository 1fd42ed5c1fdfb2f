"""Validating only the given sections' schemas gives what validating the whole model gives.

``given_sections_validator`` types the sections the data leaves out ``Any``
(with their defaults), so a start compiles the schemas of the sections it sets
only. Held here to ``model.model_validate`` over thousands of inputs: the same
settings (values, their identity with the defaults, the fields set) or the same
``ValidationError``, text and all.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from microlib.config import Section, Settings
from microlib.config._schema import build_model, given_sections_validator


class Limits(Section):
    """A user section with a validator and a nested model."""

    rate: int = Field(default=10, ge=1)
    burst: int = 20
    hosts: list[str] = []
    tags: dict[str, str] = Field(default_factory=dict)

    @field_validator("burst")
    @classmethod
    def _not_below_rate(cls, value: int) -> int:
        if value < 1:
            raise ValueError("burst must be positive")
        return value


class Account(BaseModel):
    """A user section that must be configured (a required field), not frozen."""

    user: str
    region: str = "eu"


class WithDerived(Section):
    """A model whose last field's default is made from the fields validated before it."""

    limits: Limits = Limits()
    account: Account | None = None
    label: str = Field(default_factory=lambda data: f"{data['limits'].rate}-{data['account']}")
    port: int = Field(default="8080", validate_default=True)  # type: ignore[assignment]


class Ignoring(BaseModel):
    """A model with pydantic's default config: unknown keys are dropped, values not frozen."""

    limits: Limits = Limits()
    account: Account | None = None
    level: str = "info"


_VALUES: tuple[Any, ...] = (
    None,
    True,
    0,
    1,
    -1,
    2.5,
    "",
    "x",
    "warning",
    "http://host:1/path",
    [],
    ["a"],
    [{"name": "x"}],
    {},
    {"a": "b"},
    {"rate": 0},
)


def _inputs(model: type[BaseModel]) -> Iterator[dict[str, Any]]:
    """Each field of each section set to each of a pool of values, alone and next to another section's."""
    yield {}
    yield {"nonsense": 1}
    sections = list(model.model_fields)
    for key, field in model.model_fields.items():
        annotation = field.annotation
        for value in _VALUES:
            yield {key: value}
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            for inner in _inputs(annotation):
                yield {key: inner}
            yield {key: {}, "logging": {"level": "debug"}, "nonsense": {}}
    for first, second in itertools.pairwise(sections):
        yield {first: {}, second: {}}


def _outcome(validate: Any, data: dict[str, Any], defaults: dict[str, Any]) -> Any:
    try:
        settings = validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        return ("error", str(exc), repr(errors), exc.errors(include_url=False, include_context=False))
    values = settings.__dict__
    return (
        type(settings),
        values,
        list(values),
        settings.model_fields_set,
        settings.__pydantic_extra__,
        settings.__pydantic_private__,
        # The default objects themselves where validation keeps them, copies where it copies.
        {name: values[name] is default for name, default in defaults.items()},
    )


@pytest.mark.parametrize(
    "model",
    [
        build_model(Settings, None),
        build_model(Settings, {"limits": Limits}),
        build_model(Settings, {"limits": Limits, "account": Account}),
        WithDerived,
        Ignoring,
    ],
    ids=[
        "framework",
        "optional user section",
        "required user section",
        "default made from data",
        "extra ignored",
    ],
)
def test_the_given_sections_validate_as_the_whole_model_does(model: type[BaseModel]) -> None:
    defaults = {name: f.default for name, f in model.model_fields.items() if f.default_factory is None}
    checked = 0
    # In order of the sections given, so that each set's model is built once.
    for data in sorted(_inputs(model), key=lambda data: sorted(data)):
        sparse = given_sections_validator(model, frozenset(data))
        assert _outcome(sparse, data, defaults) == _outcome(model.model_validate, data, defaults), data
        checked += 1
    assert checked > (2000 if issubclass(model, Settings) else 100)


def test_a_start_compiles_only_the_given_sections_schemas() -> None:
    model = build_model(Settings, {"limits": Limits})
    settings = given_sections_validator(model, frozenset({"http"}))({"http": {"port": 8081}})
    assert settings.http.port == 8081
    assert not model.__pydantic_complete__  # the whole model's validator was never built


class _Checked(Section):
    value: int = 1

    @model_validator(mode="after")
    def _odd(self) -> _Checked:
        return self


@pytest.mark.parametrize(
    "model",
    [
        Settings,
        _Checked,
        type("Aliased", (BaseModel,), {"__annotations__": {"value": int}, "value": Field(1, alias="v")}),
        type("Kept", (BaseModel,), {"__annotations__": {"value": int}, "model_config": {"extra": "allow"}}),
    ],
    ids=["plain", "model validator", "alias", "extra allowed"],
)
def test_a_model_it_cannot_mirror_is_validated_whole(model: type[BaseModel]) -> None:
    validate = given_sections_validator(model, frozenset({"value"}))
    mirrored = model is Settings
    assert (validate == model.model_validate) is not mirrored
