"""Model questions: reloadable paths, unknown keys in nested models, secret names, dotted paths."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import BaseModel, SecretStr

from microlib.config import ConfigError, Reloadable, Section, Settings, changed_paths, load_config
from microlib.config._paths import dotted, parse_dotted
from microlib.config._schema import is_reloadable
from microlib.config._secrets import is_secret_name


class Limit(Section):
    """A nested user model."""

    rate: int = 10
    burst: int = 20


class Limits(Section):
    """A user section with reloadable parts."""

    per_route: Annotated[dict[str, Limit], Reloadable()] = {}
    default: Annotated[Limit, Reloadable()] | None = None
    pool_size: int = 5
    client_secret: SecretStr | None = None


def test_a_reloadable_mapping_or_model_covers_its_children() -> None:
    """Paths under a Reloadable field are reloadable; others are not."""
    model = type(load_config(Settings, sections={"limits": Limits}, environ={}).settings)
    assert is_reloadable(model, ("logging", "level"))
    assert is_reloadable(model, ("logging", "levels", "uvicorn.access"))
    assert is_reloadable(model, ("features", "anything"))
    assert is_reloadable(model, ("limits", "per_route", "/orders", "rate"))
    assert is_reloadable(model, ("limits", "default", "burst"))
    assert not is_reloadable(model, ("limits", "pool_size"))
    assert not is_reloadable(model, ("http", "port"))


def test_changed_paths_descend_into_mappings() -> None:
    """Only the leaves that differ are reported, with added and removed mapping keys."""
    old = load_config(
        Settings, sections={"limits": Limits}, environ={"MICROLIB__FEATURES__A": "true"}
    ).settings
    new = load_config(
        Settings,
        sections={"limits": Limits},
        environ={"MICROLIB__FEATURES__B": "true", "MICROLIB__LIMITS__PER_ROUTE": "{x: {rate: 1}}"},
    ).settings
    assert changed_paths(old, new) == [("features", "a"), ("features", "b"), ("limits", "per_route", "x")]


def test_unknown_keys_inside_nested_models_and_mapping_values() -> None:
    """A typo inside a model held in a mapping is found, with a suggestion."""
    environ = {"MICROLIB__LIMITS__PER_ROUTE": "{x: {rat: 1}}", "MICROLIB__LIMITS__DEFAULT": "{burts: 1}"}
    with pytest.raises(ConfigError) as caught:
        load_config(Settings, sections={"limits": Limits}, environ=environ)
    found = {p.path: p.message for p in caught.value.problems}
    assert found == {
        "limits.per_route.x.rat": "unknown key; did you mean 'rate'?",
        "limits.default.burts": "unknown key; did you mean 'burst'?",
    }


def test_extra_allow_models_accept_any_key() -> None:
    """A user model that allows extra keys gets no unknown-key errors."""

    class Open(BaseModel, extra="allow"):
        known: int = 1

    loaded = load_config(Settings, sections={"open": Open}, environ={"MICROLIB__OPEN__OTHER": "2"})
    assert loaded.settings.open.other == 2  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("password", True),
        ("db_password", True),
        ("dbpassword", True),
        ("api-key", True),
        ("authToken", True),
        ("client_secret", True),
        ("keepalive_timeout", False),
        ("monkey", False),
        ("host", False),
    ],
)
def test_secret_names(key: str, secret: bool) -> None:
    """Keys are split into words; a secret word or suffix marks the value secret."""
    assert is_secret_name(key) is secret


@pytest.mark.parametrize(
    "path", [("a", "b"), ("logging", "levels", "uvicorn.access"), ("hosts", 0, "x"), ('q"d',)]
)
def test_dotted_paths_round_trip(path: tuple[str | int, ...]) -> None:
    """`parse_dotted(dotted(p)) == p`, quoting keys with dots or quotes."""
    assert parse_dotted(dotted(path)) == path


def _section_defaults(model: type[BaseModel]) -> list[tuple[str, BaseModel]]:
    """Every default that is itself a section, at any depth, with its dotted path."""
    found: list[tuple[str, BaseModel]] = []
    for name, field in model.model_fields.items():
        default = field.get_default(call_default_factory=True)
        if isinstance(default, Section):
            found.append((name, default))
            found += [(f"{name}.{path}", nested) for path, nested in _section_defaults(type(default))]
    return found


def test_each_section_default_is_the_validated_empty_section() -> None:
    """The framework's section defaults skip validation at import (so starting a
    service compiles no validator it does not use); each must still be exactly
    what validating an empty section gives, after-validators included."""
    defaults = _section_defaults(Settings)
    assert len(defaults) > 20
    for path, default in defaults:
        assert default == type(default).model_validate({}), path


def test_every_section_knows_its_field_types_without_being_built() -> None:
    """Sections build their validators on first use; their field types must still be
    resolved at import (a section named before it is defined would stay a string), since
    unknown-key hints and the reloadable and secret checks read them."""
    import microlib.config.model as model

    sections = [v for v in vars(model).values() if isinstance(v, type) and issubclass(v, Section)]
    assert len(sections) > 30
    assert [s.__name__ for s in sections if not s.__pydantic_fields_complete__] == []
