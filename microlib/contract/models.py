"""The bases of the pydantic models ``microlib codegen`` generates.

A contract may hold thousands of schemas (GitHub's REST API description: 6,667 models), and a
service reaches a few of them per request. Each generated model derives from :class:`GeneratedModel`
or :class:`GeneratedRootModel`, which pydantic builds at their first use (``defer_build``: the first
validation, dump or JSON Schema), not when the generated ``models.py`` is imported.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, RootModel

__all__ = ["GeneratedModel", "GeneratedRootModel"]

_Root = TypeVar("_Root")


class GeneratedModel(BaseModel):
    """What every generated model derives from: built at its first use."""

    model_config = ConfigDict(defer_build=True)


class GeneratedRootModel(RootModel[_Root], Generic[_Root]):
    """What every generated root model derives from: built at its first use, as
    :class:`GeneratedModel` (a ``RootModel[list[Label]]`` is a class of its own, which pydantic
    builds when it is written, and with it every model it holds)."""

    model_config = ConfigDict(defer_build=True)
