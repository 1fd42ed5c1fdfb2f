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
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel
from starlette.routing import BaseRoute
from typing_extensions import is_protocol

from microlib.core._json_depth import MAX_JSON_DEPTH
from microlib.core.chain import CallNext, Interceptor, compose
from microlib.core.errors import ContractMismatch, Error, NotFound
from microlib.core.handler_shape import call_problem
from microlib.http._operation import OperationEndpoint
from microlib.http._operation_route import OperationRoute, common_shape, operation_routes, path_below
from microlib.http._plain import Wrapping
from microlib.http._reply import Reply
from microlib.http._router import Router
from microlib.http.errors import send_problem

if TYPE_CHECKING:
    from microlib.http.docs import ChainedDocs
    from microlib.security.requirements import SecurityRequirement

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
        form: The fields of an ``application/x-www-form-urlencoded`` or
            ``multipart/form-data`` body: name -> (shape, JSON type), shape
            ``primitive``, ``array`` or ``object``; the type ``binary`` is a
            file.
        encoding: The media types each multipart field's part may have, where
            the document's ``encoding`` names them: name -> media ranges.
    """

    required: bool
    media: Mapping[str, type[BaseModel] | None]
    form: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    encoding: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


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
        security_schemes: The Security Scheme Object of each scheme
            ``security`` names, reduced to what enforcing it takes: ``type``,
            and ``scheme`` and ``bearerFormat`` (``http``) or ``in`` and
            ``name`` (``apiKey``).
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
    security_schemes: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


def _check_handler(endpoint: OperationEndpoint, owner: str, title: str) -> None:
    """Refuse a handler the endpoint cannot call, rather than answer 500 to every request.

    Raises:
        ContractMismatch: naming the handler, its operation and what is wrong.
    """
    op = endpoint.op
    # Called with keywords only: one per parameter, and ``body`` when the operation takes one.
    given = [arg for _, _, fields, _ in endpoint.models for _, arg in fields.values()]
    problem = call_problem(endpoint.method, kwargs=[*given, *(["body"] if op.body else [])])
    if problem:
        raise ContractMismatch(f"{title}: {owner}.{op.handler} ({op.operation_id}): {problem}")


class _Composed:
    """A list of interceptors, wrapped around each handler as the service's chain would."""

    def __init__(self, interceptors: Sequence[Interceptor]) -> None:
        self._interceptors = list(interceptors)

    def wrap(self, handler: CallNext) -> CallNext:
        return compose(self._interceptors, handler)


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
            served at ``/openapi.json``, ``/openapi.yaml`` and ``/docs``,
            its ``servers`` replaced by the one URL it is served at
            (``prefix``, or ``/``).
        docs: Serve the document and the Swagger UI.
        prefix: The path the app is served under, when it is not mounted by
            a router that sets ``root_path`` (the docs page links use it).
        max_json_depth: The deepest nesting of a JSON body; a deeper one is
            a 400 naming the limit (reason ``JSON_TOO_DEEP``).

    Attributes:
        operations: The operations it serves, as given.
        chain: The chain (or interceptors) its operations and documents run,
            as given: a ``Service`` refuses to start, with security
            installed, an app that does not run its own chain.

    Raises:
        ContractMismatch: A handler method is missing, or only inherited
            from the generated Protocol (the stub drifted from the document).
        InvalidArgument: An operation's ``security`` names a scheme missing
            from its ``security_schemes``, or one without its definition
            (code generated by an older ``microlib codegen``).
    """

    def __init__(
        self,
        operations: Sequence[Operation],
        handlers: Mapping[str, object] | object,
        *,
        chain: Wrapping | Sequence[Interceptor] = (),
        title: str = "api",
        strict: bool = True,
        validate_responses: bool = False,
        spec_path: Path | None = None,
        docs: bool = True,
        prefix: str = "",
        max_json_depth: int = MAX_JSON_DEPTH,
    ) -> None:
        self.prefix = prefix.rstrip("/")
        self.operations: tuple[Operation, ...] = tuple(operations)
        self.chain = chain
        self._endpoints: list[OperationEndpoint] = []
        self._requirements: list[tuple[Operation, SecurityRequirement]] = []
        missing = []
        wrapping = chain if isinstance(chain, Wrapping) else _Composed(chain)
        for op in operations:
            target = handlers.get(op.tag) if isinstance(handlers, Mapping) else handlers
            method = getattr(target, op.handler, None)
            if method is None or _placeholder(type(target), op.handler):
                missing.append(f"{op.tag}.{op.handler} ({op.operation_id})")
                continue
            endpoint = OperationEndpoint(
                op,
                method,
                title=title,
                strict=strict,
                validate_responses=validate_responses,
                max_json_depth=max_json_depth,
            )
            _check_handler(endpoint, type(target).__qualname__, title)
            if endpoint.requirement is not None and not endpoint.requirement.public:
                self._requirements.append((op, endpoint.requirement))
            endpoint.call = wrapping.wrap(endpoint.terminal)
            self._endpoints.append(endpoint)
        if missing:
            raise ContractMismatch(
                f"{title}: handlers missing for {len(missing)} operation(s): {', '.join(missing)}; "
                "implement them (`microlib codegen --check` lists each with its signature)"
            )
        # Served on its own (or under a Mount), the app routes with the one
        # router too; its route labels keep the document's server prefix.
        routes = operation_routes(self._endpoints, prefix="", strip=self.prefix)
        self._router = Router(routes)
        self._labels: dict[BaseRoute, _Label] = {route: _Label(self.prefix + route.path) for route in routes}
        self._fallback: ChainedDocs | None = None
        # A path no operation has: the shape every operation declares for a 404, if they agree.
        self._unknown_path = common_shape(self._endpoints, 404)
        if docs and spec_path is not None:
            from microlib.http.docs import ChainedDocs

            # Through the chain like the operations: the access rules decide who reads them.
            self._fallback = ChainedDocs(spec_path, title=title, prefix=self.prefix, chain=wrapping)

    @property
    def requirements(self) -> tuple[tuple[Operation, SecurityRequirement], ...]:
        """Each operation that requires authentication, with its requirement.

        What the service checks on start: every scheme they name must have
        something to enforce it (:mod:`microlib.security.enforcement`).
        """
        return tuple(self._requirements)

    @property
    def document_paths(self) -> tuple[str, ...]:
        """The paths of the document and its page, below where the app is served (none without ``docs``)."""
        return self._fallback.paths if self._fallback is not None else ()

    def routes(self, prefix: str) -> list[OperationRoute]:
        """The operations as routes of a service's one router, mounted at ``prefix``."""
        return operation_routes(self._endpoints, prefix=prefix, strip="")

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Serve one ASGI connection."""
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await _lifespan(receive, send)
            return
        found, child = self._router.match_route(scope)
        if found is None:
            path = path_below(scope, self.prefix)
            if self._fallback is not None and await self._fallback.serve(scope, receive, send, path):
                return
            await send_problem(send, _not_found(scope), 404, shape=self._unknown_path)
            return
        assert isinstance(found, OperationRoute)
        scope.update(child)
        if scope["method"] in found.methods:
            # The operation's template, for the HTTP edge's route label (which
            # would otherwise stop at the mount: ``/v1/{path}``).
            scope["route"] = found if scope.get("root_path") else self._labels[found]
        await found.handle(scope, receive, send)


@dataclass(frozen=True, slots=True)
class _Label:
    """What Starlette's routes offer the edge's route recorder: a path template."""

    path: str


def _placeholder(cls: type, name: str) -> bool:
    """Whether ``cls`` only inherits ``name`` from a Protocol: the generated
    interface's ``...`` body, which would answer 200 with no content."""
    owner = next((klass for klass in cls.__mro__ if name in vars(klass)), None)
    return owner is not None and is_protocol(owner)


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
