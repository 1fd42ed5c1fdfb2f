"""How each RPC shape reads in Python: servicer, client and stub signatures.

Shared by the renderer (the generated interface and client), the user stubs
and the drift report, so all three always agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from microlib_codegen.model import Method

__all__ = ["ServerSignature", "client_parts", "kind_name", "server_signature"]

_CLIENT_OPTIONS = "*, timeout: float | None = None, metadata: Metadata | None = None"


@dataclass(frozen=True, slots=True)
class ServerSignature:
    """A servicer method's expected shape.

    Args:
        is_async: ``async def`` (unary response) or a plain ``def`` returning
            an async iterator (streaming response: an async generator).
        parameter: ``request`` or ``requests``.
        parameter_type: The request annotation.
        return_type: The return annotation.
        text: The whole ``def`` line, colon included.
    """

    is_async: bool
    parameter: str
    parameter_type: str
    return_type: str
    text: str


def kind_name(method: Method) -> str:
    """The ``MethodKind`` member name for ``method``."""
    left = "STREAM" if method.client_streaming else "UNARY"
    right = "STREAM" if method.server_streaming else "UNARY"
    return f"{left}_{right}"


def server_signature(method: Method, request: str, response: str) -> ServerSignature:
    """The servicer signature of ``method`` given the local type names."""
    parameter = "requests" if method.client_streaming else "request"
    parameter_type = f"AsyncIterator[{request}]" if method.client_streaming else request
    return_type = f"AsyncIterator[{response}]" if method.server_streaming else response
    is_async = not method.server_streaming
    prefix = "async def" if is_async else "def"
    params = f"self, {parameter}: {parameter_type}, ctx: CallContext"
    text = f"{prefix} {method.python_name}({params}) -> {return_type}:"
    return ServerSignature(is_async, parameter, parameter_type, return_type, text)


def client_parts(method: Method, request: str, response: str) -> dict[str, str]:
    """The client method's ``def`` line, call and result type."""
    sig = server_signature(method, request, response)
    call = f"self._{kind_name(method).lower()}"
    if sig.is_async:
        call = f"await {call}"
    text = (
        f"{'async def' if sig.is_async else 'def'} {method.python_name}(\n"
        f"        self,\n"
        f"        {sig.parameter}: {sig.parameter_type},\n"
        f"        {_CLIENT_OPTIONS},\n"
        f"    ) -> {sig.return_type}:"
    )
    return {
        "client_def": text,
        "client_call": call,
        "client_result": sig.return_type,
        "client_arg": sig.parameter,
    }
