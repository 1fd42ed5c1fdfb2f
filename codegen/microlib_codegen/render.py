"""IR → the files of the generated (DO NOT EDIT) package, in a stable order.

Layout under the output package (``gen/`` below) for a contract package
``shop.v1`` with a service ``Bookshop``::

    gen/__init__.py                the root package
    gen/_manifest.json             every generated file and its SHA-256
    gen/_descriptors.py            descriptors, private upb pool
    gen/_codec.py                  dataclass ⇄ upb converters, CODECS
    gen/_messages/...              betterproto2's messages and enums (with
                                   ``messages = "upb"``: upb classes and .pyi)
    gen/shop/v1/__init__.py        public: messages, enums, Bookshop, BookshopClient
    gen/shop/v1/_bookshop.py       Bookshop (Protocol), BookshopClient, DEFINITION

Every import inside is relative, so the package works wherever it lives.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import Any

import jinja2
from betterproto2_compiler.casing import safe_snake_case

from microlib_codegen._converters import converter, enum_members, ident, module_alias
from microlib_codegen._json_converters import enum_parser, json_converter
from microlib_codegen._pyfmt import bytes_chunks, docstring, ruff_format
from microlib_codegen._signatures import client_parts, kind_name, server_signature
from microlib_codegen._upb_messages import upb_message_modules
from microlib_codegen._version import __version__
from microlib_codegen.model import Contract, Method, Service, TypeRef
from microlib_codegen.openapi_from_proto import openapi_document

__all__ = ["TypeNames", "header", "render", "service_module", "template"]

MESSAGES = "_messages"
_RESERVED = {
    "AsyncIterator", "CallContext", "ClassVar", "Client", "DEFINITION", "HttpRule", "Mapping",
    "Metadata", "MethodDefinition", "MethodKind", "Protocol", "ServiceDefinition", "Unimplemented", "cast",
}  # fmt: skip

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("microlib_codegen", "templates"),
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    undefined=jinja2.StrictUndefined,
    autoescape=False,
)
_env.filters["ident"] = ident
_env.filters["cls"] = lambda ref: f"{module_alias(ref.package)}.{ref.python_name}"
_env.filters["docstring"] = docstring
_env.filters["chunks"] = bytes_chunks
_env.filters["pyrepr"] = lambda value: _quote(value)
_env.filters["http_rule"] = lambda rule: (
    "HttpRule("
    + ", ".join(
        [_quote(rule.method), _quote(rule.path)]
        + [f"{key}={_quote(getattr(rule, key))}" for key in ("body", "response_body") if getattr(rule, key)]
    )
    + ")"
)
_env.filters["pytuple"] = lambda items: "(" + "".join(f"{_quote(i)}, " for i in items).rstrip(" ") + ")"


def _quote(value: str) -> str:
    text = repr(value)
    return f'"{value}"' if text == f"'{value}'" and '"' not in value else text


def template(name: str, **context: Any) -> str:
    """Render one template of ``templates/``."""
    return _env.get_template(name).render(**context)


def header(sources: Iterable[str]) -> str:
    """The first line of every generated file."""
    return (
        f"# Generated from {', '.join(sorted(set(sources)))} by microlib-codegen {__version__}. DO NOT EDIT."
    )


def service_module(service: Service) -> str:
    """The module (under the package folder) holding ``service``'s glue."""
    return f"_{safe_snake_case(service.name)}"


class TypeNames:
    """Local names for contract types in one module, with the imports they need.

    Types are imported by their own name; a name taken twice (two packages,
    or a name the module already uses) gets a package-qualified alias.
    """

    def __init__(self, refs: Iterable[TypeRef], source: Any, taken: Iterable[str] = ()) -> None:
        """Args: refs: types to name; source: ``package -> module path`` callable; taken: names in use."""
        unique = {r.full_name: r for r in refs}
        counts: dict[str, int] = {}
        for ref in unique.values():
            counts[ref.python_name] = counts.get(ref.python_name, 0) + 1
        reserved = set(taken) | _RESERVED
        self.names: dict[str, str] = {}
        by_module: dict[str, list[str]] = {}
        for full, ref in sorted(unique.items()):
            local = ref.python_name
            clash = counts[local] > 1 or local in reserved
            alias = f"{ident(ref.package).replace('__', '_')}_{local}" if clash else local
            self.names[full] = alias
            entry = f"{local} as {alias}" if clash else local
            by_module.setdefault(source(ref.package), []).append(entry)
        self.imports = [
            f"from {module} import {', '.join(sorted(entries))}"
            for module, entries in sorted(by_module.items())
        ]

    def __getitem__(self, ref: TypeRef) -> str:
        """The local name of ``ref``."""
        return self.names[ref.full_name]


def render(
    contract: Contract, message_files: dict[str, str], messages: str = "betterproto2"
) -> dict[str, str]:
    """All files of the generated package, by path relative to its root.

    Args:
        contract: The IR.
        message_files: betterproto2's output, by path relative to its root.
        messages: The message layer: ``betterproto2`` (``message_files``
            and the converters to upb) or ``upb`` (upb classes, typed by
            generated stubs, and no conversion).

    Returns:
        ``{relative path: text}``, sorted by path (the manifest is added by
        :mod:`microlib_codegen.check`).
    """
    asked = [f.name for f in contract.files if f.generate]
    files: dict[str, str] = {"__init__.py": _root_init(asked)}
    upb = messages == "upb"
    files["_descriptors.py"] = template(
        "descriptors.py.j2", header=header(asked), files=contract.files, upb=upb
    )
    files["_codec.py"] = _codec(contract, asked, upb)
    if upb:
        files.update(upb_message_modules(contract, MESSAGES, header(asked)))
        message_files = {}
    for package in _public_packages(contract):
        files.update(_package(contract, package))
    for pkg_dir in sorted({str(PurePosixPath(p).parent) for p in files}):
        parts = PurePosixPath(pkg_dir).parts
        for depth in range(1, len(parts) + 1):
            init = "/".join((*parts[:depth], "__init__.py"))
            files.setdefault(init, header(asked) + "\n")
    files = ruff_format(files)
    document = openapi_document(contract)
    if document is not None:
        files["openapi.json"] = document
    # betterproto2 formats its own output (the same pinned ruff, isolated).
    for path, text in message_files.items():
        files[f"{MESSAGES}/{path}"] = _wrap_messages(text)
    return dict(sorted(files.items()))


def _root_init(asked: list[str]) -> str:
    return (
        f"{header(asked)}\n"
        '"""Code generated by `microlib codegen`; replaced whole on each run, never edit it."""\n'
    )


def _wrap_messages(text: str) -> str:
    sources = [line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("# sources:")]
    names = sources[0].split(", ") if sources else ["betterproto2 runtime"]
    # betterproto2's own output is not mypy-strict clean; its types still are.
    return f"{header(names)}\n# mypy: ignore-errors\n{text}"


def _public_packages(contract: Contract) -> list[str]:
    packages = set(contract.generated_packages)
    packages.update(m.ref.package for m in contract.messages.values())
    packages.update(e.ref.package for e in contract.enums.values())
    return sorted(packages)


def _codec(contract: Contract, asked: list[str], upb_layer: bool) -> str:
    requests = {m.input.full_name for s in contract.services for m in s.methods}
    validators = [m for name, m in contract.messages.items() if name in requests and m.has_rules]
    packages = sorted(
        {m.ref.package for m in contract.messages.values()} | {e.ref.package for e in contract.enums.values()}
    )
    imports = []
    for package in packages:
        parent, _, last = f"{MESSAGES}.{package}".rpartition(".")
        imports.append((f".{parent}", f"{last} as {module_alias(package)}"))
    if upb_layer:
        return template(
            "codec_upb.py.j2",
            header=header(asked),
            module_imports=imports,
            messages=list(contract.messages.values()),
            validators=validators,
        )
    converters = [converter(m) for m in contract.messages.values()]
    upb = sorted(set().union(*(c.upb_classes for c in converters))) if converters else []
    return template(
        "codec.py.j2",
        header=header(asked),
        module_imports=imports,
        upb_classes=upb,
        converters=converters,
        enum_parsers=[enum_parser(e) for e in contract.enums.values()],
        enum_members=[enum_members(e) for e in contract.enums.values()],
        json_converters=[json_converter(m) for m in contract.messages.values()],
        messages=list(contract.messages.values()),
        validators=validators,
    )


def _package(contract: Contract, package: str) -> dict[str, str]:
    folder = package.replace(".", "/")
    root = "." * (package.count(".") + 2)
    types = sorted(
        [m.ref.python_name for m in contract.messages.values() if m.ref.package == package]
        + [e.ref.python_name for e in contract.enums.values() if e.ref.package == package]
    )
    services = [s for s in contract.services if s.package == package]
    files: dict[str, str] = {}
    service_imports = []
    exported = list(types)
    for service in services:
        module = service_module(service)
        files[f"{folder}/{module}.py"] = _service(contract, service, root)
        names = [service.name, f"{service.name}Client"]
        exported.extend(names)
        service_imports.append(f"from .{module} import {', '.join(names)}")
    sources = [f.name for f in contract.files if f.package == package]
    files[f"{folder}/__init__.py"] = template(
        "package.py.j2",
        header=header(sources),
        package=package,
        messages=types,
        messages_module=f"{root}{MESSAGES}.{package}",
        services=services,
        service_imports=service_imports,
        exported=sorted(exported),
    )
    return files


def _method_options(method: Method) -> str:
    """``MethodDefinition.options`` as source: the runtime reads ``microlib.auth`` from it."""
    rule = method.auth
    if rule is None:
        return "{}"
    scopes, roles = (", ".join(_quote(v) for v in values) for values in (rule.scopes, rule.roles))
    return f'{{"microlib.auth": {{"public": {rule.public}, "scopes": [{scopes}], "roles": [{roles}]}}}}'


def _service(contract: Contract, service: Service, root: str) -> str:
    refs = [r for m in service.methods for r in (m.input, m.output)]
    names = TypeNames(refs, lambda pkg: f"{root}{MESSAGES}.{pkg}", (service.name, f"{service.name}Client"))
    methods = []
    for m in service.methods:
        request, response = names[m.input], names[m.output]
        methods.append(
            {
                "name": m.name,
                "python_name": m.python_name,
                "doc": m.doc or f"The `{m.name}` RPC.",
                "kind": kind_name(m),
                "input": request,
                "output": response,
                "input_id": ident(m.input.full_name),
                "output_id": ident(m.output.full_name),
                "validates": contract.messages[m.input.full_name].has_rules,
                "http": m.http,
                "options": _method_options(m),
                "server_def": server_signature(m, request, response).text,
                **client_parts(m, request, response),
            }
        )
    doc = f"The `{service.full_name}` service: servicer interface, client and registration."
    return template(
        "service.py.j2",
        header=header([service.file]),
        module_doc=doc,
        service_doc=service.doc or f"The `{service.full_name}` service; subclass it to implement it.",
        root=root,
        type_imports=names.imports,
        protocol=service.name,
        client=f"{service.name}Client",
        full_name=service.full_name,
        file=service.file,
        methods=methods,
        # openapi_document() writes the package's openapi.json for every service with a binding.
        served_document=any(m.http for m in service.methods),
    )
