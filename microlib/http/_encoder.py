"""Turn a handler's result into status, body and media type, and check what no model vouches for."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import structlog
from pydantic import BaseModel
from pydantic_core import to_json

from microlib.core._formats import format_plan
from microlib.core._strict_json import contract_json
from microlib.core.errors import Internal
from microlib.http._reply import Reply
from microlib.http._responder import carries_content

if TYPE_CHECKING:
    from microlib.http._openapi_model import Operation, Response

__all__ = ["ResponseEncoder"]

log = structlog.get_logger("microlib.http")

_JSON = "application/json"


class ResponseEncoder:
    """Encodes the results of one operation.

    Args:
        op: The operation.
        validate: Check each response against its documented model.
    """

    def __init__(self, op: Operation, *, validate: bool) -> None:
        self.op = op
        self.validate = validate
        self.status = next(
            (int(r.status) for r in op.responses if r.status.isdigit() and r.status[0] == "2"), 200
        )
        self.media = next((r.media for r in op.responses if r.status == str(self.status)), None)
        self._media_cache: dict[int, str | None] = {}

    def encode(self, result: Any) -> tuple[int, bytes, str | None, list[tuple[bytes, bytes]]]:
        """``(status, body, media type, extra headers)`` for a handler's result.

        Args:
            result: A model, a ``Reply``, bytes, text, None or a JSON value.

        Returns:
            What to send.

        Raises:
            Internal: Response validation is on and the response breaks the
                document.
        """
        status, media, extra, typed = self.status, self.media, [], True
        if isinstance(result, Reply):
            reply = result
            status = reply.status or status
            # The cache asked first: a call only for a status not seen yet (or without a media type).
            try:
                media = reply.media_type or self._media_cache.get(status) or self._media_for(status) or media
            except TypeError:  # an unhashable status: Reply(201, order) took the order for it
                raise self._not_a_status(status) from None
            if reply.headers:
                extra = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers.items()]
            result = reply.body
        if result is None:
            body = b""
            status = 204 if status == 200 and self.status == 204 else status
        elif isinstance(result, BaseModel):
            body = result.__pydantic_serializer__.to_json(result, by_alias=True)
            media = media or _JSON
        elif isinstance(result, bytes):
            body, media = result, media or "application/octet-stream"
        elif isinstance(result, str):
            body, media = result.encode(), media or "text/plain; charset=utf-8"
        else:
            body, media = to_json(result, by_alias=True), media or _JSON
            typed = False
        if body and not carries_content(status):
            # A 304 with the representation it stands for (GitHub's not_modified): the status
            # says there is none, and a client reading the connection on would take it for the
            # next response.
            body, media = b"", None
        if self.validate:
            self._check_response(status, body)
        elif not typed:
            # A model is the document's by construction; a plain value (a dict, a list) is held to
            # it, as FastAPI holds every response to its response_model: not a 200 with a body the
            # document does not describe.
            self._check_body(self._documented(status), body)
        return status, body, media, extra

    def _media_for(self, status: int) -> str | None:
        if status not in self._media_cache:
            if type(status) is not int:
                raise self._not_a_status(status)
            response = self._documented(status)
            self._media_cache[status] = response.media if response is not None else None
        return self._media_cache[status]

    def _not_a_status(self, status: object) -> Internal:
        """The handler's Reply has something else than an int for its status, said where it is."""
        shown = type(status).__name__ if isinstance(status, BaseModel) else repr(status)
        message = (
            f"{self.op.operation_id} returned a Reply whose status is {shown}, not an int: "
            "the body comes first, the rest by keyword: Reply(body, status=201)"
        )
        log.error("reply status is not an int", method=self.op.operation_id, status=shown)
        return Internal(message)

    def _documented(self, status: int) -> Response | None:
        code = str(status)
        wildcard = f"{code[0]}XX"
        for wanted in (code, wildcard, "default"):
            for r in self.op.responses:
                if r.status.upper() == wanted:
                    return r
        return None

    def _check_response(self, status: int, body: bytes) -> None:
        response = self._documented(status)
        if response is None:
            log.error("undocumented response status", method=self.op.operation_id, status=status)
            raise Internal(f"{self.op.operation_id} answered with undocumented status {status}")
        self._check_body(response, body)

    def _check_body(self, response: Response | None, body: bytes) -> None:
        if response is None or response.model is None or not body:
            return
        model = response.model
        _, violations = contract_json(model.__pydantic_validator__, format_plan(model), body, "body")
        if violations:
            found = [f"{v.field}: {v.description}" for v in violations]
            log.error("response does not match the document", method=self.op.operation_id, violations=found)
            raise Internal(f"{self.op.operation_id} returned a response that does not match its schema")
