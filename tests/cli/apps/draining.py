"""A service with HTTP and gRPC calls that take as long as the test asks.

``GET /slow?seconds=N`` and the gRPC ``GetBook`` of a book id ``slow-N``
take N seconds; other book ids answer at once.
"""

from __future__ import annotations

import asyncio
import atexit
import gc
import os
from typing import Any

from starlette.requests import Request

from examples.bookshop.catalog import Catalog
from examples.bookshop.gen.bookshop.v1 import Book, GetBookRequest
from examples.bookshop.services.bookshop_service import BookshopServiceServicer
from microlib import Service
from microlib.core.context import CallContext

service = Service("draining-app")


class SlowBooks(BookshopServiceServicer):
    async def get_book(self, request: GetBookRequest, ctx: CallContext) -> Book:
        if request.id.startswith("slow-"):
            await asyncio.sleep(float(request.id.removeprefix("slow-")))
        return Book(id=request.id, title="a book")


service.include(SlowBooks(Catalog()))


@service.http.route("/slow")
async def slow(request: Request) -> dict[str, Any]:
    await asyncio.sleep(float(request.query_params.get("seconds", "1.5")))
    return {"done": True}


if os.environ.get("DRAINING_APP_REPORT_HEAP"):
    # Registered before `microlib run` returns, so it runs after everything it did.
    atexit.register(lambda: print(f"objects to collect at exit: {len(gc.get_objects())}", flush=True))
