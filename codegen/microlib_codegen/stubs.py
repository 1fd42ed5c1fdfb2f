"""User stubs: one module per service, written once and never overwritten.

Each stub subclasses the generated interface with every method raising
``Unimplemented`` until the user fills it in; after that the file is theirs
and :mod:`microlib_codegen.drift` only reports how it differs from the
contract.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from betterproto2_compiler.casing import safe_snake_case

from microlib_codegen._pyfmt import ruff_format
from microlib_codegen._signatures import server_signature
from microlib_codegen.model import Service
from microlib_codegen.render import TypeNames, template

__all__ = ["Stub", "plan_stubs", "stub_class"]


@dataclass(frozen=True, slots=True)
class Stub:
    """One user stub.

    Args:
        path: Where it lives.
        service: The service it implements.
        text: The text written when the file does not exist yet.
        names: Local type names it uses (for the drift report).
    """

    path: Path
    service: Service
    text: str
    names: TypeNames


def stub_class(service: Service) -> str:
    """The class name of the user's implementation (``BookshopServicer``)."""
    return f"{service.name}Servicer"


def plan_stubs(services: tuple[Service, ...], folder: Path, import_name: str) -> list[Stub]:
    """The stub of each service, to be written into ``folder`` if absent.

    Args:
        services: The services of the generated files.
        folder: The user's stub package.
        import_name: The generated package's import name (``bookshop.gen``).
    """
    stubs = []
    for service in services:
        refs = [r for m in service.methods for r in (m.input, m.output)]
        names = TypeNames(refs, lambda pkg: f"{import_name}.{pkg}", (service.name, stub_class(service)))
        methods = [
            {"name": m.name, "server_def": server_signature(m, names[m.input], names[m.output]).text}
            for m in service.methods
        ]
        imports = [*names.imports, f"from {import_name}.{service.package} import {service.name}"]
        text = template(
            "stub.py.j2",
            module_doc=(
                f"{service.name}: the `{service.full_name}` service.\n\n"
                "Written once by `microlib codegen`; this file is yours, it is never overwritten."
            ),
            uses_iterator=any(m.client_streaming or m.server_streaming for m in service.methods),
            type_imports=_merge(imports),
            class_name=stub_class(service),
            protocol=service.name,
            full_name=service.full_name,
            methods=methods,
        )
        text = ruff_format({"stub.py": text})["stub.py"]
        stubs.append(Stub(folder / f"{safe_snake_case(service.name)}.py", service, text, names))
    return stubs


def _merge(imports: list[str]) -> list[str]:
    """One ``from X import a, b`` line per module."""
    by_module: dict[str, set[str]] = {}
    for line in imports:
        module, _, names = line.removeprefix("from ").partition(" import ")
        by_module.setdefault(module, set()).update(n.strip() for n in names.split(","))
    return [f"from {m} import {', '.join(sorted(names))}" for m, names in sorted(by_module.items())]
