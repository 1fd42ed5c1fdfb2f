"""Build a request message from an HTTP request, as one ``HttpRule`` says.

Order of precedence: the body (``*`` or one field, which may be a nested
field's dotted path, as grpc-gateway allows) first, then path variables,
which replace any value the body gave the same field (the path binds it),
then query parameters for the fields neither binds. A body bound to a
``google.api.HttpBody`` is not JSON: its bytes are the message's ``data``,
its ``Content-Type`` the message's ``content_type``, as grpc-gateway reads it.
"""

from __future__ import annotations

import base64
import json
import re
from collections import defaultdict
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

import pydantic_core
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.field_mask_pb2 import FieldMask
from starlette.types import Message, Receive, Scope

from microlib.contract.definition import HttpRule, MethodDefinition
from microlib.contract.message_json import MessageJson
from microlib.core._json_depth import MAX_JSON_DEPTH, check_json_depth
from microlib.core.errors import Cancelled, FieldViolation, InvalidArgument
from microlib.http._transcode_fields import field_chain, json_path, put, put_entry
from microlib.http._transcode_path import PathTemplate

__all__ = ["RequestBuilder", "read_body"]

# RFC 8259's whitespace: bytes.strip() also drops form feed and vertical tab, which
# JSON does not allow, so a body of those alone would pass for an empty one.
_JSON_WHITESPACE = b" \t\n\r"
# The well-known types whose proto3 JSON is not an object: a wrapper is its bare value
# (`"foo"`, `5`), a Timestamp or a Duration a string, a ListValue an array, a Value anything.
# Each with the JSON of its default, which an empty body or null gives (null unsets a value,
# as the served document's nullable body says), but for a Value, where null is a value.
_NOT_OBJECTS: dict[str, Any] = {
    f"google.protobuf.{name}": default
    for name, default in (
        ("DoubleValue", 0),
        ("FloatValue", 0),
        ("Int64Value", "0"),
        ("UInt64Value", "0"),
        ("Int32Value", 0),
        ("UInt32Value", 0),
        ("BoolValue", False),
        ("StringValue", ""),
        ("BytesValue", ""),
        ("Timestamp", "1970-01-01T00:00:00Z"),
        ("Duration", "0s"),
        ("FieldMask", ""),
        ("Value", None),
        ("ListValue", []),
    )
}


class RequestBuilder:
    """Turns path values, query and body into the method's request message.

    Args:
        method: The RPC.
        rule: The binding being served.
        template: Its compiled path template.
        request_json: The request's JSON mapping.
        ignore_unknown: Skip unknown query parameters instead of rejecting.

    Raises:
        ValueError: The rule names fields the request does not have.
    """

    def __init__(
        self,
        method: MethodDefinition,
        rule: HttpRule,
        template: PathTemplate,
        request_json: MessageJson,
        *,
        ignore_unknown: bool,
        max_json_depth: int = MAX_JSON_DEPTH,
    ) -> None:
        descriptor = request_json.upb_type.DESCRIPTOR
        self._max_json_depth = max_json_depth
        self._descriptor = descriptor
        # The generated converter and its options, called without MessageJson.load's frame.
        self._from_json, self._options = request_json.from_json, request_json.options
        self._ignore_unknown = ignore_unknown
        self._star = rule.body == "*"
        # body "*" of such a request (grpc-gateway's wrappers example) is its whole JSON value.
        self._bare = self._star and descriptor.full_name in _NOT_OBJECTS and not template.variables
        self._bare_default = _NOT_OBJECTS.get(descriptor.full_name)
        self._body_chain: list[FieldDescriptor] = []
        self._body_takes_null = False  # only a body bound to a singular google.protobuf.Value
        if rule.body and not self._star:
            chain = field_chain(descriptor, rule.body.split("."))
            if chain is None or any(_repeated(fd) for fd in chain[:-1]):
                raise ValueError(
                    f"{method.name}: body {rule.body!r} is not a field of {descriptor.full_name}"
                )
            self._body_chain = chain
            last = chain[-1]
            self._body_takes_null = (
                not _repeated(last)
                and last.message_type is not None
                and last.message_type.full_name == "google.protobuf.Value"
            )
        carried = (
            self._body_chain[-1].message_type if self._body_chain else descriptor if self._star else None
        )
        self._raw = carried is not None and carried.full_name == "google.api.HttpBody"
        self._path: dict[tuple[str, ...], list[FieldDescriptor]] = {}
        for var in template.variables:
            chain = field_chain(descriptor, var.field_path)
            if chain is None or any(_repeated(fd) for fd in chain):
                raise ValueError(
                    f"{method.name}: path {rule.path!r} binds {'.'.join(var.field_path)!r}, "
                    f"not a singular field of {descriptor.full_name}"
                )
            self._path[var.field_path] = chain
        self._whole_path = frozenset(tuple(fd.name for fd in c) for c in self._path.values())
        # A query parameter may set any field outside what the path and the body bind.
        body = (tuple(fd.name for fd in self._body_chain),) if self._body_chain else ()
        self._bound = frozenset((*self._whole_path, *body))
        self.has_body = bool(rule.body)
        # grpc-gateway's PATCH: a body bound to a message field of a request with a FieldMask
        # `update_mask` that the query leaves unset gets the paths the body sets (AIP-134: an
        # empty mask would replace the whole resource).
        mask = descriptor.fields_by_name.get("update_mask")
        self._patched = (
            self._body_chain[-1].message_type
            if rule.method == "PATCH"
            and self._body_chain
            and not _repeated(self._body_chain[-1])
            and mask is not None
            and not _repeated(mask)
            and mask.message_type is not None
            and mask.message_type.full_name == "google.protobuf.FieldMask"
            else None
        )

    def build(self, scope: Scope, body: bytes, values: dict[tuple[str, ...], str]) -> Any:
        """The request message, of the request's whole ``body`` (read by the caller
        when :attr:`has_body`: no coroutine of the builder's own per request).

        Raises:
            InvalidArgument: Malformed JSON, a wrong type, an unknown field
                (unless ignored), each naming the field's JSON path.
        """
        document: dict[str, Any] = {}
        if self._bare:
            return self._bare_message(scope, body)
        if self._raw:
            self._put_body(document, _http_body(scope, body))
        elif self.has_body and body.strip(_JSON_WHITESPACE):
            _check_media_type(scope)
            check_json_depth(body, self._max_json_depth)
            value = _parse(body)
            if self._star:
                if not isinstance(value, dict):
                    raise _invalid("", "the body must be a JSON object", "type")
                document = value
            else:
                if value is None and not self._body_takes_null:
                    # proto3 JSON reads null as "unset", but the document describes the body
                    # as its field's type, which null is not: refused, as any other wrong type.
                    raise _invalid("", "the body must not be null", "type")
                self._put_body(document, value)
                if self._patched is not None and isinstance(value, dict):
                    mask = _body_mask(self._patched, value, scope["query_string"])
                    if mask is not None:
                        document["updateMask"] = mask
        for path, text in values.items():
            put(document, self._path[path], [text])
        query = scope["query_string"]
        if query and not self._star:
            self._query(document, query.decode("latin-1"))
        return self._from_json(document, "", self._options)

    def _put_body(self, document: dict[str, Any], value: Any) -> None:
        """Set the body's value in ``document``: the whole of it for ``*``, else the bound field."""
        if self._star:
            document.update(value)
            return
        target = document
        for fd in self._body_chain[:-1]:
            target = target.setdefault(fd.json_name, {})
        target[self._body_chain[-1].json_name] = value

    def _bare_message(self, scope: Scope, body: bytes) -> Any:
        """A request whose JSON is not an object, from the whole body (null or none: the default)."""
        value = None
        if body.strip(_JSON_WHITESPACE):
            _check_media_type(scope)
            check_json_depth(body, self._max_json_depth)
            value = _parse(body)
        return self._from_json(self._bare_default if value is None else value, "", self._options)

    def _query(self, document: dict[str, Any], query: str) -> None:
        grouped: dict[str, list[str]] = defaultdict(list)
        for key, value in parse_qsl(query, keep_blank_values=True):
            grouped[key].append(value)
        for key, texts in grouped.items():
            # `labels[env]=prod` sets one entry of the map `labels`, as grpc-gateway reads it.
            field, bracket, entry = key.partition("[")
            if bracket and not entry.endswith("]"):
                field, bracket = key, ""
            chain = field_chain(self._descriptor, field.split("."))
            if chain is None:
                if self._ignore_unknown:
                    continue
                raise _invalid(key, f"unknown query parameter {key!r}", "unknown")
            names = tuple(fd.name for fd in chain)
            if names in self._whole_path:
                continue
            if any(names[: len(b)] == b or b[: len(names)] == names for b in self._bound):
                raise _invalid(json_path(chain), "is bound by the path or the body, not the query", "bound")
            if bracket:
                put_entry(document, chain, entry[:-1], texts)
            else:
                put(document, chain, texts)


# `update_mask` or `updateMask` among a query's parameters.
_MASK_PARAMETER = re.compile(rb"(?:^|&)update(?:_m|M)ask=")


def _body_mask(descriptor: Descriptor, body: dict[str, Any], query: bytes) -> str | None:
    """``update_mask`` (its JSON form) from the fields ``body`` sets, unless the query gives one.

    None too when a path has a name FieldMask's JSON form cannot carry (an uppercase letter:
    proto's style guide has none): the mask is then left unset.
    """
    if _MASK_PARAMETER.search(query):
        return None
    # protobuf's own JSON form of a FieldMask: lowerCamelCase paths, refused where it has none.
    mask = FieldMask(paths=[".".join(names) for names in _set_paths(descriptor, body, ())])
    try:
        return mask.ToJsonString()
    except ValueError:
        return None


def _set_paths(
    descriptor: Descriptor, body: dict[str, Any], prefix: tuple[str, ...]
) -> Iterator[tuple[str, ...]]:
    """The proto-name path of each field ``body`` sets, through its nested messages' objects.

    A repeated field, a map, a well-known type (a Struct's keys are no fields) and a value
    that is no object end a path; an unknown key is left to the JSON mapping to refuse.
    """
    for key, value in body.items():
        chain = field_chain(descriptor, [key])
        if chain is None:
            continue
        fd = chain[0]
        path = (*prefix, fd.name)
        nested = fd.message_type
        if (
            nested is None
            or _repeated(fd)
            or not isinstance(value, dict)
            or nested.full_name.startswith("google.protobuf.")
        ):
            yield path
        else:
            yield from _set_paths(nested, value, path)


def _repeated(fd: FieldDescriptor) -> bool:
    return bool(fd.is_repeated)


async def read_body(receive: Receive, message: Message) -> bytes:
    """The whole body, ``message`` being the first message received."""
    chunks: list[bytes] = []
    while True:
        if message["type"] == "http.disconnect":
            raise Cancelled("the client disconnected before sending the body")
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)
        message = await receive()


def _parse(body: bytes) -> Any:
    if body[:1] == b"{":
        try:
            # pydantic-core's parser (Rust) reads an object in a quarter of json's instructions
            # and accepts no document json refuses, nor reads one differently (big integers
            # included; test_transcoding_parse holds it to json.loads). Anything it refuses
            # (lone surrogates, which json keeps) goes to json, for json's value or message.
            return pydantic_core.from_json(body)
        except ValueError:
            pass
    try:
        return json.loads(body)
    except ValueError as exc:
        raise _invalid("", f"malformed JSON: {exc}", "json") from None


def _http_body(scope: Scope, body: bytes) -> dict[str, str]:
    """The proto3 JSON of the ``google.api.HttpBody`` a raw body is: any media type, as sent."""
    media = next((value for name, value in scope["headers"] if name == b"content-type"), b"")
    return {"contentType": media.decode("latin-1"), "data": base64.b64encode(body).decode("ascii")}


def _check_media_type(scope: Scope) -> None:
    # Only JSON: a form or text/plain body is one a browser sends cross-site
    # without a CORS preflight.
    for name, value in scope["headers"]:
        if name == b"content-type":
            if value == b"application/json":
                return  # the usual header, as it is: nothing to take off or lower
            media = value.split(b";", 1)[0].strip().lower()
            if media == b"application/json":
                return
            break
    else:
        media = b""
    shown = media.decode("latin-1") or "(none)"
    raise InvalidArgument(
        f"unsupported content type {shown!r}; expected application/json",
        reason="UNSUPPORTED_MEDIA_TYPE",
        violations=[FieldViolation("header.Content-Type", "Expected application/json", "media_type")],
    )


def _invalid(path: str, description: str, rule: str) -> InvalidArgument:
    # The body itself (unreadable, not an object) is named `body`, never "".
    where = path or "body"
    return InvalidArgument(f"{where}: {description}", violations=[FieldViolation(where, description, rule)])
