"""Every package declares its public API: sorted, importable, documented."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import microlib

PACKAGES = sorted(
    name
    for _, name, is_package in pkgutil.walk_packages(microlib.__path__, "microlib.")
    if is_package and "._" not in name
)


def _isort_key(name: str) -> tuple[int, str]:
    """The order ruff's RUF022 keeps: CONSTANTS, then Classes, then functions."""
    if name.isupper():
        return (0, name)
    return (1 if name[0].isupper() else 2, name)


@pytest.mark.parametrize("name", ["microlib", *PACKAGES])
def test_all_is_sorted_and_every_name_is_documented(name: str) -> None:
    """__all__ exists, is sorted, and each public name exists and has a docstring."""
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{name} has no __all__"
    assert list(exported) == sorted(exported, key=_isort_key), f"{name}.__all__ is not sorted"
    for attr in exported:
        value = getattr(module, attr)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), f"{name}.{attr} has no docstring"
