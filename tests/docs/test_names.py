"""What the pages name exists: every settings key (in a YAML settings block, a `code span`, a
`--set`, a `MICROLIB__` variable) is a field of the settings model, and every `microlib COMMAND
--flag` is a command of the CLI that takes that flag."""

from __future__ import annotations

import argparse
import re
import shlex
import types
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from microlib import Service
from microlib.cli.main import build_parser
from microlib.config import load_config
from microlib.config.model import ServiceSettings
from tests.docs._blocks import DOCS, ROOT, blocks

PAGES = DOCS
SETTINGS: type[BaseModel] = type(load_config(sections=Service("docs").sections, environ={}).settings)

# Names under a section's name that are not settings: a call's metadata and span attributes.
NOT_SETTINGS = {
    *("http.route", "http.method", "http.path_params"),
    *("http.request.method", "http.response.status_code"),
}
_FILE = re.compile(r".*\.(py|yaml|yml|toml|proto|md|json)")
_SPAN = re.compile(r"`([^`\n]+)`")
_KEY = re.compile(r"[a-z_]+(?:\.[a-z_0-9]+|\[\d+\])+")
_SET = re.compile(r"--set '?([\w.\"\[\]-]+)=")
_ENV = re.compile(r"\b(?:MICROLIB)__([A-Z0-9_]+?)=")
_COMMAND = re.compile(r"\bmicrolib ((?:[a-z][\w-]*\s+)*[^|;&#`\n]*)")


def _unwrap(annotation: Any) -> Any:
    """The model, mapping or plain type a field holds, past Optional, Annotated and list."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
            annotation = models[0] if models else args[0]
        elif origin is list:
            annotation = typing.get_args(annotation)[0]
        else:
            return annotation


def missing(path: str, model: type[BaseModel] = SETTINGS) -> str | None:
    """The first part of dotted ``path`` the settings model has no field for, or None."""
    parts = [p for p in re.split(r"\.|\[\d+\]", path.replace('"', "")) if p]
    current: Any = model
    for index, part in enumerate(parts):
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            held = typing.get_origin(current) or current
            if held is Any or (isinstance(held, type) and issubclass(held, Mapping)):
                return None  # a mapping's keys are the user's
            return ".".join(parts[: index + 1])
        field = current.model_fields.get(part)
        if field is None:
            return ".".join(parts[: index + 1])
        current = _unwrap(field.annotation)
    return None


def _prose(doc: Path) -> str:
    """The page without its fenced blocks (their keys are checked by kind below)."""
    text = doc.read_text(encoding="utf-8")
    for block in blocks(doc):
        text = text.replace(block.body, "")
    return text


def _named_keys(doc: Path) -> Iterator[str]:
    text = doc.read_text(encoding="utf-8")
    for span in _SPAN.findall(_prose(doc)):
        if _KEY.fullmatch(span) and not _FILE.fullmatch(span) and span not in NOT_SETTINGS:
            yield span
    yield from _SET.findall(text)
    yield from (name.lower().replace("__", ".") for name in _ENV.findall(text))


def _framework_key(path: str) -> bool:
    """A key under a framework section: `service.http` is Python, `service.name` a setting."""
    section, _, rest = path.partition(".")
    if section == "service":
        return rest.split(".")[0] in ServiceSettings.model_fields
    return section in SETTINGS.model_fields


@pytest.mark.parametrize("doc", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_settings_key_named_exists(doc: Path) -> None:
    unknown = sorted({k for k in _named_keys(doc) if _framework_key(k) and missing(k)})
    assert not unknown, f"{doc.name} names settings the model lacks: {unknown}"


def _settings_blocks(doc: Path) -> list[Any]:
    """The YAML and TOML blocks whose top-level keys are all settings sections."""
    import tomllib

    import yaml

    found = []
    for block in blocks(doc):
        if block.lang not in ("yaml", "toml") or block.directive:
            continue
        try:
            data = yaml.safe_load(block.body) if block.lang == "yaml" else tomllib.loads(block.body)
        except Exception:  # a fragment (`rpc ...`, `- name: x`): not a settings file
            continue
        if isinstance(data, dict) and data and set(data) <= set(SETTINGS.model_fields):
            found.append((block, data))
    return found


@pytest.mark.parametrize("doc", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_settings_block_has_only_keys_that_exist(doc: Path) -> None:
    """A YAML or TOML block of settings names only keys the model has."""
    for block, data in _settings_blocks(doc):
        unknown = sorted(f"{p}" for p in _paths(data) if missing(p))
        assert not unknown, f"{block.where}: unknown settings {unknown}"


def _paths(data: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value and not missing(path):
            yield from _paths(value, f"{path}.")
        else:
            yield path


def _subparsers(parser: argparse.ArgumentParser) -> Mapping[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices
    return {}


def _commands(doc: Path) -> Iterator[list[str]]:
    """Each `microlib ...` command line the page names, as words."""
    text = doc.read_text(encoding="utf-8").replace("\\\n", " ")
    for match in _COMMAND.finditer(text):
        try:
            yield shlex.split(match[1], comments=True)
        except ValueError:  # an unbalanced quote cut by the span: the words before it still count
            yield match[1].split()


def unknown_flags(words: list[str]) -> list[str]:
    """The `--flags` of ``words`` (after `microlib`) its (sub)command does not take."""
    parser = build_parser()
    wrong = []
    for word in (w.strip("[](),") for w in words):  # `[--limit N]`: a synopsis's optional flag
        commands = _subparsers(parser)
        if word in commands:
            parser = commands[word]
        elif commands and not word.startswith("-"):
            break  # not a command: prose or output (`microlib db: ...`)
        elif word.startswith("--") and word.split("=")[0] not in parser._option_string_actions:
            wrong.append(f"{parser.prog} {word.split('=')[0]}")
    return wrong


@pytest.mark.parametrize("doc", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_cli_flag_named_exists(doc: Path) -> None:
    wrong = [f for words in _commands(doc) for f in unknown_flags(words)]
    assert not wrong, f"{doc.name} names flags the CLI lacks: {wrong}"


def test_the_checks_can_fail() -> None:
    """A typo is caught at each level: the section, the key, a flag."""
    assert missing("htpp.port") == "htpp"
    assert missing("http.prot") == "http.prot"
    assert missing("http.tls.cert_file") is None
    assert missing("logging.levels.uvicorn") is None  # a mapping's keys are the user's
    assert missing("security.issuers[0].audiences") is None
    assert unknown_flags(["run", "--sett", "x=1"]) == ["microlib run --sett"]
    assert unknown_flags(["db", "upgrade", "--set", "a=1"]) == []
    assert unknown_flags(["jobs", "dlq", "list", "[--limits", "N]"]) == ["microlib jobs dlq list --limits"]


_SHELL = ("sh", "bash", "console", "shell")
_MAKE = re.compile(r"(?:^|[\s$;&|(])make ([a-z][\w-]*)")
_MICROLIB = re.compile(r"(?:^|[\s$;&|(])microlib ([a-z][\w-]*)")
_TARGET = re.compile(r"^([a-z][\w-]*):", re.MULTILINE)


def _code(doc: Path) -> list[str]:
    """The page's shell blocks and code spans: where a command is given to type."""
    shell = [line.split(" #")[0] for b in blocks(doc) if b.lang in _SHELL for line in b.commands]
    return shell + _SPAN.findall(_prose(doc))


def _make_targets() -> set[str]:
    """The repository's Makefile targets and those of the Makefile `microlib new` writes."""
    makefiles = [ROOT / "Makefile", ROOT / "microlib" / "cli" / "templates" / "project" / "Makefile.tmpl"]
    return {target for path in makefiles for target in _TARGET.findall(path.read_text(encoding="utf-8"))}


@pytest.mark.parametrize("doc", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_command_named_exists(doc: Path) -> None:
    """`microlib COMMAND` is a command of the CLI, `make TARGET` a target of a Makefile."""
    commands = set(_subparsers(build_parser()))
    named = [
        word for code in _code(doc) for word in re.findall(r"(?:^|[\s$;&|(`])microlib ([a-z][\w-]*)", code)
    ]
    assert not sorted(set(named) - commands), f"{doc.name} names commands the CLI lacks"
    targets = {target for code in _code(doc) for target in _MAKE.findall(code)}
    assert not sorted(targets - _make_targets()), f"{doc.name} names make targets no Makefile has"
