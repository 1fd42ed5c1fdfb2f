"""REST transcoding: serve a proto service's ``google.api.http`` rules over HTTP.

Every RPC with an HTTP rule gets a route per binding (the primary rule and
its ``additional_bindings``). A request becomes the RPC's request message
(path variables, body, query), runs through the service's interceptor chain
as a ``CallContext(kind="http")`` and the servicer's own method, and the
response message goes back as proto3 JSON. Server-streaming RPCs answer
newline-delimited JSON, or Server-Sent Events when the client accepts
``text/event-stream``; an error after the first item is sent as a last
frame. A ``google.api.HttpBody`` travels raw, as grpc-gateway sends it: its
``data`` is the body, under its ``content_type`` (a stream of them, the
chunks of one body). Errors are problem+json (``microlib.http.errors``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import replace
from typing import Any

import pydantic_core
import structlog
from google.protobuf.descriptor import FieldDescriptor
from starlette.routing import BaseRoute
from starlette.types import Receive, Scope, Send

from microlib.config.model import TranscodingSettings
from microlib.contract.definition import (
    HttpRule,
    MethodDefinition,
    MethodKind,
    ServiceDefinition,
)
from microlib.contract.message_json import MessageJson, message_json
from microlib.contract.protojson import JsonOptions
from microlib.core._unencodable import unencodable
from microlib.core.chain import CallNext, Chain
from microlib.core.context import CallContext, Rejected
from microlib.core.errors import Cancelled, ContractMismatch, Error, Internal
from microlib.http._content_coding import check_content_coding
from microlib.http._responder import response_headers, response_start
from microlib.http._transcode_fields import client_path
from microlib.http._transcode_path import PathTemplate
from microlib.http._transcode_request import RequestBuilder, read_body
from microlib.http._transcode_route import PATH_REFUSAL, TemplateRoute
from microlib.http.app import HttpApp
from microlib.http.context import context_from_scope
from microlib.http.errors import correlation_of, problem_body, send_error

__all__ = ["TranscodingSettings", "add_transcoded_routes", "transcoded_routes"]

log = structlog.get_logger("microlib.http")

_JSON = "application/json"
_NDJSON = "application/x-ndjson"
_SSE = "text/event-stream"
_OCTETS = "application/octet-stream"
HTTP_BODY = "google.api.HttpBody"


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
        ContractMismatch: A rule does not fit its method (bad template,
            unknown field, a client-streaming RPC), naming the method: the
            generated code is older than ``microlib codegen``, which checks
            each rule.
    """
    http.add_routes(transcoded_routes(definition, servicer, chain, settings))


def transcoded_routes(
    definition: ServiceDefinition, servicer: object, chain: Chain, settings: TranscodingSettings
) -> list[BaseRoute]:
    """The Starlette routes of :func:`add_transcoded_routes`, the most specific first.

    Raises:
        ContractMismatch: As :func:`add_transcoded_routes`.
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
        try:
            if method.kind in (MethodKind.STREAM_UNARY, MethodKind.STREAM_STREAM):
                raise ValueError(f"{method.name}: client streaming cannot be transcoded")
            call = _Call(definition, method, servicer, chain, options, settings)
            for rule in method.http_rules:
                template = PathTemplate.parse(rule.path)
                routes.append(TemplateRoute(template, rule.method, call.endpoint(rule, template), call.name))
        except ValueError as exc:
            raise ContractMismatch(
                f"{definition.full_name}: {exc}; regenerate with `microlib codegen`, which checks each rule"
            ) from None
    # The most specific template first: one with a verb before the same path without one, then,
    # segment by segment, a literal before `*` and `*` before `**` (`/v1/users/me` before
    # `/v1/users/{id}`), as google.api.http's reference matcher (grpc-httpjson-transcoding,
    # which Envoy and ESP run) decides; among equals, the order of the proto.
    routes.sort(key=lambda r: (not r.template.verb, r.template.wildcards))
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
        settings: TranscodingSettings,
    ) -> None:
        self.service = definition.full_name
        self.method = method
        # The method and its access rule, as gRPC has them: one decision for both doors.
        # Imported here, as gRPC's handlers do: loading the transcoder loads no microlib.security.
        from microlib.security.method_access import call_attributes

        self.attributes = call_attributes(method)
        self.name = f"{definition.full_name}.{method.name}"
        self.options = options
        self.framing = settings.streaming
        self.max_json_depth = settings.max_json_depth
        self.request_json = message_json(method.decode_request, method.request_type, options)
        self.request_descriptor = self.request_json.upb_type.DESCRIPTOR
        self.response_json = message_json(method.decode_request, method.response_type, options)
        target = getattr(servicer, method.python_name)
        self.streaming = method.kind is MethodKind.UNARY_STREAM

        def unary(ctx: CallContext) -> Awaitable[Any]:
            # The servicer's own coroutine, awaited by the chain: no frame of its own.
            return target(ctx.request, ctx)  # type: ignore[no-any-return]

        async def stream(ctx: CallContext) -> None:
            assert ctx.send is not None
            async for item in target(ctx.request, ctx):
                await ctx.send(item)

        self.wrapped: CallNext = chain.wrap(stream if self.streaming else unary)

    def endpoint(
        self, rule: HttpRule, template: PathTemplate
    ) -> Callable[[Scope, Receive, Send, dict[tuple[str, ...], str]], Coroutine[Any, Any, None]]:
        """The ASGI endpoint serving ``rule``."""
        builder = RequestBuilder(
            self.method,
            rule,
            template,
            self.request_json,
            ignore_unknown=self.options.ignore_unknown,
            max_json_depth=self.max_json_depth,
        )
        render, raw = _renderer(self.response_json, rule.response_body, self.method)

        async def serve(
            scope: Scope, receive: Receive, send: Send, values: dict[tuple[str, ...], str]
        ) -> None:
            ctx = context_from_scope(
                scope,
                self.service,
                self.method.name,
                rule.path,
                {".".join(path): text for path, text in values.items()} if values else {},
                self.attributes,
            )
            if not isinstance(ctx.request, Rejected):  # a bad deadline header
                try:
                    refused = scope.get(PATH_REFUSAL)
                    if refused is not None:
                        raise refused
                    body = b""
                    if builder.has_body:
                        # Read here: no coroutine of the builder's own per request.
                        message = await receive()
                        if message["type"] == "http.request" and not message.get("more_body", False):
                            body = message.get("body", b"")  # the usual body: one message
                        else:
                            body = await read_body(receive, message)
                        if body and "content-encoding" in ctx.metadata:  # the usual body has none
                            check_content_coding(ctx.metadata)
                    ctx.request = builder.build(scope, body, values)
                except Error as exc:
                    # Raised by the chain once access is decided: 401 before 400.
                    ctx.request = Rejected(exc)
            if self.streaming:
                await self._stream(ctx, send, render, raw)
                return
            # Unary, in this frame rather than a coroutine of its own.
            try:
                response = await self.wrapped(ctx)
                try:
                    payload, media = render(response)
                except Exception as exc:
                    rpc = f"{ctx.service}/{ctx.method}"
                    raise unencodable(rpc, "response", response, self.method.response_type, exc) from exc
            except Error as exc:
                await send_error(send, self._as_sent(exc), ctx)
                return
            except Exception:
                log.exception("unhandled error", method=ctx.full_method)
                await send_error(send, Internal("internal error"), ctx)
                return
            ctx.attributes["http.status_code"] = 200
            # send_bytes, written out: a coroutine less per request.
            # No header list built from a call's empty metadata and trailers (the usual call).
            extra = response_headers(ctx) if ctx.response_metadata or ctx.response_trailers else []
            await send(response_start(200, payload, media, extra))
            await send({"type": "http.response.body", "body": payload})

        return serve

    async def _stream(self, ctx: CallContext, send: Send, render: _Render, raw: bool) -> None:
        accept = ctx.metadata.get("accept", "")
        sse = not raw and (_SSE in accept or (self.framing == "sse" and _NDJSON not in accept))
        started = False

        async def start(media: str) -> None:
            nonlocal started
            started = True
            ctx.attributes["http.status_code"] = 200
            headers = [(b"content-type", media.encode()), (b"cache-control", b"no-cache")]
            await send(
                {"type": "http.response.start", "status": 200, "headers": headers + response_headers(ctx)}
            )

        async def push(item: Any) -> None:
            payload, media = render(item)
            try:
                if not started:
                    # Raw chunks go out under the first one's content type.
                    await start(media if raw else _SSE if sse else _NDJSON)
                body = payload if raw else _frame(payload, sse)
                await send({"type": "http.response.body", "body": body, "more_body": True})
            except OSError:
                raise Cancelled("the client went away mid-stream") from None

        ctx.send = push
        error: Error | None = None
        try:
            await self.wrapped(ctx)
        except Error as exc:
            error = self._as_sent(exc)
        except Exception:
            log.exception("unhandled error", method=ctx.full_method)
            error = Internal("internal error")
        if error is not None and not started:
            await send_error(send, error, ctx)
            return
        if error is not None and raw:
            # Raw bytes have no frame to carry an error: the body is left unfinished, and the
            # connection's end (no last chunk) tells the client it is incomplete.
            return
        try:
            if not started:
                await start(_OCTETS if raw else _SSE if sse else _NDJSON)
            tail = b"" if error is None else _error_frame(error, ctx, sse)
            await send({"type": "http.response.body", "body": tail, "more_body": False})
        except OSError:
            return

    def _as_sent(self, error: Error) -> Error:
        """``error`` with its violations' fields named as the client wrote them (JSON names)."""
        if error.violations:
            error.violations = tuple(
                replace(
                    v,
                    field=client_path(
                        self.request_descriptor, v.field, original_names=self.options.original_names
                    ),
                )
                for v in error.violations
            )
        return error


_Render = Callable[[Any], tuple[bytes, str]]


def _renderer(
    response_json: MessageJson, response_body: str, method: MethodDefinition
) -> tuple[_Render, bool]:
    """The response's body and media type from a response message, and whether it is raw (a
    ``google.api.HttpBody``'s data) rather than JSON."""
    descriptor = response_json.upb_type.DESCRIPTOR
    field = None
    if response_body not in ("", "*"):
        field = descriptor.fields_by_name.get(response_body)
        if field is None:
            raise ValueError(f"{method.name}: response_body {response_body!r} is not a field of the response")
    carried = descriptor if field is None else field.message_type
    if carried is not None and carried.full_name == HTTP_BODY:
        to_upb, name = response_json.to_upb, None if field is None else field.name

        def raw(message: Any) -> tuple[bytes, str]:
            # upb's message: the fields by their proto names, whichever layer the package generates.
            body = to_upb(message)
            if name is not None:
                body = getattr(body, name)
            return body.data, body.content_type or _OCTETS

        return raw, True
    # The generated converter itself, not MessageJson.dump: one frame less per response.
    dump, options, to_json = response_json.to_json, response_json.options, pydantic_core.to_json
    if field is None:
        return lambda message: (to_json(dump(message, options)), _JSON), False
    keys = (field.json_name, field.name)
    empty = _default(field)

    def render(message: Any) -> tuple[bytes, str]:
        document = dump(message, options)
        for key in keys:
            if key in document:
                return to_json(document[key]), _JSON
        return to_json(empty), _JSON

    return render, False


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
    problem = problem_body(error, correlation_id=correlation_of(ctx))
    if sse:
        return b"event: error\ndata: " + pydantic_core.to_json(problem) + b"\n\n"
    return pydantic_core.to_json({"error": problem}) + b"\n"
