"""Show configuration values: one value inline, or the whole config as YAML."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, SecretBytes, SecretStr
from pydantic_core import to_jsonable_python

from microlib.config._secrets import mask_secrets
from microlib.config.sources import Leaf, _find_leaf

__all__ = ["display", "render"]

_MAX_SHOWN = 120
_COMMENT_COLUMN = 40


def display(value: Any) -> str:
    """``value`` as a one-line YAML flow value, shortened if long."""
    text = _flow(to_jsonable_python(value, fallback=str))
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def render(settings: BaseModel, leaves: Mapping[tuple[str, ...], Leaf], masked: bool) -> str:
    """The settings as YAML, each value followed by ``# <origin>``."""
    lines: list[str] = []
    _emit(type(settings), settings.model_dump(mode="python"), (), leaves, masked, lines)
    return "\n".join(lines) + "\n"


def _emit(
    model: type[BaseModel],
    data: Mapping[str, Any],
    path: tuple[str, ...],
    leaves: Mapping[tuple[str, ...], Leaf],
    masked: bool,
    lines: list[str],
) -> None:
    indent = "  " * len(path)
    for key, value in data.items():
        here = (*path, str(key))
        if isinstance(value, Mapping) and value:
            lines.append(f"{indent}{_flow(str(key))}:")
            _emit(model, value, here, leaves, masked, lines)
            continue
        leaf = _find_leaf(leaves, here)
        if masked:
            # Lists are shown inline: their items are masked by their own paths.
            value = mask_secrets(model, here, value, leaf is not None and leaf.sensitive)
        shown = _flow(_reveal(value))  # the mask comes out quoted: a bare leading * is a YAML alias
        text = f"{indent}{_flow(str(key))}: {shown}"
        origin = "default" if leaf is None else leaf.origin
        lines.append(f"{text.ljust(_COMMENT_COLUMN - 1)} # {origin}")


def _reveal(value: Any) -> Any:
    if isinstance(value, SecretStr | SecretBytes):
        secret = value.get_secret_value()
        return secret.decode(errors="replace") if isinstance(secret, bytes) else secret
    if isinstance(value, Mapping):
        return {key: _reveal(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_reveal(item) for item in value]
    return to_jsonable_python(value, fallback=str)


def _flow(value: Any) -> str:
    import yaml  # here: only a config error or `microlib config` shows values, and PyYAML is slow to import

    text = yaml.safe_dump(value, default_flow_style=True, width=1 << 30, allow_unicode=True, sort_keys=False)
    return text.removesuffix("\n").removesuffix("\n...").strip()
