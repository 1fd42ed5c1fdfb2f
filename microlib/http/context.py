"""The one place an HTTP request becomes a :class:`~microlib.core.context.CallContext`.

Plain routes, OpenAPI operations and transcoded RPCs all call
:func:`context_from_scope`, so every door gives the chain the same context:
lower-cased headers as metadata, the peer, the route, the verified client
certificate, the path values and the caller's deadline.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from microlib.core.context import CallContext, Rejected
from microlib.core.errors import Error, FieldViolation, InvalidArgument
from microlib.core.tls import CLIENT_CERTIFICATE_ATTRIBUTE, CLIENT_SUBJECT_ATTRIBUTE, subject_of

__all__ = ["TIMEOUT_HEADER", "context_from_scope"]

TIMEOUT_HEADER = "x-request-timeout"
"""The request header that carries a client deadline, in seconds, as Envoy
and grpc-gateway clients send it."""


def context_from_scope(
    scope: Mapping[str, Any],
    service: str,
    method: str,
    route: str,
    path_params: Mapping[str, Any],
    attributes: Mapping[str, Any] | None = None,
) -> CallContext:
    """The CallContext of an ASGI HTTP scope.

    The doors serving every request pass the arguments by position: keywords cost more to match.

    Args:
        scope: The ASGI scope.
        service: The API name spans and metrics report.
        method: The method within it (an RPC name, an operationId, a route template).
        route: The route template, set as the ``http.route`` attribute.
        path_params: The path's values, set as ``http.path_params``.
        attributes: More attributes the route always carries (its access rule).

    Returns:
        A context with lower-cased headers as metadata (repeated headers
        joined with ``", "``), the peer, ``http.route``/``http.method``,
        the verified client certificate of a mutual-TLS connection, and the
        deadline of ``X-Request-Timeout``; a bad deadline makes the request
        :class:`~microlib.core.context.Rejected`, raised by the chain once
        access is decided (401 before 400).
    """
    raw_headers = scope["headers"]
    # ASGI servers send lower-case names; repeated headers are rare, so join them only then.
    metadata: dict[str, str] = {}
    names = _NAMES
    for k, v in raw_headers:  # a loop, not a comprehension: no frame of its own
        metadata[names[k]] = v.decode("latin-1")
    if len(metadata) != len(raw_headers):
        metadata = {}
        for k, v in raw_headers:
            name, value = k.decode("latin-1").lower(), v.decode("latin-1")
            metadata[name] = f"{metadata[name]}, {value}" if name in metadata else value
    client = scope.get("client")
    values = {"http.route": route, "http.method": scope["method"], "http.path_params": path_params}
    # Every field by position, in the dataclass's order (kind, service, method, metadata,
    # deadline, peer, request, send, principal, response_metadata, response_trailers,
    # attributes): matching keywords costs more than the rest of the call. Literals rather
    # than the default factories: a type call less each.
    ctx = CallContext(
        "http",
        service,
        method,
        metadata,
        None,
        f"{client[0]}:{client[1]}" if client else "",
        None,
        None,
        None,
        {},
        {},
        {**attributes, **values} if attributes else values,
    )
    if "extensions" in scope:
        _add_client_certificate(scope["extensions"], ctx.attributes)
    timeout = metadata.get(TIMEOUT_HEADER)
    if timeout is not None:
        try:
            ctx.deadline = _deadline(timeout)
        except Error as exc:
            ctx.request = Rejected(exc)
    return ctx


class _Names(dict[bytes, str]):
    """Header names as text, each decoded once: a lookup per header instead of a decode.

    The names servers see are few; once ``_NAMES_KEPT`` are kept (a client
    sending made-up names), others are decoded each time, not kept.
    """

    __slots__ = ()

    def __missing__(self, name: bytes) -> str:
        text = name.decode("latin-1")
        if len(self) < _NAMES_KEPT:
            self[name] = text
        return text


_NAMES_KEPT = 256
_NAMES = _Names()


def _add_client_certificate(extensions: Mapping[str, Any] | None, attributes: dict[str, Any]) -> None:
    """Copy the client certificate the server verified (ASGI TLS extension) into ``attributes``."""
    tls = extensions.get("tls") if extensions else None
    # Only a certificate the server verified: another server may pass one on with its error.
    if tls and tls.get("client_cert_chain") and tls.get("client_cert_error") is None:
        pem = tls["client_cert_chain"][0]
        attributes[CLIENT_CERTIFICATE_ATTRIBUTE] = pem
        attributes[CLIENT_SUBJECT_ATTRIBUTE] = subject_of(pem)


def _deadline(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise InvalidArgument(
            f"header {TIMEOUT_HEADER} must be a positive number of seconds, got {value!r}",
            violations=[FieldViolation(f"header.{TIMEOUT_HEADER}", "must be a positive number", "gt")],
        )
    return time.monotonic() + seconds
