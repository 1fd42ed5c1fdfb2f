"""The floor: the least a process does to serve the example's contracts, on the libraries microlib uses.

Starlette on uvicorn (as ``bare_app.py``) that, before it listens, starts
what the example's contracts cannot do without: a ``grpc.aio`` server on
another port serving ``bookshop.v1.BookshopService`` with the example's
generated betterproto2 messages (the decided default types), and the
example's pydantic models of its OpenAPI-first orders API, their validators
built (as serving one request does). No observability, jobs, messaging or
configuration: each of those only adds to what any implementation pays, so
this is below the true floor, and a target under it cannot be met by
importing less.

    .venv/bin/python bench/startup/floor_app.py PORT
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

SERVICE = "bookshop.v1.BookshopService"


async def ready(request: Request) -> JSONResponse:
    return JSONResponse({"status": "UP"})


def handlers(messages: Any, grpc: Any) -> Any:
    """The service's unary methods, each parsing its betterproto2 request and serializing its reply."""

    def unary(request: type[Any], response: type[Any]) -> Any:
        async def call(message: Any, context: Any) -> Any:
            return response()

        return grpc.unary_unary_rpc_method_handler(
            call, request_deserializer=request.FromString, response_serializer=bytes
        )

    return grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "GetBook": unary(messages.GetBookRequest, messages.Book),
            "ListBooks": unary(messages.ListBooksRequest, messages.ListBooksResponse),
            "CreateBook": unary(messages.CreateBookRequest, messages.Book),
        },
    )


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    import grpc
    import grpc.aio

    from examples.bookshop.gen._messages.bookshop import v1 as messages
    from examples.bookshop.gen.orders import models  # noqa: F401  (pydantic builds them at import)

    server = grpc.aio.server()
    server.add_generic_rpc_handlers((handlers(messages, grpc),))
    server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield
    finally:
        await server.stop(None)


app = Starlette(routes=[Route("/health/ready", ready)], lifespan=lifespan)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", loop="uvloop")
