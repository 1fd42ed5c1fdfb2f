"""No module of microlib imports, however indirectly, a module that imports it back.

Between packages the layers contract of ``lint-imports`` forbids it; this holds inside
each package too (ADR 0010). grimp reads every import: at the top, under
``if TYPE_CHECKING:`` and inside functions, since each of them ties two files together.
"""

from __future__ import annotations

import graphlib
import itertools

import grimp
import pytest


def test_no_module_of_microlib_imports_itself_back() -> None:
    graph = grimp.build_graph("microlib", cache_dir=None)
    imports = {module: graph.find_modules_directly_imported_by(module) for module in graph.modules}
    try:
        graphlib.TopologicalSorter(imports).prepare()
    except graphlib.CycleError as exc:
        circle: list[str] = exc.args[1]
        # graphlib lists the circle against the arrows: each module is imported by the one after it.
        arrows = []
        for imported, importer in itertools.pairwise(circle):
            line = graph.get_import_details(importer=importer, imported=imported)[0]["line_number"]
            arrows.append(f"{importer} (line {line}) -> {imported}")
        pytest.fail(
            "these modules import each other: " + "; ".join(arrows) + ". Move what they share into a "
            "module below them, the factory above them, or name a Protocol (ADR 0010)."
        )
