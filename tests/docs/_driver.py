"""Runs one page's Python blocks in order in one namespace, as a reader pasting them into
`python -m asyncio` would: a block may `await` at top level; then calls each `test_*` they define.

Usage: python _driver.py BLOCKS.json, where the JSON is a list of {"where", "line", "body"}.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import json
import sys
import types
from pathlib import Path
from typing import Any


def main(path: str) -> None:
    # A module of its own as __main__: pydantic resolves a model's annotations in its module.
    page = types.ModuleType("__main__")
    sys.modules["__main__"] = page
    namespace: dict[str, Any] = page.__dict__
    loop = asyncio.new_event_loop()
    for block in json.loads(Path(path).read_text()):
        # Padded so a traceback gives the page's own line numbers.
        source = "\n" * (block["line"] - 1) + block["body"]
        code = compile(source, block["doc"], "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        if code.co_flags & inspect.CO_COROUTINE:
            loop.run_until_complete(eval(code, namespace))
        else:
            exec(code, namespace)
    for name, test in list(namespace.items()):
        if name.startswith("test_") and inspect.isfunction(test):
            result = test()
            if inspect.iscoroutine(result):
                loop.run_until_complete(result)
            print(f"{name} passed")
    loop.close()


if __name__ == "__main__":
    main(sys.argv[1])
