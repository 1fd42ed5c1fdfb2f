"""The microlib code generator (the ``microlib-codegen`` distribution).

``microlib codegen`` (``microlib/cli/codegen.py``) is its command line; the
pieces: ``sources`` finds contracts, ``proto`` reads a descriptor set into the
``model`` IR, ``render`` writes the generated package, ``openapi`` and
``asyncapi`` generate from those documents, ``check`` compares it with disk,
``stubs`` and ``drift`` look after the user's implementations.
"""

from __future__ import annotations

from microlib_codegen._version import __version__
from microlib_codegen.config import CodegenConfig, load_pyproject
from microlib_codegen.errors import CodegenError
from microlib_codegen.generate import Outcome, build, run

__all__ = ["CodegenConfig", "CodegenError", "Outcome", "__version__", "build", "load_pyproject", "run"]
