"""Keep the ``google.api.http`` bindings microlib can serve; explain the others.

A binding that names a field the request (or response) does not have, binds
a path variable to a repeated field, sits on a client-streaming RPC, or
carries a ``google.api.HttpBody`` cannot be transcoded. It is left out of the
generated definition and document with the reason; the rest of the contract
is generated.
"""

from __future__ import annotations

import re

from microlib_codegen.model import Field, FieldKind, HttpBinding, MessageType, Method

__all__ = ["binding_problem", "field_path"]

_VARIABLE = re.compile(r"\{([^}=]+)(?:=[^}]*)?\}")
# The HTTP rule sends this message raw, its `data` as the body under its `content_type`.
_HTTP_BODY = "google.api.HttpBody"


def field_path(messages: dict[str, MessageType], message: MessageType, dotted: str) -> list[Field] | None:
    """The fields a dotted path (proto or JSON names) walks through, or None
    when a name is missing or the walk passes through a repeated, map or
    non-message field."""
    chain: list[Field] = []
    current: MessageType | None = message
    for part in dotted.split("."):
        if current is None:
            return None
        found = next((f for f in current.fields if part in (f.name, f.json_name)), None)
        if found is None:
            return None
        chain.append(found)
        singular = not found.repeated and found.map_key is None
        is_message = found.kind is FieldKind.MESSAGE and found.type is not None
        current = messages.get(found.type.full_name) if singular and is_message and found.type else None
    return chain


def binding_problem(messages: dict[str, MessageType], method: Method, binding: HttpBinding) -> str | None:
    """Why ``binding`` of ``method`` cannot be served, or None when it can."""
    if method.client_streaming:
        return "a client-streaming RPC cannot be transcoded"
    request = messages[method.input.full_name]
    for variable in _VARIABLE.findall(binding.path):
        chain = field_path(messages, request, variable)
        if chain is None or any(f.repeated or f.map_key is not None for f in chain):
            return f"path variable {variable!r} is not a singular field of {request.ref.full_name}"
    if binding.body not in ("", "*") and field_path(messages, request, binding.body) is None:
        return f"body {binding.body!r} is not a field of {request.ref.full_name}"
    response = messages[method.output.full_name]
    if binding.response_body not in ("", "*") and not any(
        f.name == binding.response_body for f in response.fields
    ):
        return f"response_body {binding.response_body!r} is not a field of {response.ref.full_name}"
    raw = [
        side
        for side, message, body in (
            ("request", request, binding.body),
            ("response", response, binding.response_body),
        )
        if (body or side == "response") and _carried(messages, message, body) == _HTTP_BODY
    ]
    if raw:
        return (
            f"the {' and '.join(raw)} body is a {_HTTP_BODY}, which the rule sends as raw bytes under its "
            "content_type; microlib transcodes JSON only (the RPC is still served over gRPC)"
        )
    return None


def _carried(messages: dict[str, MessageType], message: MessageType, body: str) -> str:
    """The full name of the message an HTTP body carries: ``message`` for ``*`` (or a response's
    ``""``), else the message type of the field ``body`` names ("" for a scalar)."""
    if body in ("", "*"):
        return message.ref.full_name
    chain = field_path(messages, message, body) or []
    kind = chain[-1].type if chain else None
    return kind.full_name if kind is not None else ""
