"""The defaults the pages' settings tables give are the model's: a row `| key | default | ... |`
whose default is a literal (`8080`, `true`, `null`, `"memory://"`, `[]`) must equal the field's."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from microlib.config import Reloadable
from tests.docs._blocks import DOCS, ROOT
from tests.docs.test_names import SETTINGS

_ROW = re.compile(r"^\|(.+)\|\s*$")
_RULE = re.compile(r"^\|[-| :]+\|\s*$")
_NONE = ("null", "none", "unset", "no ")
_LITERAL = re.compile(r"`([^`]*)`|(-?\d+(?:\.\d+)?(?: [KMG]iB)?)(?![\w.])|(true|false)\b", re.IGNORECASE)
_UNITS = {"KiB": 2**10, "MiB": 2**20, "GiB": 2**30}
_SKIP = object()


def _tables(text: str) -> Iterator[tuple[list[str], list[tuple[int, list[str]]]]]:
    """Each table's lower-cased header and its rows (line number, cells)."""
    lines = text.splitlines()
    i = 0
    while i < len(lines) - 1:
        if _ROW.match(lines[i]) and _RULE.match(lines[i + 1]):
            head = [c.strip().lower() for c in lines[i].strip().strip("|").split("|")]
            rows, i = [], i + 2
            while i < len(lines) and _ROW.match(lines[i]):
                rows.append((i + 1, [c.strip() for c in re.split(r"(?<!\\)\|", lines[i].strip().strip("|"))]))
                i += 1
            yield head, rows
        else:
            i += 1


def _walk(path: str) -> FieldInfo | None:
    """The field at dotted ``path`` through nested models only (not a mapping's keys), or None."""
    current: Any = SETTINGS
    field = None
    for part in path.split("."):
        if current is None or part not in current.model_fields:
            return None
        field = current.model_fields[part]
        current = next(iter(_models_in(field.annotation)), None)
    return field


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The models a field holds: itself, or inside Optional or list."""
    held = (annotation, *getattr(annotation, "__args__", ()))
    return [a for a in held if isinstance(a, type) and issubclass(a, BaseModel)]


def _field(path: str) -> Any:
    """The default of the field at dotted ``path``, or _SKIP where it is not one field's."""
    field = _walk(path)
    if field is None:
        return _SKIP
    if field.default_factory is not None:
        return field.default_factory()  # type: ignore[call-arg]
    return _SKIP if field.default is PydanticUndefined else field.default


def _prefix(keys: list[str]) -> str | None:
    """The section a table of relative keys (`pool_size`) describes: the one that has them all."""
    if all(_walk(k) for k in keys):
        return ""
    found = [p for p in _sections() if all(_walk(f"{p}.{k}") for k in keys)]
    return found[0] if len(found) == 1 else None


def _sections(model: type[BaseModel] = SETTINGS, prefix: str = "") -> Iterator[str]:
    for name in model.model_fields:
        for inner in _models_in(model.model_fields[name].annotation):
            yield f"{prefix}{name}"
            yield from _sections(inner, f"{prefix}{name}.")


def _literal(cell: str, default: Any) -> Any:
    """The value ``cell`` gives, in the default's type, or _SKIP when it gives prose."""
    if default is None:
        return None if cell.strip("`").lower().startswith(_NONE) else _SKIP
    match = _LITERAL.match(cell)
    if match is None:
        return _SKIP
    text = next(g for g in match.groups() if g is not None)
    if isinstance(default, bool):
        return {"true": True, "false": False}.get(text.lower(), _SKIP)
    if isinstance(default, int | float):
        number, _, unit = text.partition(" ")
        try:
            return float(number) * _UNITS.get(unit, 1)
        except ValueError:
            return _SKIP
    if isinstance(default, list | dict):
        return {"[]": [], "{}": {}}.get(text, _SKIP)
    return text.strip("\"'")


def _siblings(keys: list[str]) -> list[str]:
    """A cell's keys in full: after `grpc.keepalive.time`, `.timeout` and `max_connection_age` are
    `grpc.keepalive.timeout` and `grpc.keepalive.max_connection_age`."""
    parent = keys[0].rpartition(".")[0] if keys else ""
    if not parent:
        return keys
    return [keys[0]] + [
        f"{parent}.{k.lstrip('.')}" if k.startswith(".") or "." not in k else k for k in keys[1:]
    ]


def rows(doc: Path) -> Iterator[tuple[int, str, Any, Any]]:
    """(line, key, the page's default, the model's) for each table row giving a literal default."""
    for head, table in _tables(doc.read_text(encoding="utf-8")):
        if "key" not in head or "default" not in head:
            continue
        key_col, default_col = head.index("key"), head.index("default")
        named = [(n, re.findall(r"`([^`]+)`", cells[key_col]), cells[default_col]) for n, cells in table]
        # `consumers.<operation>`: a placeholder names no one field.
        prefix = _prefix([keys[0] for _, keys, _ in named if keys and "<" not in keys[0]])
        if prefix is None:
            continue
        for line, keys, cell in named:
            keys = _siblings(keys)
            # `| `a`, `b` | 10, 10 |`, `| `a` / `.b` | 7200 s / 20 s |`
            several = next(
                (s for s in (", ", " / ") if len(keys) > 1 and cell.count(s) == len(keys) - 1), None
            )
            values = cell.split(several) if several else [cell] * len(keys)
            for key, value in zip(keys, values, strict=True):
                model = _field(f"{prefix}.{key}" if prefix else key)
                if model is _SKIP:
                    continue
                page = _literal(value, model)
                if page is not _SKIP:
                    yield line, key, page, model


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_defaults_a_page_gives_are_the_models(doc: Path) -> None:
    wrong = [f"{doc.name}:{line}: {key} is {model!r}, not {page!r}" for line, key, page, model in rows(doc)
             if page != model]  # fmt: skip
    assert not wrong, "\n".join(wrong)


def reloads(doc: Path) -> Iterator[tuple[int, str, bool, bool]]:
    """(line, key, whether the page says it reloads, whether the model marks it) per table row."""
    for head, table in _tables(doc.read_text(encoding="utf-8")):
        if "key" not in head or "reload" not in head:
            continue
        key_col, reload_col = head.index("key"), head.index("reload")
        for line, cells in table:
            for key in re.findall(r"`([^`]+)`", cells[key_col]):
                field = _walk(key)
                if field is not None:
                    says = cells[reload_col].strip("* ").lower() in ("reload", "yes")
                    yield line, key, says, any(isinstance(m, Reloadable) for m in field.metadata)


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_fields_a_page_says_reload_are_the_reloadable_ones(doc: Path) -> None:
    wrong = [f"{doc.name}:{line}: {key}" for line, key, says, marked in reloads(doc) if says != marked]
    assert not wrong, "\n".join(wrong)


def test_a_cells_keys_after_the_first_are_its_siblings(tmp_path: Path) -> None:
    """`.timeout` and `max_connection_age` after `grpc.keepalive.time` are checked as the keys
    beside it, each against its own of the values a `/` or `,` separates (they went unchecked)."""
    page = tmp_path / "page.md"
    page.write_text(
        "| key | default |\n|---|---|\n"
        "| `grpc.keepalive.time` / `.timeout` | 7200 s / 30 s |\n"
        "| `grpc.keepalive.max_connection_idle` / `max_connection_age` | unset |\n"
    )
    assert [(key, page_value, model) for _, key, page_value, model in rows(page)] == [
        ("grpc.keepalive.time", 7200.0, 7200.0),
        ("grpc.keepalive.timeout", 30.0, 20.0),
        ("grpc.keepalive.max_connection_idle", None, None),
        ("grpc.keepalive.max_connection_age", None, None),
    ]


def _reloadable(model: type[BaseModel] = SETTINGS, prefix: str = "") -> Iterator[str]:
    """The dotted keys of the fields the model marks `Reloadable()`."""
    for name, field in model.model_fields.items():
        if any(isinstance(m, Reloadable) for m in field.metadata):
            yield f"{prefix}{name}"
        for inner in _models_in(field.annotation):
            yield from _reloadable(inner, f"{prefix}{name}.")


def test_every_reloadable_field_is_said_to_reload() -> None:
    """A page's settings table marks each field the model reloads as reloading: a reader learns
    from the pages which edits apply without a restart (the security section's access rules
    reloaded, and no page said so)."""
    said = {key for doc in DOCS for _, key, says, _ in reloads(doc) if says}
    assert sorted(set(_reloadable()) - said) == []
