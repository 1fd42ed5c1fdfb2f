"""The content codings a door reads a request body in: none (``identity``).

A body sent with ``Content-Encoding: gzip`` (or any coding) is refused with 415 and
``Accept-Encoding: identity``, as RFC 9110 (sections 12.5.3 and 15.5.16) asks of a server that
does not decode it, rather than read as malformed JSON. Neither FastAPI, connexion nor
grpc-gateway decodes request bodies either; a proxy in front may (docs/http.md).
"""

from __future__ import annotations

from collections.abc import Mapping

from microlib.core.errors import FieldViolation, InvalidArgument

__all__ = ["ACCEPT_ENCODING", "UNSUPPORTED_CODING", "check_content_coding"]

UNSUPPORTED_CODING = "UNSUPPORTED_CONTENT_ENCODING"
"""The reason of the refusal: 415 and :data:`ACCEPT_ENCODING` wherever it is rendered."""

ACCEPT_ENCODING = (b"accept-encoding", b"identity")
"""The header a refusal carries: what a body may be sent in."""


def check_content_coding(headers: Mapping[str, str]) -> None:
    """Refuse a body in a content coding: ``headers`` are the request's, lower-cased.

    Raises:
        InvalidArgument: Its ``Content-Encoding`` names a coding other than ``identity``.
    """
    coding = headers.get("content-encoding")
    if coding is None:
        return
    if all(part.strip().lower() in ("identity", "") for part in coding.split(",")):
        return
    raise InvalidArgument(
        f"unsupported content coding {coding!r}: send the body as it is, without Content-Encoding",
        reason=UNSUPPORTED_CODING,
        violations=[
            FieldViolation("header.Content-Encoding", "Expected identity (no coding)", "content_coding")
        ],
    )
