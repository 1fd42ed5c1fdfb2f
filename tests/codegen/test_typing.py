"""Generated code type-checks under `mypy --strict` when a user module calls it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.codegen.conftest import ROOT, TESTDATA, codegen

USER_MODULE = '''
"""A user's service and client code."""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator

from microlib.core.context import CallContext

from gen.google.protobuf import Empty
from gen.shop.v1 import (
    Book, BookshopService, BookshopServiceClient, ChatRequest, ChatResponse, DeleteBookRequest, Format,
    GetBookRequest, ListBooksRequest, UploadContentRequest, UploadSummary,
)


class Shop(BookshopService):
    async def get_book(self, request: GetBookRequest, ctx: CallContext) -> Book:
        return Book(name=request.name, format=Format.EBOOK, published_at=datetime.datetime.now(datetime.UTC))

    async def list_books(self, request: ListBooksRequest, ctx: CallContext) -> AsyncIterator[Book]:
        yield Book(name=request.parent)

    async def delete_book(self, request: DeleteBookRequest, ctx: CallContext) -> Empty:
        return Empty()

    async def upload_content(
        self, requests: AsyncIterator[UploadContentRequest], ctx: CallContext
    ) -> UploadSummary:
        total = 0
        async for chunk in requests:
            total += len(chunk.data)
        return UploadSummary(total_bytes=total)

    async def chat(
        self, requests: AsyncIterator[ChatRequest], ctx: CallContext
    ) -> AsyncIterator[ChatResponse]:
        async for message in requests:
            yield ChatResponse(text=message.text)


def servicer() -> Shop:
    # Deriving from the generated interface must not leave the class abstract.
    return Shop()


async def use(client: BookshopServiceClient) -> str:
    book = await client.get_book(GetBookRequest(name="x"), timeout=1.0)
    async for other in client.list_books(ListBooksRequest(parent="p")):
        book = other
    return book.title
'''

BROKEN = """
from __future__ import annotations

from microlib.core.context import CallContext

from gen.shop.v1 import Book, BookshopService, ListBooksRequest


class Shop(BookshopService):
    async def get_book(self, request: ListBooksRequest, ctx: CallContext) -> Book:
        return Book()
"""


# The same user code on the upb message layer: protobuf's classes, typed by
# the generated stubs (enum members keep their proto names there).
USER_MODULE_UPB = (
    USER_MODULE.replace("Format.EBOOK", "Format.FORMAT_EBOOK")
    + """

def upb_surface(book: Book) -> tuple[str, int, bytes]:
    book.authors.append("Ann")
    book.labels["genre"] = "sf"
    book.price.units = 3
    stamp: datetime.datetime = book.published_at.ToDatetime()
    data: bytes = book.SerializeToString()
    return stamp.isoformat(), book.format, data
"""
)

BROKEN_UPB = """
from __future__ import annotations

from gen.shop.v1 import Book


def wrong() -> Book:
    return Book(title=3, labels=["x"])
"""


def _project(tmp_path: Path, layer: str = "betterproto2") -> Path:
    project = tmp_path / "project"
    assert codegen(TESTDATA, "--messages", layer, "--out", project / "gen").returncode == 0
    shutil.copytree(ROOT / "microlib", project / "microlib", ignore=shutil.ignore_patterns("__pycache__"))
    # As for an installed microlib: its own imports are checked by its own CI,
    # the user's project sees only its typed surface.
    (project / "mypy.ini").write_text("[mypy]\n\n[mypy-microlib.*]\nfollow_imports = silent\n")
    return project


def _mypy(project: Path, module: str, cache: Path) -> subprocess.CompletedProcess[str]:
    (project / "user.py").write_text(module)
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", f"--cache-dir={cache / 'user-project'}", "user.py"],
        cwd=project, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def test_user_code_passes_mypy_strict_and_drift_is_caught(tmp_path: Path, mypy_cache: Path) -> None:
    """A servicer and client user passes `mypy --strict`; a wrong request type is an error."""
    project = _project(tmp_path)
    ok = _mypy(project, USER_MODULE, mypy_cache)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    broken = _mypy(project, BROKEN, mypy_cache)
    assert broken.returncode == 1
    assert 'Argument 1 of "get_book" is incompatible with supertype' in broken.stdout


def test_upb_layer_user_code_passes_mypy_strict_and_wrong_fields_are_caught(
    tmp_path: Path, mypy_cache: Path
) -> None:
    """On `messages = "upb"` the same servicer and client pass `mypy --strict` with protobuf's
    own methods typed; a wrong field type is an error."""
    project = _project(tmp_path, "upb")
    ok = _mypy(project, USER_MODULE_UPB, mypy_cache)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    broken = _mypy(project, BROKEN_UPB, mypy_cache)
    assert broken.returncode == 1
    assert 'Argument "title" to "Book" has incompatible type "int"' in broken.stdout
    assert 'Argument "labels" to "Book" has incompatible type "list[str]"' in broken.stdout
