"""Test helpers: a Starlette app assembled from the observability pieces, real servers.

Until the Service's HTTP app exists, ``chain_route`` plays the HTTP endpoint:
one request becomes a CallContext run through the shared chain.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import grpc
import uvicorn
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from microlib.config.model import Settings
from microlib.core.chain import compose
from microlib.core.context import CallContext
from microlib.core.errors import Code, Error
from microlib.http import edge_middleware, management_routes
from microlib.observability import Observability, ServiceIdentity

_STATUS = {Code.NOT_FOUND: 404, Code.INVALID_ARGUMENT: 400, Code.INTERNAL: 500}


def make_observability(name: str, **sections: Any) -> tuple[Observability, io.StringIO]:
    """An Observability for service ``name`` logging JSON into a buffer."""
    logging_section = {"format": "json", **sections.pop("logging", {})}
    settings = Settings.model_validate({"logging": logging_section, **sections})
    stream = io.StringIO()
    identity = ServiceIdentity(name, version="1.2.3", environment="test", instance_id=f"{name}-1")
    made = Observability(settings, identity, log_stream=stream)
    MADE.append(made)
    return made, stream


# What make_observability built during the current test: the receiver fixture shuts their tracing
# down while it still answers, so no exporter thread outlives the test retrying a closed port (its
# jittered retries draw on the global `random`, which hypothesis then reports in a later test).
MADE: list[Observability] = []


def json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    """Every line written so far, parsed as JSON (a non-JSON line fails the test)."""
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


Handler = Callable[[Request, CallContext], Awaitable[Any]]


def chain_route(obs: Observability, path: str, handler: Handler, methods: Sequence[str] = ("GET",)) -> Route:
    """A route whose handler runs through the observability chain, like the Service's endpoint."""
    interceptors = list(obs.interceptors().values())

    async def endpoint(request: Request) -> Response:
        async def call(ctx: CallContext) -> Any:
            return await handler(request, ctx)

        ctx = CallContext(
            kind="http",
            service=obs.identity.name,
            method=path,
            metadata={k.lower(): v for k, v in request.headers.items()},
        )
        ctx.attributes["http.route"] = path
        ctx.attributes["http.method"] = request.method
        try:
            result = await compose(interceptors, call)(ctx)
        except Error as exc:
            body = {"title": exc.code.name, "detail": exc.message, **exc.metadata}
            return JSONResponse(body, status_code=_STATUS.get(exc.code, 500), headers=ctx.response_metadata)
        return JSONResponse(result, headers=ctx.response_metadata)

    return Route(path, endpoint, methods=list(methods))


def build_app(obs: Observability, routes: Sequence[BaseRoute]) -> Starlette:
    """The service app: chain routes, /metrics and admin routes, the edge middleware first."""
    return Starlette(routes=[*routes, *management_routes(obs)], middleware=[edge_middleware(obs)])


@contextlib.asynccontextmanager
async def serve(app: Any) -> AsyncIterator[str]:
    """Run ``app`` on real uvicorn on 127.0.0.1:0; yields its base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    config.load()
    server.lifespan = config.lifespan_class(config)
    await server.startup()
    port = server.servers[0].sockets[0].getsockname()[1]
    task = asyncio.create_task(server.main_loop())
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        await server.shutdown()


class OtlpReceiver(trace_service_pb2_grpc.TraceServiceServicer):  # type: ignore[misc]
    """A real OTLP/gRPC trace receiver collecting every exported span."""

    def __init__(self) -> None:
        self.spans: list[Any] = []
        self.resources: list[dict[str, Any]] = []
        self.metadata: list[dict[str, Any]] = []
        self.arrived = asyncio.Event()

    async def Export(
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: grpc.aio.ServicerContext
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        self.metadata.append(dict(context.invocation_metadata() or ()))
        for resource_spans in request.resource_spans:
            resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    self.spans.append(span)
                    self.resources.append(resource)
        self.arrived.set()
        return trace_service_pb2.ExportTraceServiceResponse()


@contextlib.asynccontextmanager
async def otlp_receiver() -> AsyncIterator[tuple[OtlpReceiver, str]]:
    """Serve an :class:`OtlpReceiver` on grpc.aio on loopback; yields it and its endpoint URL."""
    server = grpc.aio.server()
    receiver = OtlpReceiver()
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(receiver, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield receiver, f"http://127.0.0.1:{port}"
    finally:
        await server.stop(None)


def attributes(span: Any) -> dict[str, Any]:
    """An OTLP span's attributes as a plain dict."""
    values: dict[str, Any] = {}
    for item in span.attributes:
        which = item.value.WhichOneof("value")
        values[item.key] = getattr(item.value, which) if which else None
    return values
