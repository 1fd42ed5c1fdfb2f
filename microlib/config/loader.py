"""Load, merge and validate configuration, reporting every bad key at once.

Precedence, lowest first: the model's defaults, values given in code,
config files in the order given, environment variables, ``--set``
overrides. Layers are deep-merged: a mapping merges key by key, any other
value (a list included) replaces what was below it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from microlib.config._paths import Path, dotted, parse_dotted
from microlib.config._render import display, render
from microlib.config._schema import build_model, given_sections_validator, suggest, unknown_keys
from microlib.config._secrets import MASK, mask_secrets, mask_url_passwords
from microlib.config.errors import ConfigError, Problem
from microlib.config.model import Settings
from microlib.config.sources import (
    ConfigSource,
    EnvSource,
    FileSource,
    Layer,
    Leaf,
    MappingSource,
    OverrideSource,
    _find_leaf,
)

__all__ = ["LoadedConfig", "load_config", "load_sources", "standard_sources"]

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True, eq=False)
class LoadedConfig(Generic[M]):
    """A validated, immutable configuration and the origin of each value.

    Args:
        settings: The validated settings (a frozen model).
        leaves: Every value set by a source, by path.
    """

    settings: M
    leaves: Mapping[tuple[str, ...], Leaf]

    def origin(self, path: str) -> str:
        """Where the value at dotted ``path`` came from.

        Returns:
            ``config.yaml:12``, ``env MICROLIB__HTTP__PORT``,
            ``--set http.port=...``, ``code`` or ``default``.

        Raises:
            ValueError: ``path`` is not a valid dotted path.
        """
        return _origin_of(self.leaves, parse_dotted(path))

    def render(self, masked: bool = True) -> str:
        """The effective configuration as YAML, each value followed by ``# <origin>``.

        Args:
            masked: Replace secret values with ``**********``.
        """
        return render(self.settings, self.leaves, masked)


def load_config(
    model: type[M] = Settings,  # type: ignore[assignment]
    *,
    sections: Mapping[str, type[BaseModel]] | None = None,
    files: Sequence[str | os.PathLike[str]] = (),
    overrides: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
    env_prefix: str = "MICROLIB",
    values: Mapping[str, Any] | None = None,
) -> LoadedConfig[M]:
    """Load the configuration from every source and validate it.

    Args:
        model: The settings model (the framework's ``Settings`` by default).
        sections: User sections to add, key to model: ``{"app": AppSettings}``.
        files: YAML/TOML files, later files win.
        overrides: ``key.path=value`` texts (``--set``), later ones win.
        environ: Environment for ``<PREFIX>__*`` variables and ``${VAR}``
            references; ``os.environ`` by default.
        env_prefix: Prefix of the environment variables.
        values: Values given in code, above the model's defaults and below files.

    Returns:
        The validated configuration with the origin of each value.

    Raises:
        ConfigError: listing every problem: unreadable files, syntax errors,
            unset variables, unknown keys and invalid values.
        TypeError: ``files`` or ``overrides`` is a single string rather than a sequence.
    """
    sources = standard_sources(
        files=files, overrides=overrides, environ=environ, env_prefix=env_prefix, values=values
    )
    return load_sources(build_model(model, sections), sources)


def standard_sources(
    *,
    files: Sequence[str | os.PathLike[str]] = (),
    overrides: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
    env_prefix: str = "MICROLIB",
    values: Mapping[str, Any] | None = None,
) -> list[ConfigSource]:
    """The sources :func:`load_config` reads, lowest precedence first; reusable for reloads.

    Raises:
        TypeError: ``files`` or ``overrides`` is a single string rather than a sequence.
    """
    for name, given in (("files", files), ("overrides", overrides)):
        if isinstance(given, str | os.PathLike):
            raise TypeError(f"{name} must be a sequence, e.g. [{str(given)!r}], not a single string")
    env = os.environ if environ is None else environ
    sources: list[ConfigSource] = [MappingSource(values)] if values else []
    sources += [FileSource(path, env) for path in files]
    sources += [EnvSource(env, env_prefix), OverrideSource(overrides)]
    return sources


def load_sources(model: type[M], sources: Sequence[ConfigSource]) -> LoadedConfig[M]:
    """Merge ``sources`` (lowest precedence first) and validate against ``model``.

    Raises:
        ConfigError: listing every problem found.
    """
    layers = [source.load() for source in sources]
    problems = [problem for layer in layers for problem in layer.problems]
    for source in sources:
        if isinstance(source, EnvSource):
            problems += source.misnamed(model.model_fields)
    leaves: dict[tuple[str, ...], Leaf] = {}
    data = _unwrap(_merge(layers), (), leaves)
    keys = {path: origin for layer in layers for path, origin in layer.keys.items()}
    for path, siblings in unknown_keys(model, data):
        hint = suggest(path[-1], siblings)
        message = f"unknown key; did you mean {hint!r}?" if hint else "unknown key"
        value = _value_at(data, path)
        shown = None if isinstance(value, dict) else _shown(model, leaves, path, value)
        problems.append(Problem(dotted(path), _key_origin(leaves, keys, path), "unknown_key", message, shown))
    try:
        settings = _validate(model, data, leaves)
    except ValidationError as exc:
        reported = {problem.path for problem in problems}
        problems += [p for p in _problems(model, exc, data, leaves) if p.path not in reported]
        settings = None
    if problems or settings is None:
        raise ConfigError(sorted(problems, key=lambda problem: problem.path))
    return LoadedConfig(settings, leaves)


def _origin_of(leaves: Mapping[tuple[str, ...], Leaf], path: Path) -> str:
    """The origin of the value at ``path`` or of the list holding it; ``default`` if unset."""
    leaf = _find_leaf(leaves, path)
    return "default" if leaf is None else leaf.origin


def _problem_origin(leaves: Mapping[tuple[str, ...], Leaf], path: Path) -> str:
    """Where a refused value came from; for a section its own validator refused (a
    ``jobs.url`` that needs ``jobs.store``), where each value set in it came from."""
    leaf = _find_leaf(leaves, path)
    if leaf is not None:
        return leaf.origin
    under = dict.fromkeys(leaf.origin for key, leaf in leaves.items() if key[: len(path)] == path)
    return ", ".join(under) or "default"


def _key_origin(
    leaves: Mapping[tuple[str, ...], Leaf], keys: Mapping[tuple[str, ...], str], path: tuple[str, ...]
) -> str:
    """Where a key was set: its own origin, or for a mapping where its key was set (a file's
    line), else where its first value was."""
    leaf = _find_leaf(leaves, path)
    if leaf is None and path in keys:
        return keys[path]
    if leaf is None:
        leaf = next((leaf for key, leaf in leaves.items() if key[: len(path)] == path), None)
    return "default" if leaf is None else leaf.origin


def _merge(layers: Sequence[Layer]) -> dict[str, Any]:
    """The layers' trees merged, later ones winning: a mapping merges key by key, a
    leaf replaces whatever was below it (a mapping too), and a mapping replaces a leaf.

    omegaconf's ``OmegaConf.merge`` did this until its import (its grammar
    parser) cost a service's start more than the rest of the configuration
    together (docs/adr/0012-hand-written-replacements.md).
    """
    merged: dict[str, Any] = {}
    for layer in layers:
        merged = _merged(merged, layer.tree)
    return merged


def _merged(lower: dict[str, Any], upper: dict[str, Any]) -> dict[str, Any]:
    """A new mapping: neither input is changed, so each layer can be merged again on reload."""
    result = dict(lower)
    for key, node in upper.items():
        if isinstance(node, dict):
            below = result.get(key)
            result[key] = _merged(below if isinstance(below, dict) else {}, node)
        else:
            result[key] = node
    return result


def _unwrap(
    tree: dict[Any, Any], path: tuple[str, ...], leaves: dict[tuple[str, ...], Leaf]
) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, node in tree.items():
        here = (*path, str(key))
        if isinstance(node, Leaf):
            leaves[here] = node
            data[str(key)] = node.value
        elif isinstance(node, dict):
            data[str(key)] = _unwrap(node, here, leaves)
        else:
            data[str(key)] = node
    return data


def _validate(model: type[M], data: dict[str, Any], leaves: Mapping[tuple[str, ...], Leaf]) -> M:
    """Validate; a value typed from env or ``--set`` text is retried as text where a string is wanted."""
    validate = given_sections_validator(model, frozenset(data))
    try:
        return validate(data)
    except ValidationError as exc:
        retried = False
        for error in exc.errors():
            path = tuple(str(part) for part in error["loc"])
            leaf = leaves.get(path)
            if error["type"] == "string_type" and leaf is not None and leaf.raw is not None:
                _set(data, path, leaf.raw)
                retried = True
        if not retried:
            raise
    return validate(data)


def _problems(
    model: type[BaseModel], exc: ValidationError, data: dict[str, Any], leaves: Mapping[tuple[str, ...], Leaf]
) -> list[Problem]:
    by_path: dict[str, Problem] = {}
    for error in exc.errors(include_url=False):
        # A missing field, or a default a validator refused (a backoff cap below its start),
        # is named itself rather than the section holding it.
        path = _data_path(error["loc"], data, missing=error["type"] in ("missing", "value_error"))
        name = dotted(path)
        message = mask_url_passwords(error["msg"])  # a validator's message may quote a URL
        if error["loc"][-1:] == ("[key]",):
            message = f"invalid key: {message}"
        if name in by_path:
            previous = by_path[name]
            by_path[name] = Problem(
                name, previous.source, previous.rule, f"{previous.message}; or {message}", previous.value
            )
            continue
        if error["type"] == "missing":
            by_path[name] = Problem(name, "not set", "missing", message)
            continue
        value = _shown(model, leaves, path, error["input"])
        by_path[name] = Problem(name, _problem_origin(leaves, path), error["type"], message, value)
    return list(by_path.values())


def _data_path(loc: tuple[int | str, ...], data: Any, *, missing: bool) -> Path:
    """The part of pydantic's ``loc`` that names real keys (drops union tags and ``[key]``)."""
    path: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and str(part) in node:
            node = node[str(part)]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        elif missing and len(path) == len(loc) - 1:
            path.append(part)
            break
        else:
            break
        path.append(part)
    return tuple(path)


def _shown(model: type[BaseModel], leaves: Mapping[tuple[str, ...], Leaf], path: Path, value: Any) -> str:
    leaf = _find_leaf(leaves, path)
    shown = mask_secrets(model, path, value, leaf is not None and leaf.sensitive)
    return MASK if shown is MASK else display(shown)


def _value_at(data: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        data = data[key]
    return data


def _set(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
