"""Send the webhooks and callbacks an OpenAPI document declares, checked against it.

``microlib codegen`` writes ``senders.py`` next to the handlers of a document
with ``webhooks`` (3.1) or ``callbacks``: one typed method per operation,
which calls :func:`send` here. The body is validated against the operation's
model before anything is sent, and the subscriber's answer must be a status
the operation documents.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import httpx
from pydantic import BaseModel, ValidationError

from microlib.core.errors import FailedPrecondition, InvalidArgument
from microlib.http._violations import body_violations

__all__ = ["send"]


async def send(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    body: Any,
    *,
    model: type[BaseModel] | None,
    documented: Collection[str],
    operation: str,
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    """Send one webhook or callback request.

    Args:
        client: The client to send it with (a traced one, for spans and metrics).
        method: The HTTP method.
        url: The subscriber's URL (a callback's expression resolved by the caller).
        body: The request body: the operation's model, or None without one.
        model: The operation's JSON body model, or None.
        documented: The response statuses the operation declares (``200``,
            ``2XX``, ``default``).
        operation: The operationId, for errors.
        headers: Further request headers.

    Returns:
        The subscriber's response.

    Raises:
        InvalidArgument: The body does not match the operation's model
            (nothing was sent), naming each field.
        FailedPrecondition: The subscriber answered a status the operation
            does not document.
    """
    content: bytes | None = None
    sent_headers = dict(headers or {})
    if model is not None and body is not None:
        # Again, from its own data: a model built with model_construct() or changed
        # after validation is checked here.
        data = body.model_dump(by_alias=True) if isinstance(body, BaseModel) else body
        try:
            checked = model.model_validate(data)
        except ValidationError as exc:
            violations = body_violations(exc, data)
            raise InvalidArgument(
                f"{operation}: the body does not match the document", violations=violations
            ) from None
        content = checked.model_dump_json(by_alias=True).encode()
        sent_headers.setdefault("content-type", "application/json")
    response = await client.request(method, url, content=content, headers=sent_headers)
    if not _documented(str(response.status_code), documented):
        raise FailedPrecondition(
            f"{operation}: {url} answered {response.status_code}, which the document does not declare "
            f"({', '.join(sorted(documented))})",
            reason="UNDOCUMENTED_STATUS",
        )
    return response


def _documented(status: str, documented: Collection[str]) -> bool:
    return status in documented or f"{status[0]}XX" in documented or "default" in documented
