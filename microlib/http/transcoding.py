"""REST transcoding: serve a proto service's ``google.api.http`` rules over HTTP.

Every RPC with an HTTP rule gets a route per binding (the primary rule and
its ``additional_bindings``). A request becomes the RPC's request message
(path variables, body, query), runs through the service's interceptor chain
as a ``CallContext(kind="http")`` and the servicer's own method, and the
response message goes back as proto3 JSON. Server-streaming RPCs answer
newline-delimited JSON, or Server-Sent Events when the client accepts
``text/event-stream``; an error after the first item is sent as a last
frame. Errors are problem+json (``microlib.http.errors``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal

import pydantic_core
import structlog
from google.protobuf.descriptor import FieldDescriptor
from starlette.routing import BaseRoute
from starlette.types import Receive, Scope, Send

from microlib.config.model import Section
from microlib.core.chain import CallNext, Chain
from microlib.core.context import CallContext
from microlib.core.errors import Cancelled, Error, Internal
from microlib.grpc.definition import HttpRule, MethodDefinition, MethodKind, ServiceDefinition
from microlib.http._responder import response_headers, send_bytes, send_problem
from microlib.http._transcode_json import MessageJson, message_json
from microlib.http._transcode_path import PathTemplate
from microlib.http._transcode_request import RequestBuilder
from microlib.http._transcode_route import TemplateRoute
from microlib.http.app import HttpApp
from microlib.http.endpoint import _TIMEOUT_HEADER, _deadline, context_from_scope
from microlib.http.errors import problem_body
from microlib.http.protojson import JsonOptions

__all__ = ["TranscodingSettings", "add_transcoded_routes", "transcoded_routes"]

log = structlog.get_logger("microlib.http")

_JSON = "application/json"
_NDJSON = "application/x-ndjson"
_SSE = "text/event-stream"


class TranscodingSettings(Section):
    """The ``transcoding`` settings section.

    Args:
        emit_defaults: Write fields that hold their default value.
        unknown_fields: ``reject`` (400 naming the field) or ``ignore``
            unknown JSON fields and query parameters.
        original_names: Write proto field names instead of lowerCamelCase.
        streaming: Framing of server streams when the client does not ask
            for one: ``ndjson`` or ``sse``.
    """

    emit_defaults: bool = False
    unknown_fields: Literal["reject", "ignore"] = "reject"
    original_names: bool = False
    streaming: Literal["ndjson", "sse"] = "ndjson"


def add_transcoded_routes(
    http: HttpApp,
    definition: ServiceDefinition,
    servicer: object,
    chain: Chain,
    settings: TranscodingSettings,
) -> None:
    """Register a route for every HTTP binding of ``definition``'s methods.

    Args:
        http: The service's HTTP app.
        definition: The generated service definition.
        servicer: The implementation (methods take ``(request, ctx)``).
        chain: The service's interceptor chain, composed once per method.
        settings: The ``transcoding`` section.

    Raises:
        ValueError: A rule does not fit its method (bad template, unknown
            body field, a client-streaming RPC), naming the method.
    """
    http.add_routes(transcoded_routes(definition, servicer, chain, settings))


def transcoded_routes(
    definition: ServiceDefinition, servicer: object, chain: Chain, settings: TranscodingSettings
) -> list[BaseRoute]:
    """The Starlette routes of :func:`add_transcoded_routes`, custom verbs first.

    Raises:
        ValueError: As :func:`add_transcoded_routes`.
    """
    options = JsonOptions(
        emit_defaults=settings.emit_defaults,
        original_names=settings.original_names,
        ignore_unknown=settings.unknown_fields == "ignore",
    )
    routes: list[TemplateRoute] = []
    for method in definition.methods.values():
        if not method.http_rules:
            continue
        if method.kind in (MethodKind.STREAM_UNARY, MethodKind.STREAM_STREAM):
            raise ValueError(f"{definition.full_name}.{method.name}: client streaming cannot be transcoded")
        call = _Call(definition, method, servicer, chain, options, settings.streaming)
        for rule in method.http_rules:
            template = PathTemplate.parse(rule.path)
            routes.append(TemplateRoute(template, rule.method, call.endpoint(rule, template), call.name))
    # A template with a verb is more specific than the same path without one.
    routes.sort(key=lambda r: not r.template.verb)
    return list(routes)


class _Call:
    """One RPC: its chain-wrapped handler and the JSON mappings it needs."""

    def __init__(
        self,
        definition: ServiceDefinition,
        method: MethodDefinition,
        servicer: object,
        chain: Chain,
        options: JsonOptions,
        framing: str,
    ) -> None:
        self.service = definition.full_name
        self.method = method
        self.name = f"{definition.full_name}.{method.name}"
        self.options = options
        self.framing = framing
        self.request_json = message_json(method.decode_request, method.request_type, options)
        self.response_json = message_json(method.decode_request, method.response_type, options)
        target = getattr(servicer, method.python_name)
        self.streaming = method.kind is MethodKind.UNARY_STREAM

        async def unary(ctx: CallContext) -> Any:
            return await target(ctx.request, ctx)

        async def stream(ctx: CallContext) -> None:
            assert ctx.send is not None
            async for item in target(ctx.request, ctx):
                await ctx.send(item)

        self.wrapped: CallNext = chain.wrap(stream if self.streaming else unary)

    def endpoint(
        self, rule: HttpRule, template: PathTemplate
    ) -> Callable[[Scope, Receive, Send, dict[tuple[str, ...], str]], Awaitable[None]]:
        """The ASGI endpoint serving ``rule``."""
        builder = RequestBuilder(
            self.method, rule, template, self.request_json, ignore_unknown=self.options.ignore_unknown
        )
        render = _renderer(self.response_json, rule.response_body, self.method)

        async def serve(
            scope: Scope, receive: Receive, send: Send, values: dict[tuple[str, ...], str]
        ) -> None:
            ctx = context_from_scope(scope, service=self.service, method=self.method.name, route=rule.path)
            ctx.attributes["microlib.method"] = self.method
            try:
                ctx.deadline = _deadline(ctx.metadata.get(_TIMEOUT_HEADER))
                ctx.request = await builder.build(scope, receive, values)
            except Error as exc:
                await _problem(send, exc, ctx)
                return
            if self.streaming:
                await self._stream(ctx, send, render)
            else:
                await self._unary(ctx, send, render)

        return serve

    async def _unary(self, ctx: CallContext, send: Send, render: Callable[[Any], bytes]) -> None:
        try:
            body = render(await self.wrapped(ctx))
        except Error as exc:
            await _problem(send, exc, ctx)
            return
        except Exception:
            log.exception("unhandled error", method=ctx.full_method)
            await _problem(send, Internal("internal error"), ctx)
            return
        ctx.attributes["http.status_code"] = 200
        await send_bytes(send, 200, body, _JSON, response_headers(ctx))

    async def _stream(self, ctx: CallContext, send: Send, render: Callable[[Any], bytes]) -> None:
        accept = ctx.metadata.get("accept", "")
        sse = _SSE in accept or (self.framing == "sse" and _NDJSON not in accept)
        started = False

        async def start() -> None:
            nonlocal started
            started = True
            ctx.attributes["http.status_code"] = 200
            headers = [
                (b"content-type", (_SSE if sse else _NDJSON).encode()),
                (b"cache-control", b"no-cache"),
            ]
            await send(
                {"type": "http.response.start", "status": 200, "headers": headers + response_headers(ctx)}
            )

        async def push(item: Any) -> None:
            frame = render(item)
            try:
                if not started:
                    await start()
                await send({"type": "http.response.body", "body": _frame(frame, sse), "more_body": True})
            except OSError:
                raise Cancelled("the client went away mid-stream") from None

        ctx.send = push
        error: Error | None = None
        try:
            await self.wrapped(ctx)
        except Error as exc:
            error = exc
        except Exception:
            log.exception("unhandled error", method=ctx.full_method)
            error = Internal("internal error")
        if error is not None and not started:
            await _problem(send, error, ctx)
            return
        try:
            if not started:
                await start()
            tail = b"" if error is None else _error_frame(error, ctx, sse)
            await send({"type": "http.response.body", "body": tail, "more_body": False})
        except OSError:
            return


def _renderer(
    response_json: MessageJson, response_body: str, method: MethodDefinition
) -> Callable[[Any], bytes]:
    dump, to_json = response_json.dump, pydantic_core.to_json
    if response_body in ("", "*"):
        return lambda message: to_json(dump(message))
    field = response_json.upb_type.DESCRIPTOR.fields_by_name.get(response_body)
    if field is None:
        raise ValueError(f"{method.name}: response_body {response_body!r} is not a field of the response")
    keys = (field.json_name, field.name)
    empty = _default(field)

    def render(message: Any) -> bytes:
        document = dump(message)
        for key in keys:
            if key in document:
                return to_json(document[key])
        return to_json(empty)

    return render


def _default(field: FieldDescriptor) -> Any:
    """The JSON value of a field left at its default (so left out of the document)."""
    if field.is_repeated:
        return {} if field.message_type is not None and field.message_type.GetOptions().map_entry else []
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return None
    if field.type == FieldDescriptor.TYPE_ENUM:
        enum: Any = field.enum_type
        return enum.values[0].name
    if field.type == FieldDescriptor.TYPE_BOOL:
        return False
    if field.type in (FieldDescriptor.TYPE_STRING, FieldDescriptor.TYPE_BYTES):
        return ""
    if field.cpp_type in (FieldDescriptor.CPPTYPE_INT64, FieldDescriptor.CPPTYPE_UINT64):
        return "0"
    return 0


def _frame(payload: bytes, sse: bool) -> bytes:
    return b"data: " + payload + b"\n\n" if sse else payload + b"\n"


def _error_frame(error: Error, ctx: CallContext, sse: bool) -> bytes:
    problem = problem_body(error, correlation_id=_correlation(ctx))
    if sse:
        return b"event: error\ndata: " + pydantic_core.to_json(problem) + b"\n\n"
    return pydantic_core.to_json({"error": problem}) + b"\n"


def _correlation(ctx: CallContext) -> str:
    return str(ctx.attributes.get("correlation_id") or ctx.attributes.get("request_id") or "")


async def _problem(send: Send, error: Error, ctx: CallContext) -> None:
    body = problem_body(error)
    ctx.attributes["http.status_code"] = body["status"]
    await send_problem(send, error, headers=response_headers(ctx), correlation_id=_correlation(ctx))
