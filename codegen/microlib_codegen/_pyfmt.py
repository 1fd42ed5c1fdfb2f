"""Python source formatting for generated code: docstrings and byte literals."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from microlib_codegen.errors import CodegenError

__all__ = ["bytes_chunks", "doc_text", "docstring", "ruff_format"]

_WIDTH = 88


def doc_text(text: str) -> str:
    """``text`` escaped to sit inside a triple-quoted docstring: its backslashes and triple quotes."""
    return text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')


def docstring(text: str, indent: int) -> str:
    """A triple-quoted docstring for ``text``, continuation lines indented.

    Backslashes and quotes that would end the string early are escaped, so
    any contract comment is safe.
    """
    safe = doc_text(text).strip()
    if safe.endswith('"'):
        safe = safe[:-1] + '\\"'
    lines = safe.split("\n")
    if len(lines) == 1:
        return f'"""{lines[0]}"""'
    pad = " " * indent
    body = "\n".join(f"{pad}{line}" if line else "" for line in lines[1:])
    return f'"""{lines[0]}\n{body}\n{pad}"""'


def bytes_chunks(data: bytes) -> list[str]:
    """``data`` as adjacent ``b"..."`` literals, each line short enough to read."""
    chunks: list[str] = []
    current = bytearray()
    for byte in data:
        current.append(byte)
        if len(_literal(bytes(current))) >= _WIDTH - 10:
            chunks.append(_literal(bytes(current)))
            current.clear()
    if current or not chunks:
        chunks.append(_literal(bytes(current)))
    return chunks


def _literal(data: bytes) -> str:
    text = repr(data)
    if text.startswith("b'") and '"' not in text[2:-1]:
        return 'b"' + text[2:-1].replace("\\'", "'") + '"'
    return text


def ruff_format(files: dict[str, str], line_length: int = 100) -> dict[str, str]:
    """``files`` with every ``.py`` and ``.pyi`` formatted by ruff in isolated mode.

    Isolated mode ignores any ruff configuration around, so the output is
    the same on every machine (ruff is pinned through betterproto2-compiler).

    Raises:
        CodegenError: ruff is missing or rejects the code.
    """
    ruff = Path(sys.executable).parent / "ruff"
    command = str(ruff) if ruff.is_file() else shutil.which("ruff")
    if command is None:
        raise CodegenError("ruff not found: install microlib[codegen] (betterproto2-compiler brings ruff)")
    python = {path: text for path, text in files.items() if path.endswith((".py", ".pyi"))}
    with tempfile.TemporaryDirectory(prefix="microlib-codegen-fmt-") as scratch:
        root = Path(scratch)
        for path, text in python.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(text, encoding="utf-8")
        argv = [
            command,
            "format",
            "--isolated",
            f"--line-length={line_length}",
            "--target-version=py311",
            ".",
        ]
        proc = subprocess.run(argv, cwd=root, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise CodegenError(f"ruff could not format the generated code: {proc.stderr.strip()}")
        formatted = {path: (root / path).read_text(encoding="utf-8") for path in python}
    return {**files, **formatted}
