"""Open Policy Agent: decisions from an OPA server (HTTP) or in-process Rego (regopy).

The policy's input is the same for both engines::

    {"principal": {"subject", "scopes", "roles", "claims"},
     "kind", "service", "method", "path", "path_params", "peer",
     "metadata": {...without credentials: authorization, cookie, header API keys...},
     "requirement": {"scopes", "roles"} | null,
     "request": {...} | null}

``request`` is the decoded request when ``include_request`` is set. The
queried value is either a boolean or an object ``{"allow": bool, "reason":
str}``; anything else (including an undefined result) denies. Decisions are
cached for ``cache_ttl`` seconds by their input without the fields that
change on every request (the peer's port, request and trace ids), so
identical calls hit the cache.
"""

from __future__ import annotations

import asyncio
import functools
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

import httpx
import structlog
from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from microlib.config.model import OpaSettings
from microlib.contract.definition import METHOD_ATTRIBUTE
from microlib.core.context import CallContext, Principal
from microlib.core.errors import InvalidArgument, Unavailable
from microlib.security.authz import Decision
from microlib.security.requirements import (
    HTTP_PATH_ATTRIBUTE,
    HTTP_PATH_PARAMS_ATTRIBUTE,
    SecurityRequirement,
)

__all__ = ["OpaAuthorizer", "OpaHttpPolicy", "PolicyEngine", "RegoPolicy", "policy_input"]

log = structlog.get_logger("microlib.security")

# x-microlib-principal: a message's or job's signed principal, already in input.principal.
_HIDDEN_METADATA = frozenset({"authorization", "cookie", "proxy-authorization", "x-microlib-principal"})
# Different on every request by design: in the input (OPA's decision log can
# correlate them) but not in the cache key, or identical calls never hit.
_PER_REQUEST_METADATA = frozenset(
    {"x-request-id", "traceparent", "tracestate", "baggage", "grpc-trace-bin", "x-request-timeout"}
)


class PolicyEngine(Protocol):
    """Evaluates a policy for one input document."""

    async def evaluate(self, document: Mapping[str, Any]) -> Any:
        """The policy's value for ``document`` (None when undefined).

        Raises:
            Unavailable: The engine cannot answer now.
        """
        ...


def policy_input(
    ctx: CallContext,
    principal: Principal,
    requirement: SecurityRequirement | None,
    *,
    include_request: bool = False,
) -> dict[str, Any]:
    """The OPA input document for a call.

    Args:
        ctx: The call.
        principal: The authenticated caller.
        requirement: The method's effective requirement.
        include_request: Put the decoded request under ``request`` (None
            where there is none: a plain route's body is unread, a request
            that did not decode, a client stream).

    Returns:
        A JSON-serialisable document.
    """
    return {
        "principal": {
            "subject": principal.subject,
            "scopes": sorted(principal.scopes),
            "roles": sorted(principal.roles),
            "claims": dict(principal.claims),
        },
        "kind": ctx.kind,
        "service": ctx.service,
        "method": ctx.method,
        "path": ctx.attributes.get(HTTP_PATH_ATTRIBUTE),
        "path_params": dict(ctx.attributes.get(HTTP_PATH_PARAMS_ATTRIBUTE) or {}),
        "peer": ctx.peer,
        "metadata": {k: v for k, v in ctx.metadata.items() if k not in _hidden_metadata(requirement)},
        "requirement": None
        if requirement is None
        else {"scopes": sorted(requirement.scopes), "roles": sorted(requirement.roles)},
        "request": _request_document(ctx) if include_request else None,
    }


def _hidden_metadata(requirement: SecurityRequirement | None) -> frozenset[str]:
    """Headers that carry credentials: the standard ones and the call's header API keys."""
    if requirement is None:
        return _HIDDEN_METADATA
    keys = {
        scheme.parameter.lower()
        for option in requirement.options
        for scheme in option.schemes
        if scheme.type == "apiKey" and scheme.location == "header"
    }
    return _HIDDEN_METADATA | keys if keys else _HIDDEN_METADATA


def _request_document(ctx: CallContext) -> Any:
    request = ctx.request
    if isinstance(request, BaseModel):
        return request.model_dump(mode="json", by_alias=True)
    method = ctx.attributes.get(METHOD_ATTRIBUTE)
    request_type = getattr(method, "request_type", None)  # a message's operation has none
    if method is not None and request_type is not None and isinstance(request, request_type):
        return _proto_json(method.decode_request, request_type)(request)
    if isinstance(request, bytes) and ctx.kind == "message":
        # A message's body, not yet decoded (that happens right before the handler): JSON or nothing.
        try:
            return json.loads(request)
        except ValueError:
            return None
    # An OpenAPI operation's arguments (a Starlette Request is a Mapping), a job's payload.
    if isinstance(request, dict):
        return to_jsonable_python(request, by_alias=True, bytes_mode="base64")
    return None


@functools.cache
def _proto_json(codec_of: Callable[..., Any], message_type: type[Any]) -> Callable[[Any], Any]:
    # The transcoder's proto3 JSON mapping: the request reads as REST clients write it.
    from microlib.contract.message_json import message_json
    from microlib.contract.protojson import JsonOptions

    return message_json(codec_of, message_type, JsonOptions()).dump


def _cache_key(document: Mapping[str, Any]) -> str:
    metadata = document["metadata"]
    host, colon, port = document["peer"].rpartition(":")
    stable = {
        **document,
        "peer": host if colon and port.isdigit() else document["peer"],
        "metadata": {k: v for k, v in metadata.items() if k not in _PER_REQUEST_METADATA},
    }
    return json.dumps(stable, sort_keys=True, default=str)


class RegoPolicy:
    """Rego modules evaluated in-process by rego-cpp (``regopy``).

    Evaluation runs in a worker thread (it takes hundreds of microseconds),
    one at a time, as an interpreter holds a single input.

    Args:
        modules: Rego sources by name (a file name, for error messages).
        query: The rule to evaluate, e.g. ``data.microlib.authz.allow``.

    Raises:
        InvalidArgument: A module does not compile, naming it.
    """

    def __init__(self, modules: Mapping[str, str], *, query: str) -> None:
        from regopy import Interpreter  # the optional extra microlib[opa]

        self._interpreter = Interpreter()
        for name, source in modules.items():
            try:
                self._interpreter.add_module(name, source)
            except Exception as exc:
                raise InvalidArgument(f"Rego policy {name}: {exc}") from None
        self._query = f"decision__ := {query}"
        self._lock = threading.Lock()

    @classmethod
    def from_files(cls, paths: list[str], *, query: str) -> RegoPolicy:
        """Load policies from ``.rego`` files.

        Raises:
            InvalidArgument: A file cannot be read or compiled.
        """
        modules: dict[str, str] = {}
        for path in paths:
            try:
                modules[path] = Path(path).read_text(encoding="utf-8")
            except OSError as exc:
                raise InvalidArgument(f"Rego policy {path}: {exc.strerror}") from None
        return cls(modules, query=query)

    async def evaluate(self, document: Mapping[str, Any]) -> Any:
        """Evaluate the query for ``document``."""
        return await asyncio.to_thread(self._evaluate, document)

    def _evaluate(self, document: Mapping[str, Any]) -> Any:
        with self._lock:
            self._interpreter.set_input(dict(document))
            output = self._interpreter.query(self._query)
        if not output.ok():
            log.error("rego_evaluation_failed", error=str(output))
            return None
        return output[0].bindings.get("decision__") if len(output) else None


class OpaHttpPolicy:
    """An OPA server's data API (``POST /v1/data/<path>`` with ``{"input": ...}``).

    Args:
        url: The decision URL, e.g. ``http://127.0.0.1:8181/v1/data/microlib/authz/allow``.
        client: The HTTP client; one is created if None.
        timeout: Seconds per decision request.
    """

    def __init__(self, url: str, *, client: httpx.AsyncClient | None = None, timeout: float = 2.0) -> None:
        self._url = url
        self.owns_client = client is None
        self.client = client or httpx.AsyncClient(timeout=timeout)

    async def evaluate(self, document: Mapping[str, Any]) -> Any:
        """Ask the server.

        Raises:
            Unavailable: OPA did not answer with a decision.
        """
        try:
            response = await self.client.post(self._url, json={"input": document})
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("opa_unavailable", url=self._url, error=f"{type(exc).__name__}: {exc}")
            raise Unavailable("the policy engine is unavailable", reason="OPA_UNAVAILABLE") from None
        return body.get("result") if isinstance(body, dict) else None


class OpaAuthorizer:
    """An authorizer (and lifecycle component) that asks an OPA policy.

    Args:
        engine: The policy engine.
        cache_ttl: Seconds a decision is reused for the same input; 0 disables.
        cache_size: Most decisions remembered.
        include_request: Put the decoded request in the input.
        name: The component name.

    Attributes:
        evaluations: Decisions asked of the engine (cache misses), for tests and metrics.
    """

    def __init__(
        self,
        engine: PolicyEngine,
        *,
        cache_ttl: float = 5.0,
        cache_size: int = 10_000,
        include_request: bool = False,
        name: str = "opa",
    ) -> None:
        self.name = name
        self._engine = engine
        self._ttl = cache_ttl
        self._size = cache_size
        self._include_request = include_request
        self._cache: OrderedDict[str, tuple[float, Decision]] = OrderedDict()
        self.evaluations = 0

    @classmethod
    def from_settings(cls, settings: OpaSettings, *, name: str = "opa") -> OpaAuthorizer:
        """Build from the ``security.opa`` settings.

        Raises:
            InvalidArgument: A policy file cannot be loaded.
        """
        engine: PolicyEngine
        if settings.url:
            engine = OpaHttpPolicy(settings.url, timeout=settings.timeout)
        else:
            engine = RegoPolicy.from_files(settings.policy_files, query=settings.query)
        return cls(
            engine,
            cache_ttl=settings.cache_ttl,
            cache_size=settings.cache_size,
            include_request=settings.include_request,
            name=name,
        )

    async def authorize(
        self, ctx: CallContext, principal: Principal, requirement: SecurityRequirement | None
    ) -> Decision:
        """Ask the policy (or the cache) about this call.

        Raises:
            Unavailable: The OPA server could not be reached.
        """
        document = policy_input(ctx, principal, requirement, include_request=self._include_request)
        key = _cache_key(document)
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit is not None and hit[0] > now:
            self._cache.move_to_end(key)
            return hit[1]
        self.evaluations += 1
        decision = _decision(await self._engine.evaluate(document))
        if self._ttl > 0 and self._size > 0:
            self._cache[key] = (now + self._ttl, decision)
            if len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return decision

    async def start(self) -> None:
        """Nothing to acquire: policies were compiled when built."""

    async def stop(self) -> None:
        """Close the HTTP client the engine owns."""
        if isinstance(self._engine, OpaHttpPolicy) and self._engine.owns_client:
            await self._engine.client.aclose()

    async def check(self) -> Mapping[str, Any] | None:
        """Report the cache size."""
        return {"cached_decisions": len(self._cache)}


def _decision(result: Any) -> Decision:
    if result is True:
        return Decision(True)
    if isinstance(result, Mapping) and result.get("allow") is True:
        return Decision(True)
    message = result.get("reason") if isinstance(result, Mapping) else None
    return Decision(False, str(message or "denied by policy"), "POLICY_DENIED")
