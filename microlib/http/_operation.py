"""One OpenAPI operation: parse, validate, run the chain, write the response."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

import structlog
from pydantic import MISSING, BaseModel, RootModel, ValidationError

from microlib.core._cookies import split_cookies
from microlib.core._formats import format_plan
from microlib.core._json_depth import MAX_JSON_DEPTH, check_json_depth
from microlib.core._strict_json import contract_json
from microlib.core.chain import CallNext
from microlib.core.context import CallContext, Rejected
from microlib.core.errors import Error, FieldViolation, Internal, InvalidArgument
from microlib.http._content_coding import check_content_coding
from microlib.http._encoder import ResponseEncoder
from microlib.http._form import FORMS, FormFields
from microlib.http._params import parse_location, parse_query
from microlib.http._responder import Send, response_headers, response_start
from microlib.http._violations import body_violations, param_violations
from microlib.http.context import context_from_scope
from microlib.http.errors import declares_error_schema, invalid_status, send_error

if TYPE_CHECKING:
    from microlib.http._error_shapes import ErrorShapes
    from microlib.http._openapi_model import Operation, Parameter
    from microlib.security.requirements import SecurityRequirement

__all__ = ["OperationEndpoint", "unwrap"]

log = structlog.get_logger("microlib.http")

_LOCATIONS = ("path", "query", "header", "cookie")
# microlib.security.credentials.HTTP_QUERY_ATTRIBUTE, without importing microlib.security.
_QUERY_ATTRIBUTE = "http.query"


def unwrap(value: Any) -> Any:
    """Plain values for handler arguments: root models become their root.

    Args:
        value: A validated field value.

    Returns:
        The value without ``RootModel`` wrappers (in lists too, and a union's member
        that is a RootModel of its own: ``oneOf: [integer, {type: string, pattern: ...}]``).
    """
    if isinstance(value, RootModel):
        return unwrap(value.root)
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


def _error_shapes(op: Operation) -> ErrorShapes | None:
    """The error shapes ``op`` declares, or None when none of its error responses has a JSON
    schema of its own (problem+json, or no content): such an operation shapes no error, and
    the shapes' planner is not even imported."""
    if not any(declares_error_schema(r.status, r.media, r.model) for r in op.responses):
        return None
    from microlib.http._error_shapes import ErrorShapes

    return ErrorShapes(op.responses, f"{op.method} {op.path}")


def _any_json(model: type[BaseModel]) -> bool:
    """Whether ``model`` is a RootModel of any JSON value (``Body(RootModel[Any])``)."""
    return issubclass(model, RootModel) and model.model_fields["root"].annotation is Any


class OperationEndpoint:
    """Serves one operation; built once, at app construction.

    Args:
        op: The operation.
        method: The bound handler method.
        title: The API name for the CallContext.
        strict: Reject undeclared query parameters.
        validate_responses: Check responses against their models.
        max_json_depth: The deepest JSON body accepted (400 beyond).
    """

    def __init__(
        self,
        op: Operation,
        method: Callable[..., Any],
        *,
        title: str,
        strict: bool,
        validate_responses: bool,
        max_json_depth: int = MAX_JSON_DEPTH,
    ) -> None:
        self.op = op
        self.max_json_depth = max_json_depth
        self.method = method
        self.title = title
        self.strict = strict
        self.call: CallNext = self.terminal
        # The operation's route as seen from the app's mount point, without
        # and with a Mount above it; set by the app that serves it.
        self.routes: tuple[Any, Any] = (None, None)
        self.params: dict[str, list[Parameter]] = {loc: [] for loc in _LOCATIONS}
        for p in op.parameters:
            self.params[p.location].append(p)
        # Per location: the model, model key -> (field name, handler arg), key -> declared name.
        self.models: list[tuple[str, type[BaseModel], dict[str, tuple[str, str]], dict[str, str]]] = []
        for loc in _LOCATIONS:
            model = getattr(op, f"{loc}_model")
            if model is None:
                continue
            by_key = {(p.name.lower() if loc == "header" else p.name): p for p in self.params[loc]}
            fields = {}
            for fname, info in model.model_fields.items():
                key = info.alias or fname
                if key in by_key:
                    fields[key] = (fname, by_key[key].arg)
            self.models.append((loc, model, fields, {k: p.name for k, p in by_key.items()}))
        # The declared media types by their bare type: a document may declare `application/json;
        # charset=utf-8` (as many written from Spring or ASP.NET do), and a request's Content-Type
        # is matched without its parameters. The first declared wins where two share a bare type.
        self.media: dict[str, type[BaseModel] | None] = {}
        for declared, model in op.body.media.items() if op.body else ():
            self.media.setdefault(_bare(declared), model)
        # Media types a Content-Type header names as they are (no parameters, lower case).
        self.bare_media = frozenset(self.media)
        # Media types whose model is any JSON value (no schema, `schema: {}`): the handler gets the value.
        self.any_media = frozenset(
            m for m, model in self.media.items() if model is not None and _any_json(model)
        )
        # Every body may be a form (a schema without properties has no fields to cast, still a form).
        self.form = FormFields(op.body.form, op.body.encoding) if op.body is not None else None
        self.encoder = ResponseEncoder(op, validate=validate_responses)
        # The error responses the document declares in its own schema, decided once.
        self.errors = _error_shapes(op)
        self.shaped = bool(self.errors)
        # The status of a request that fails validation: 422 where the document says so.
        self.invalid = invalid_status({r.status for r in op.responses})
        self.attributes: dict[str, Any] = {}
        self.requirement: SecurityRequirement | None = None
        # API keys sent in the query: read by the authn interceptor, not undeclared parameters.
        self.query_credentials: frozenset[str] = frozenset()
        if op.security is not None:
            # Imported here: an API without security never loads microlib.security.
            from microlib.security.requirements import SECURITY_ATTRIBUTE, from_openapi_security

            self.requirement = from_openapi_security(
                op.security, op.security_schemes, where=f"{op.method} {op.path} ({op.operation_id})"
            )
            self.attributes[SECURITY_ATTRIBUTE] = self.requirement
            self.query_credentials = frozenset(
                scheme.parameter
                for option in (self.requirement.options if self.requirement else ())
                for scheme in option.schemes
                if scheme.type == "apiKey" and scheme.location == "query"
            )

    def terminal(self, ctx: CallContext) -> Awaitable[Any]:
        """The innermost step of the chain: call the handler with the request's arguments.

        The handler's own coroutine, awaited by the chain: no frame of its own.
        """
        return self.method(**ctx.request)  # type: ignore[no-any-return]

    async def handle(
        self, scope: MutableMapping[str, Any], receive: Any, send: Send, path_values: dict[str, str]
    ) -> None:
        """Serve one request.

        Args:
            scope: The ASGI scope.
            receive: The ASGI receive callable.
            send: The ASGI send callable.
            path_values: Decoded path template values.
        """
        op = self.op
        ctx = context_from_scope(scope, self.title, op.operation_id, op.path, path_values, self.attributes)
        if self.query_credentials:
            ctx.attributes[_QUERY_ATTRIBUTE] = scope["query_string"].decode("latin-1")
        try:
            if self.models or scope["query_string"]:
                arguments, violations = self._parameters(scope, ctx.metadata, path_values)
            else:
                arguments, violations = {}, []  # nothing to parse (a body-only operation)
            if self.op.body is not None:
                # Read here, checked by a plain method: no coroutine of their own per request.
                message = await receive()
                raw = message.get("body", b"")
                if message.get("more_body", False):
                    raw = await _rest(receive, raw)
                self._body(raw, ctx.metadata, arguments, violations)
            if violations:
                raise InvalidArgument(f"invalid request to {self.op.operation_id}", violations=violations)
        except Error as exc:
            # Raised by the chain once access is decided: 401 before 400.
            ctx.request = Rejected(exc)
        else:
            if not isinstance(ctx.request, Rejected):  # a bad deadline header
                ctx.request = arguments
        try:
            result = await self.call(ctx)
        except Error as exc:
            await send_error(send, exc, ctx, self.errors, invalid=self.invalid)
            return
        except Exception:
            log.exception("unhandled error", method=ctx.full_method)
            await send_error(send, Internal("internal error"), ctx, self.errors)
            return
        try:
            status, body, media, extra = self.encoder.encode(result)
        except Error as exc:
            await send_error(send, exc, ctx, self.errors, invalid=self.invalid)
            return
        ctx.attributes["http.status_code"] = status
        # send_bytes, written out: a coroutine less per request.
        if ctx.response_metadata or ctx.response_trailers:
            extra = [*extra, *response_headers(ctx)]
        await send(response_start(status, body, media, extra))
        await send({"type": "http.response.body", "body": body})

    def _parameters(
        self,
        scope: MutableMapping[str, Any],
        headers: Mapping[str, str],
        path_values: dict[str, str],
    ) -> tuple[dict[str, Any], list[FieldViolation]]:
        """The handler's parameter arguments, and what is wrong with the parameters sent."""
        violations: list[FieldViolation] = []
        kwargs: dict[str, Any] = {}
        query = parse_query(scope["query_string"]) if scope["query_string"] else {}
        used = set(self.query_credentials)
        for loc, model, fields, names in self.models:
            raw: Any = path_values
            if loc == "query":
                raw = query
            elif loc == "header":
                raw = headers
            elif loc == "cookie":
                raw = split_cookies(headers.get("cookie", ""))
            before = len(violations)
            data = parse_location(loc, self.params[loc], raw, violations, used)
            # Formats pydantic converts too leniently ("86400" as a date), checked as received;
            # reported beside what pydantic refuses.
            plan = format_plan(model)
            try:
                instance = model.model_validate(data)
            except ValidationError as exc:
                # A value that could not even be cast is reported once, not again as missing.
                cast_failed = {v.field for v in violations[before:]}
                violations.extend(
                    v for v in param_violations(exc, loc, names, data) if v.field not in cast_failed
                )
                if plan is not None:
                    violations.extend(plan.violations(data, loc, names, besides=violations[before:]))
                continue
            if plan is not None:
                violations.extend(plan.violations(data, loc, names))
            for fname, arg in fields.values():
                value = getattr(instance, fname)
                kwargs[arg] = None if value is MISSING else unwrap(value)
        if self.strict and query:
            violations.extend(
                FieldViolation(f"query.{k}", "Unknown query parameter", "extra_forbidden")
                for k in query
                if k not in used
            )
        return kwargs, violations

    def _body(
        self,
        raw: bytes,
        headers: Mapping[str, str],
        kwargs: dict[str, Any],
        violations: list[FieldViolation],
    ) -> None:
        assert self.op.body is not None
        if not raw:
            if self.op.body.required:
                violations.append(FieldViolation("body", "A request body is required", "required"))
            else:
                kwargs["body"] = None
            return
        if "content-encoding" in headers:  # the usual body has none: no call
            check_content_coding(headers)
        content_type = headers.get("content-type", "")
        if content_type not in self.bare_media:
            # Parameters, spaces or capitals: the bare media type.
            content_type = _bare(content_type)
        media = self.media
        # A declared media type, as it usually is, found without a call.
        model, found = (
            (media[content_type], True) if content_type in media else _wildcard(media, content_type)
        )
        if not found:
            accepted = ", ".join(self.op.body.media)
            raise InvalidArgument(
                f"unsupported content type {content_type or '(none)'!r}; expected {accepted}",
                reason="UNSUPPORTED_MEDIA_TYPE",
                violations=[
                    FieldViolation("header.Content-Type", f"Expected one of {accepted}", "media_type")
                ],
            )
        if model is None:
            kwargs["body"] = raw.decode("utf-8", "replace") if content_type.startswith("text/") else raw
            return
        form = self.form
        if form is not None and content_type in FORMS:
            _form_body(form, model, raw, headers.get("content-type", ""), kwargs, violations)
            return
        check_json_depth(raw, self.max_json_depth)
        body, refused = contract_json(model.__pydantic_validator__, format_plan(model), raw, "body")
        violations.extend(refused)
        if self.any_media and content_type in self.any_media and not refused:
            body = body.root  # any JSON value: the handler gets the value, not its RootModel
        kwargs["body"] = body


def _form_body(
    form: FormFields,
    model: type[BaseModel],
    raw: bytes,
    content_type: str,
    kwargs: dict[str, Any],
    violations: list[FieldViolation],
) -> None:
    """A form body: its fields read and cast as ``form`` says, then checked by ``model``."""
    plan = format_plan(model)
    before = len(violations)
    data = form.read(raw, content_type, violations)
    try:
        kwargs["body"] = model.model_validate(data)
    except ValidationError as exc:
        # A value that could not even be cast is reported once.
        cast_failed = {v.field for v in violations[before:]}
        violations.extend(v for v in body_violations(exc, data) if v.field not in cast_failed)
        if plan is not None:
            violations.extend(plan.violations(data, "body", besides=violations[before:]))
        return
    if plan is not None:
        violations.extend(plan.violations(data, "body"))


async def _rest(receive: Any, first: bytes) -> bytes:
    """The whole body of a request whose first message, ``first``, said more follows."""
    chunks = [first]
    more = True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


def _bare(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _wildcard(media: Any, content_type: str) -> tuple[type[BaseModel] | None, bool]:
    """The model of the range (``*/*``, ``text/*``) that covers ``content_type``, and whether one does."""
    for declared, model in media.items():
        major, _, minor = declared.partition("/")
        if declared == "*/*" or (minor == "*" and content_type.startswith(major + "/")):
            return model, True
    return None, False
