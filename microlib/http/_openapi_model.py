"""What ``microlib codegen`` describes an OpenAPI document's operations with.

Users and generated code import these from :mod:`microlib.http.openapi`. They live
here, below the app and everything that serves an operation (parameters, forms,
the response encoder, error shapes), which all read them: in ``openapi`` itself,
next to the app that imports those modules, each of them imported the app back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel

__all__ = ["Body", "Location", "Operation", "Parameter", "Response"]

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
