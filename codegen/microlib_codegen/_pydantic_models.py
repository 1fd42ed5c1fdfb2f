"""JSON Schemas -> ``models.py``: pydantic v2 models, by datamodel-code-generator.

One model generator for every contract kind: an OpenAPI document's schemas,
an AsyncAPI document's payloads and headers, a jobs contract's arguments.
The last two have no OpenAPI document of their own; ``schema_models`` wraps
their schemas in one (``components.schemas``), the shape the generator reads.
"""

from __future__ import annotations

import ast
import json
import tempfile
from pathlib import Path
from typing import Any

from microlib_codegen import __version__
from microlib_codegen.errors import CodegenError


class ModelsError(CodegenError, ValueError):
    """The model generator refused the schemas."""


def generated_header(source: str, digest: str) -> str:
    """The first lines of every generated file: its source, the generator, DO NOT EDIT."""
    return (
        f"# Generated from {source} by microlib-codegen {__version__}. DO NOT EDIT.\n"
        f"# source sha256: {digest}"
    )


def document_models(document: dict[str, Any], source: str) -> tuple[str, dict[str, str]]:
    """``models.py`` of an OpenAPI document, and the class the generator gave each ``components.schemas`` key.

    The names come from the generator's own model map (``--emit-model-metadata``),
    never from guessing its naming rules.

    Raises:
        ModelsError: the generator refused a schema, prefixed with ``source``.
    """
    from datamodel_code_generator import Error

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp, "openapi.json")
        src.write_text(json.dumps(document), encoding="utf-8")
        out = Path(tmp, "models.py")
        metadata = Path(tmp, "models.json")
        try:
            _generate(src, out, metadata)
        except Error as exc:
            if "Models not found" not in str(exc):
                raise ModelsError(f"{source}: {exc}") from exc
            # A document with no schemas and no parameters has no models.
            return f'"""Models of {source}."""\n\nfrom __future__ import annotations\n', {}
        text = out.read_text(encoding="utf-8")
        models = json.loads(metadata.read_text(encoding="utf-8"))["models"]
    names = {
        m["source_path"][2]: m["class_name"]
        for m in models
        if m["source_path"]
        and len(m["source_path"]) == 3
        and m["source_path"][:2] == ["components", "schemas"]
    }
    body = text.split("\nfrom __future__ import annotations\n", 1)[-1]
    return f'"""Models of {source}."""\n\nfrom __future__ import annotations\n{body}', names


def schema_models(schemas: dict[str, Any], *, title: str, version: str, source: str) -> str:
    """``models.py`` of named schemas that come from no OpenAPI document.

    Raises:
        ModelsError: the generator refused a schema, prefixed with ``source``.
    """
    document = {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": {},
        "components": {"schemas": schemas},
    }
    return document_models(document, source)[0]


def class_names(models_py: str) -> set[str]:
    """The classes a ``models.py`` defines."""
    return {n.name for n in ast.parse(models_py).body if isinstance(n, ast.ClassDef)}


def _generate(src: Path, out: Path, metadata: Path) -> None:
    from datamodel_code_generator import PythonVersion, generate
    from datamodel_code_generator.enums import DataModelType, InputFileType, TargetPydanticVersion

    generate(
        src,
        input_file_type=InputFileType.OpenAPI,
        output=out,
        output_model_type=DataModelType.PydanticV2BaseModel,
        target_python_version=PythonVersion.PY_311,
        target_pydantic_version=TargetPydanticVersion("2.14"),
        disable_timestamp=True,
        use_annotated=True,
        field_constraints=True,
        use_missing_sentinel=True,
        strict_nullable=True,
        use_standard_collections=True,
        use_union_operator=True,
        use_schema_description=True,
        use_field_description=True,
        capitalise_enum_members=True,
        use_double_quotes=True,
        formatters=[],
        # `pet.Pet` is one schema's name, not a module `pet` holding `Pet`.
        treat_dot_as_module=False,
        emit_model_metadata=metadata,
        # The runtime reads how an error schema's property is filled from the model's JSON schema.
        field_extra_keys={"x-microlib-error"},
    )
