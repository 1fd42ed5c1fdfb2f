"""The upb message layer (``messages = "upb"``): per contract package, a module
binding protobuf's upb classes of the generated package's pool, and its
``.pyi`` stub that types them for ``mypy --strict``.

The stub follows what protoc's ``--pyi_out`` writes for a ``_pb2`` module
(attributes, keyword constructor, ``EnumTypeWrapper`` enums), under the names
betterproto2 would give (``Book.Warehouse`` is ``BookWarehouse``), so a
package switches layer without renaming imports. The well-known types
subclass types-protobuf's classes in the stub and so keep their helpers
(``Timestamp.ToDatetime``...); at run time they are this package's own pool's
classes, which carry the same helpers.
"""

from __future__ import annotations

import keyword
from collections.abc import Iterable

from microlib_codegen._converters import module_alias
from microlib_codegen.model import Contract, EnumType, Field, FieldKind, MessageType, TypeRef

__all__ = ["upb_message_modules"]

_PY_SCALARS = {
    "double": "float",
    "float": "float",
    "bool": "bool",
    "string": "str",
    "bytes": "bytes",
}
_WKT_VALUES = {
    "google.protobuf.Timestamp": "_datetime.datetime",
    "google.protobuf.Duration": "_datetime.timedelta",
}
_WELL_KNOWN_FILE = "google/protobuf/"


def upb_message_modules(contract: Contract, folder: str, header: str) -> dict[str, str]:
    """``{path: text}`` of the ``__init__.py`` and ``__init__.pyi`` of each package's messages.

    Args:
        contract: The IR.
        folder: The messages folder under the generated root (``_messages``).
        header: The DO NOT EDIT line of the files.
    """
    packages = sorted(
        {m.ref.package for m in contract.messages.values()} | {e.ref.package for e in contract.enums.values()}
    )
    files: dict[str, str] = {}
    for package in packages:
        messages = sorted((m for m in contract.messages.values() if m.ref.package == package), key=_name)
        enums = sorted((e for e in contract.enums.values() if e.ref.package == package), key=_name)
        path = f"{folder}/{package.replace('.', '/')}/__init__"
        root = "." * (package.count(".") + 3)
        files[f"{path}.py"] = _runtime(package, messages, enums, root, header)
        files[f"{path}.pyi"] = _stub(package, messages, enums, "." * (package.count(".") + 2), header)
    return files


def _name(t: MessageType | EnumType) -> str:
    return t.ref.python_name


def _runtime(package: str, messages: list[MessageType], enums: list[EnumType], root: str, header: str) -> str:
    names = sorted([m.ref.python_name for m in messages] + [e.ref.python_name for e in enums])
    lines = [
        header,
        f'"""The `{package}` messages and enums: protobuf (upb) classes of this package\'s pool."""',
        "",
        "from __future__ import annotations",
        "",
        f"from {root} import _descriptors",
        "",
        "__all__ = [" + ", ".join(f'"{n}"' for n in names) + "]",
        "",
    ]
    bound = [(e.ref.python_name, f'_descriptors.enum_class("{e.ref.full_name}")') for e in enums]
    bound += [(m.ref.python_name, f'_descriptors.message_class("{m.ref.full_name}")') for m in messages]
    lines += [f"{name} = {value}" for name, value in sorted(bound)]
    return "\n".join(lines) + "\n"


def _stub(package: str, messages: list[MessageType], enums: list[EnumType], up: str, header: str) -> str:
    names = _Names(package, up)
    body: list[str] = []
    for enum in enums:
        body += ["", ""]
        body += _enum_stub(enum, names)
    for message in messages:
        body += ["", ""]
        body += _message_stub(message, names)
    lines = [
        header,
        "# Types of the upb classes (see the .py beside this stub).",
        "",
        "import collections.abc as _abc",
        "import datetime as _datetime",
        "import typing as _typing",
        "",
        "from google.protobuf import message as _message",
        "from google.protobuf.internal import containers as _containers",
        "from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper",
        *names.imports(),
        *body,
    ]
    return "\n".join(lines) + "\n"


def _enum_stub(enum: EnumType, names: _Names) -> list[str]:
    local = enum.ref.python_name
    if enum.file.startswith(_WELL_KNOWN_FILE):
        return [f"{local} = {names.well_known(enum.ref, enum.file)}"]
    lines = [f"class {local}(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):"]
    lines += [
        f"    {value}: _typing.ClassVar[{local}]" for value, _ in enum.values if not keyword.iskeyword(value)
    ]
    return lines


def _message_stub(message: MessageType, names: _Names) -> list[str]:
    local = message.ref.python_name
    if message.file.startswith(_WELL_KNOWN_FILE):
        # types-protobuf's class, for the fields and the well-known helpers. It
        # is final there; this pool's class is another class with the same API.
        return [f"class {local}({names.well_known(message.ref, message.file)}): ...  # type: ignore[misc]"]
    fields = [f for f in message.fields if not keyword.iskeyword(f.name)]
    lines = [f"class {local}(_message.Message):"]
    lines += [f"    {f.name}: {_attribute(f, names)}" for f in fields]
    params = "".join(f"        {f.name}: {_parameter(f, names)} | None = ...,\n" for f in fields)
    star = "*,\n" if fields else ""
    lines.append(f"    def __init__(\n        self,\n        {star}{params}    ) -> None: ...")
    return lines


def _value_type(f: Field, names: _Names) -> str:
    if f.kind is FieldKind.SCALAR:
        return _PY_SCALARS.get(f.scalar, "int")
    assert f.type is not None
    return names[f.type]


def _key_type(f: Field) -> str:
    return _PY_SCALARS.get(f.map_key or "", "int")


def _attribute(f: Field, names: _Names) -> str:
    value = _value_type(f, names)
    if f.map_key is not None:
        container = "MessageMap" if f.kind is FieldKind.MESSAGE else "ScalarMap"
        return f"_containers.{container}[{_key_type(f)}, {value}]"
    if f.repeated:
        container = (
            "RepeatedCompositeFieldContainer"
            if f.kind is FieldKind.MESSAGE
            else "RepeatedScalarFieldContainer"
        )
        return f"_containers.{container}[{value}]"
    return value


def _parameter(f: Field, names: _Names) -> str:
    """What the constructor accepts for ``f`` (upb converts dicts, enum names, datetimes)."""
    value = _value_type(f, names)
    if f.kind is FieldKind.MESSAGE:
        assert f.type is not None
        accepted = [value, *([_WKT_VALUES[f.type.full_name]] if f.type.full_name in _WKT_VALUES else [])]
        value = " | ".join([*accepted, "_abc.Mapping[str, _typing.Any]"])
    elif f.kind is FieldKind.ENUM:
        value = f"{value} | str"
    if f.map_key is not None:
        return f"_abc.Mapping[{_key_type(f)}, {value}]"
    if f.repeated:
        return f"_abc.Iterable[{value}]"
    return value


class _Names:
    """Type names in one package's stub: local, or through the other package's module."""

    def __init__(self, package: str, up: str) -> None:
        self.package = package
        self.up = up
        self.modules: set[str] = set()
        self.well_known_modules: set[str] = set()

    def __getitem__(self, ref: TypeRef) -> str:
        if ref.package == self.package:
            return ref.python_name
        self.modules.add(ref.package)
        return f"{module_alias(ref.package)}.{ref.python_name}"

    def well_known(self, ref: TypeRef, file: str) -> str:
        module = file.removesuffix(".proto").replace("/", ".") + "_pb2"
        self.well_known_modules.add(module)
        nested = ref.full_name.removeprefix(f"{ref.package}.")
        return f"{_module_name(module)}.{nested}"

    def imports(self) -> Iterable[str]:
        lines = [f"import {module} as {_module_name(module)}" for module in sorted(self.well_known_modules)]
        for package in sorted(self.modules):
            parent, _, last = package.rpartition(".")
            lines.append(f"from {self.up}{parent} import {last} as {module_alias(package)}")
        return lines


def _module_name(module: str) -> str:
    return "_" + module.replace(".", "_")
