"""``${ENV_VAR}``, ``${ENV_VAR:default}``, ``${resolver:arg}`` and ``$${`` escapes."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from microlib.config.resolvers import _NAME as _RESOLVER_NAME
from microlib.config.resolvers import get_resolver

__all__ = ["InterpolationError", "interpolate"]

_REFERENCE = re.compile(r"\$\$\{|\$\{([^}]*)\}")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class InterpolationError(Exception):
    """A reference could not be resolved; the message names it."""


def interpolate(value: Any, environ: Mapping[str, str]) -> tuple[Any, bool]:
    """Resolve the references in every string inside ``value``.

    Returns:
        The resolved value, and whether a sensitive resolver produced part of it.

    Raises:
        InterpolationError: a variable is unset without a default, a
            reference is malformed, or a resolver failed.
    """
    if isinstance(value, str):
        return _interpolate_text(value, environ)
    if isinstance(value, list):
        resolved = [interpolate(item, environ) for item in value]
        return [item for item, _ in resolved], any(sensitive for _, sensitive in resolved)
    if isinstance(value, dict):
        pairs = {key: interpolate(item, environ) for key, item in value.items()}
        return {key: item for key, (item, _) in pairs.items()}, any(s for _, s in pairs.values())
    return value, False


def _interpolate_text(text: str, environ: Mapping[str, str]) -> tuple[str, bool]:
    sensitive = False

    def replace(match: re.Match[str]) -> str:
        nonlocal sensitive
        if match.group(1) is None:
            return "${"
        body = match.group(1)
        name, has_default, arg = body.partition(":")
        resolver = get_resolver(name)
        if resolver is not None:
            try:
                result = resolver.resolve(arg)
            except Exception as exc:
                raise InterpolationError(f"resolver {name!r} failed for ${{{body}}}: {exc}") from exc
            sensitive = sensitive or resolver.sensitive
            return result
        if not _ENV_NAME.match(name):
            raise InterpolationError(f"malformed reference ${{{body}}}")
        if name in environ:
            return environ[name]
        if _RESOLVER_NAME.match(name):
            # A lowercase name is almost always a resolver whose package was not
            # imported; falling back to the default would hide that.
            raise InterpolationError(
                f"no resolver named {name!r} is registered and environment variable {name} is not set"
            )
        if has_default:
            return arg
        raise InterpolationError(f"environment variable {name} is not set and ${{{name}}} has no default")

    return _REFERENCE.sub(replace, text), sensitive
