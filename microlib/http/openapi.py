"""OpenAPI-first routes: generated operations served through the shared chain.

``microlib codegen`` turns an OpenAPI 3.0/3.1 document into pydantic models
and a tuple of :class:`Operation`; :class:`OpenAPIApp` routes requests by the
document's paths, deserializes parameters by style and explode, validates
them, the content type and the body with those models (pydantic-core, not a
JSON Schema interpreter), and calls the handler method named after the
operationId with typed keyword arguments, through the interceptor chain.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel

from microlib.core.chain import CallNext, Interceptor, compose
from microlib.core.errors import Error, NotFound, Unimplemented
from microlib.http._endpoint import OperationEndpoint
from microlib.http._paths import PathRouter
from microlib.http._reply import Reply
from microlib.http._responder import send_problem

__all__ = ["Body", "OpenAPIApp", "Operation", "Parameter", "Reply", "Response"]

Location = Literal["path", "query", "header", "cookie"]


@dataclass(frozen=True, slots=True)
class Parameter:
    """One parameter of an operation, as ``microlib codegen`` describes it.

    Args:
        name: The declared name (``X-Request-Tag``).
        location: ``path``, ``query``, ``header`` or ``cookie``.
        arg: The handler's keyword argument.
        required: Whether the request must carry it.
        style: The OpenAPI serialization style.
        explode: The OpenAPI ``explode`` flag.
        shape: ``primitive``, ``array`` or ``object``.
        scalar: The JSON type of the value or of the array items.
        properties: For objects, property -> JSON type.
        allow_empty: ``allowEmptyValue``: an empty query value is accepted.
    """

    name: str
    location: Location
    arg: str
    required: bool = False
    style: str = "form"
    explode: bool = True
    shape: Literal["primitive", "array", "object"] = "primitive"
    scalar: str = "string"
    properties: Mapping[str, str] = field(default_factory=dict)
    allow_empty: bool = False


@dataclass(frozen=True, slots=True)
class Body:
    """The request body: media type -> model (None: raw bytes or text).

    Args:
        required: Whether an empty body is an error.
        media: Accepted media types, each with its model.
    """

    required: bool
    media: Mapping[str, type[BaseModel] | None]


@dataclass(frozen=True, slots=True)
class Response:
    """One documented response.

    Args:
        status: ``200``, ``2XX`` or ``default``.
        media: Its media type, if it has content.
        model: The model of a JSON response.
    """

    status: str
    media: str | None = None
    model: type[BaseModel] | None = None


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation of the document, with what validates it.

    Args:
        operation_id: The document's operationId (the chain's method name).
        method: Upper-case HTTP method.
        path: The path template.
        tag: The first tag; handlers are grouped by it.
        handler: The handler method's name.
        parameters: Every parameter.
        path_model, query_model, header_model, cookie_model: The generated
            model of each location that has parameters.
        body: The request body, if the operation takes one.
        responses: The documented responses.
        security: The security requirement objects, the document's default
            applied (None: neither declares any).
        security_schemes: The ``type`` of each scheme ``security`` names
            (``oauth2``...): it decides whether a name lists scopes or roles.
    """

    operation_id: str
    method: str
    path: str
    tag: str
    handler: str
    parameters: tuple[Parameter, ...] = ()
    path_model: type[BaseModel] | None = None
    query_model: type[BaseModel] | None = None
    header_model: type[BaseModel] | None = None
    cookie_model: type[BaseModel] | None = None
    body: Body | None = None
    responses: tuple[Response, ...] = ()
    security: Sequence[Mapping[str, Sequence[str]]] | None = None
    security_schemes: Mapping[str, str] = field(default_factory=dict)


class _Wrapping(Protocol):
    def wrap(self, handler: CallNext) -> CallNext: ...


class OpenAPIApp:
    """An ASGI app serving the operations of one OpenAPI document.

    Args:
        operations: ``OPERATIONS`` of the generated package.
        handlers: Tag -> the object implementing that tag's Protocol, or one
            object implementing every operation.
        chain: The service's chain (``service.chain``) or a list of
            interceptors, composed once per operation.
        title: The API name spans and metrics use (``service`` of the
            CallContext); usually ``TITLE`` of the generated package.
        strict: Reject query parameters the document does not declare.
        validate_responses: Check every response against its model.
        spec_path: The bundled document (``SPEC_PATH``); with ``docs``,
            served at ``/openapi.json``, ``/openapi.yaml`` and ``/docs``.
        docs: Serve the document and the Swagger UI.
        prefix: The path the app is served under, when it is not mounted by
            a router that sets ``root_path`` (the docs page links use it).

    Raises:
        Error: A handler method is missing (the stub drifted from the
            document).
        InvalidArgument: An operation's ``security`` names a scheme missing
            from its ``security_schemes`` (code generated before them).
    """

    def __init__(
        self,
        operations: Sequence[Operation],
        handlers: Mapping[str, object] | object,
        *,
        chain: _Wrapping | Sequence[Interceptor] = (),
        title: str = "api",
        strict: bool = True,
        validate_responses: bool = False,
        spec_path: Path | None = None,
        docs: bool = True,
        prefix: str = "",
    ) -> None:
        self.prefix = prefix.rstrip("/")
        self._router: PathRouter[OperationEndpoint] = PathRouter()
        missing = []
        for op in operations:
            target = handlers.get(op.tag) if isinstance(handlers, Mapping) else handlers
            method = getattr(target, op.handler, None)
            if method is None:
                missing.append(f"{op.tag}.{op.handler} ({op.operation_id})")
                continue
            endpoint = OperationEndpoint(
                op, method, title=title, strict=strict, validate_responses=validate_responses
            )
            # As seen from the app's mount point: with the document's server
            # prefix when mounted at the root, without it under a Mount.
            endpoint.routes = (_OperationRoute(self.prefix + op.path), _OperationRoute(op.path))
            terminal = endpoint.terminal
            endpoint.call = chain.wrap(terminal) if hasattr(chain, "wrap") else compose(list(chain), terminal)
            styles = {p.name: p.style for p in op.parameters if p.location == "path"}
            self._router.add(op.method, op.path, endpoint, styles)
        if missing:
            raise Error(
                f"handlers missing for {len(missing)} operation(s): {', '.join(missing)}; "
                "regenerate the stubs or implement them",
                reason="OPENAPI_HANDLER_MISSING",
            )
        self._fallback: Any = None
        if docs and spec_path is not None:
            from microlib.http.docs import DocsApp

            self._fallback = DocsApp(spec_path, title=title, prefix=self.prefix)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Serve one ASGI connection."""
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await _lifespan(receive, send)
            return
        raw = scope.get("raw_path")
        # Some servers and test transports include the query string in raw_path.
        path = raw.partition(b"?")[0].decode("latin-1") if raw else scope["path"]
        root = scope.get("root_path") or self.prefix
        if root and path.startswith(root):
            path = path[len(root) :]
        methods, values = self._router.match(path)
        if methods is None:
            if self._fallback is not None and await self._fallback.serve(scope, receive, send, path):
                return
            await send_problem(send, _not_found(scope), 404)
            return
        endpoint = methods.get(scope["method"])
        if endpoint is None:
            allowed = ", ".join(sorted(methods))
            error = Unimplemented(f"method {scope['method']} is not allowed on {scope['path']}")
            await send_problem(send, error, 405, headers=[(b"allow", allowed.encode())])
            return
        # The operation's template, for the HTTP edge's route label (which
        # would otherwise stop at the mount: ``/v1/{path}``).
        scope["route"] = endpoint.routes[bool(scope.get("root_path"))]
        await endpoint.handle(scope, receive, send, values)


@dataclass(frozen=True, slots=True)
class _OperationRoute:
    """What Starlette's routes offer the edge's route recorder: a path template."""

    path: str


def _not_found(scope: Mapping[str, Any]) -> Error:
    return NotFound(f"no operation matches {scope['method']} {scope['path']}")


async def _lifespan(receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
