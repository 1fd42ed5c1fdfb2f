# Generated from bookshop/v1/bookshop.proto by microlib-codegen 0.1.0. DO NOT EDIT.
"""Converters between the betterproto2 messages users see and upb messages.

upb does the wire work; these functions only move field values across.
``CODECS`` maps each message class to its :class:`MessageCodec`; ``JSON``
maps it to its proto3 JSON converters (``to_json_X``, ``from_json_X``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from google.protobuf.unknown_fields import UnknownFieldSet

from microlib.contract import codec as _c
from microlib.contract import protojson as _j
from microlib.grpc.validation import make_validator

from . import _descriptors
from ._messages.bookshop import v1 as _m_bookshop__v1
from ._messages.google import protobuf as _m_google__protobuf

__all__ = ["CODECS", "JSON"]

_pb_bookshop__v1__Book = _descriptors.message_class("bookshop.v1.Book")
_pb_bookshop__v1__CreateBookRequest = _descriptors.message_class("bookshop.v1.CreateBookRequest")
_pb_bookshop__v1__GetBookRequest = _descriptors.message_class("bookshop.v1.GetBookRequest")
_pb_bookshop__v1__ListBooksRequest = _descriptors.message_class("bookshop.v1.ListBooksRequest")
_pb_bookshop__v1__ListBooksResponse = _descriptors.message_class("bookshop.v1.ListBooksResponse")
_pb_bookshop__v1__StreamBooksRequest = _descriptors.message_class("bookshop.v1.StreamBooksRequest")
_pb_google__protobuf__Timestamp = _descriptors.message_class("google.protobuf.Timestamp")


def to_pb_bookshop__v1__Book(m: _m_bookshop__v1.Book, p: Any = None) -> Any:
    if p is None:
        p = _pb_bookshop__v1__Book()
    p.id = m.id
    p.shelf = m.shelf
    p.title = m.title
    p.author = m.author
    p.price_cents = m.price_cents
    p.tags.extend(m.tags)
    if (v7 := m.created_at) is not None:
        _c.write_timestamp(p.created_at, v7)
    if m._unknown_fields:
        p.MergeFromString(m._unknown_fields)
    return p


def from_pb_bookshop__v1__Book(p: Any) -> _m_bookshop__v1.Book:
    m = _m_bookshop__v1.Book(
        p.id,  # id
        p.shelf,  # shelf
        p.title,  # title
        p.author,  # author
        p.price_cents,  # price_cents
        p.tags[:],  # tags
        _c.timestamp_from_pb(p.created_at) if p.HasField("created_at") else None,  # created_at
    )
    if UnknownFieldSet(p):
        m._unknown_fields = _c.unknown_fields(p)
    return m


def to_pb_bookshop__v1__CreateBookRequest(
    m: _m_bookshop__v1.CreateBookRequest, p: Any = None
) -> Any:
    if p is None:
        p = _pb_bookshop__v1__CreateBookRequest()
    p.shelf = m.shelf
    if (v2 := m.book) is not None:
        to_pb_bookshop__v1__Book(v2, p.book)
    if m._unknown_fields:
        p.MergeFromString(m._unknown_fields)
    return p


def from_pb_bookshop__v1__CreateBookRequest(p: Any) -> _m_bookshop__v1.CreateBookRequest:
    m = _m_bookshop__v1.CreateBookRequest(
        p.shelf,  # shelf
        from_pb_bookshop__v1__Book(p.book) if p.HasField("book") else None,  # book
    )
    if UnknownFieldSet(p):
        m._unknown_fields = _c.unknown_fields(p)
    return m


def to_pb_bookshop__v1__GetBookRequest(m: _m_bookshop__v1.GetBookRequest, p: Any = None) -> Any:
    if p is None:
        p = _pb_bookshop__v1__GetBookRequest()
    p.id = m.id
    if m._unknown_fields:
        p.MergeFromString(m._unknown_fields)
    return p


def from_pb_bookshop__v1__GetBookRequest(p: Any) -> _m_bookshop__v1.GetBookRequest:
    m = _m_bookshop__v1.GetBookRequest(
        p.id,  # id
    )
    if UnknownFieldSet(p):
        m._unknown_fields = _c.unknown_fields(p)
    return m


def to_pb_bookshop__v1__ListBooksRequest(m: _m_bookshop__v1.ListBooksRequest, p: Any = None) -> Any:
    if p is None:
        p = _pb_bookshop__v1__ListBooksRequest()
    p.shelf = m.shelf
    p.page_size = m.page_size
    p.page_token = m.page_token
    if m._unknown_fields:
        p.MergeFromString(m._unknown_fields)
    return p


def from_pb_bookshop__v1__ListBooksRequest(p: Any) -> _m_bookshop__v1.ListBooksRequest:
    m = _m_bookshop__v1.ListBooksRequest(
        p.shelf,  # shelf
        p.page_size,  # page_size
        p.page_token,  # page_token
    )
    if UnknownFieldSet(p):
        m._unknown_fields = _c.unknown_fields(p)
    return m


def to_pb_bookshop__v1__ListBooksResponse(
    m: _m_bookshop__v1.ListBooksResponse, p: Any = None
) -> Any:
    if p is None:
        p = _pb_bookshop__v1__ListBooksResponse()
    add = p.books.add
    for v1 in m.books:
        to_pb_bookshop__v1__Book(v1, add())
    p.next_page_token = m.next_page_token
    if m._unknown_fields:
        p.MergeFromString(m._unknown_fields)
    return p


def from_pb_bookshop__v1__ListBooksResponse(p: Any) -> _m_bookshop__v1.ListBooksResponse:
    m = _m_bookshop__v1.ListBooksResponse(
        [from_pb_bookshop__v1__Book(v) for v in p.books],  # books
        p.next_page_token,  # next_page_token
    )
    if UnknownFieldSet(p):
        m._unknown_fields = _c.unknown_fields(p)
    return m


def to_pb_bookshop__v1__StreamBooksRequest(
    m: _m_bookshop__v1.StreamBooksRequest, p: Any = None
) -> Any:
    if p is None:
        p = _pb_bookshop__v1__StreamBooksRequest()
    p.shelf = m.shelf
    if m._unknown_fields:
        p.MergeFromString(m._unknown_fields)
    return p


def from_pb_bookshop__v1__StreamBooksRequest(p: Any) -> _m_bookshop__v1.StreamBooksRequest:
    m = _m_bookshop__v1.StreamBooksRequest(
        p.shelf,  # shelf
    )
    if UnknownFieldSet(p):
        m._unknown_fields = _c.unknown_fields(p)
    return m


def to_pb_google__protobuf__Timestamp(m: _m_google__protobuf.Timestamp, p: Any = None) -> Any:
    if p is None:
        p = _pb_google__protobuf__Timestamp()
    p.seconds = m.seconds
    p.nanos = m.nanos
    if m._unknown_fields:
        p.MergeFromString(m._unknown_fields)
    return p


def from_pb_google__protobuf__Timestamp(p: Any) -> _m_google__protobuf.Timestamp:
    m = _m_google__protobuf.Timestamp(
        p.seconds,  # seconds
        p.nanos,  # nanos
    )
    if UnknownFieldSet(p):
        m._unknown_fields = _c.unknown_fields(p)
    return m


def to_json_bookshop__v1__Book(m: _m_bookshop__v1.Book, o: _j.JsonOptions) -> dict[str, Any]:
    n = o.original_names
    e = o.emit_defaults
    v: Any
    d: dict[str, Any] = {}
    v = m.id
    if v or e:
        d["id"] = v if type(v) is str else _j.string_out(v)
    v = m.shelf
    if v or e:
        d["shelf"] = v if type(v) is str else _j.string_out(v)
    v = m.title
    d["title"] = v if type(v) is str else _j.string_out(v)
    v = m.author
    d["author"] = v if type(v) is str else _j.string_out(v)
    v = m.price_cents
    if v or e:
        d["price_cents" if n else "priceCents"] = str(v if type(v) is int else _j.integer_out(v))
    v = m.tags
    if v or e:
        d["tags"] = [(x if type(x) is str else _j.string_out(x)) for x in v]
    v = m.created_at
    if v is not None:
        d["created_at" if n else "createdAt"] = _j.timestamp_out(v)
    return d


_FJ_bookshop__v1__Book: dict[str, tuple[str, str, _j.Parse, bool, type | None]] = {}


def from_json_bookshop__v1__Book(d: Any, p: str, o: _j.JsonOptions) -> _m_bookshop__v1.Book:
    if type(d) is not dict:
        raise _j.bad(p, "expected a JSON object for bookshop.v1.Book")
    kw: dict[str, Any] = {}
    fields = _FJ_bookshop__v1__Book
    for k, v in d.items():
        f = fields.get(k)
        if f is None:
            if o.ignore_unknown:
                continue
            raise _j.unknown(p, k)
        if v is None and f[3]:
            continue
        if type(v) is f[4]:
            kw[f[0]] = v
        else:
            kw[f[0]] = f[2](v, f"{p}.{f[1]}" if p else f[1], o)
    return _m_bookshop__v1.Book(**kw)


def to_json_bookshop__v1__CreateBookRequest(
    m: _m_bookshop__v1.CreateBookRequest, o: _j.JsonOptions
) -> dict[str, Any]:
    n = o.original_names
    e = o.emit_defaults
    v: Any
    d: dict[str, Any] = {}
    v = m.shelf
    d["shelf"] = v if type(v) is str else _j.string_out(v)
    v = m.book
    if v is not None:
        d["book"] = to_json_bookshop__v1__Book(v, o)
    return d


_FJ_bookshop__v1__CreateBookRequest: dict[str, tuple[str, str, _j.Parse, bool, type | None]] = {}


def from_json_bookshop__v1__CreateBookRequest(
    d: Any, p: str, o: _j.JsonOptions
) -> _m_bookshop__v1.CreateBookRequest:
    if type(d) is not dict:
        raise _j.bad(p, "expected a JSON object for bookshop.v1.CreateBookRequest")
    kw: dict[str, Any] = {}
    fields = _FJ_bookshop__v1__CreateBookRequest
    for k, v in d.items():
        f = fields.get(k)
        if f is None:
            if o.ignore_unknown:
                continue
            raise _j.unknown(p, k)
        if v is None and f[3]:
            continue
        if type(v) is f[4]:
            kw[f[0]] = v
        else:
            kw[f[0]] = f[2](v, f"{p}.{f[1]}" if p else f[1], o)
    return _m_bookshop__v1.CreateBookRequest(**kw)


def to_json_bookshop__v1__GetBookRequest(
    m: _m_bookshop__v1.GetBookRequest, o: _j.JsonOptions
) -> dict[str, Any]:
    n = o.original_names
    e = o.emit_defaults
    v: Any
    d: dict[str, Any] = {}
    v = m.id
    d["id"] = v if type(v) is str else _j.string_out(v)
    return d


_FJ_bookshop__v1__GetBookRequest: dict[str, tuple[str, str, _j.Parse, bool, type | None]] = {}


def from_json_bookshop__v1__GetBookRequest(
    d: Any, p: str, o: _j.JsonOptions
) -> _m_bookshop__v1.GetBookRequest:
    if type(d) is not dict:
        raise _j.bad(p, "expected a JSON object for bookshop.v1.GetBookRequest")
    kw: dict[str, Any] = {}
    fields = _FJ_bookshop__v1__GetBookRequest
    for k, v in d.items():
        f = fields.get(k)
        if f is None:
            if o.ignore_unknown:
                continue
            raise _j.unknown(p, k)
        if v is None and f[3]:
            continue
        if type(v) is f[4]:
            kw[f[0]] = v
        else:
            kw[f[0]] = f[2](v, f"{p}.{f[1]}" if p else f[1], o)
    return _m_bookshop__v1.GetBookRequest(**kw)


def to_json_bookshop__v1__ListBooksRequest(
    m: _m_bookshop__v1.ListBooksRequest, o: _j.JsonOptions
) -> dict[str, Any]:
    n = o.original_names
    e = o.emit_defaults
    v: Any
    d: dict[str, Any] = {}
    v = m.shelf
    d["shelf"] = v if type(v) is str else _j.string_out(v)
    v = m.page_size
    if v or e:
        d["page_size" if n else "pageSize"] = v if type(v) is int else _j.integer_out(v)
    v = m.page_token
    if v or e:
        d["page_token" if n else "pageToken"] = v if type(v) is str else _j.string_out(v)
    return d


_FJ_bookshop__v1__ListBooksRequest: dict[str, tuple[str, str, _j.Parse, bool, type | None]] = {}


def from_json_bookshop__v1__ListBooksRequest(
    d: Any, p: str, o: _j.JsonOptions
) -> _m_bookshop__v1.ListBooksRequest:
    if type(d) is not dict:
        raise _j.bad(p, "expected a JSON object for bookshop.v1.ListBooksRequest")
    kw: dict[str, Any] = {}
    fields = _FJ_bookshop__v1__ListBooksRequest
    for k, v in d.items():
        f = fields.get(k)
        if f is None:
            if o.ignore_unknown:
                continue
            raise _j.unknown(p, k)
        if v is None and f[3]:
            continue
        if type(v) is f[4]:
            kw[f[0]] = v
        else:
            kw[f[0]] = f[2](v, f"{p}.{f[1]}" if p else f[1], o)
    return _m_bookshop__v1.ListBooksRequest(**kw)


def to_json_bookshop__v1__ListBooksResponse(
    m: _m_bookshop__v1.ListBooksResponse, o: _j.JsonOptions
) -> dict[str, Any]:
    n = o.original_names
    e = o.emit_defaults
    v: Any
    d: dict[str, Any] = {}
    v = m.books
    if v or e:
        d["books"] = [to_json_bookshop__v1__Book(x, o) for x in v]
    v = m.next_page_token
    if v or e:
        d["next_page_token" if n else "nextPageToken"] = v if type(v) is str else _j.string_out(v)
    return d


_FJ_bookshop__v1__ListBooksResponse: dict[str, tuple[str, str, _j.Parse, bool, type | None]] = {}


def from_json_bookshop__v1__ListBooksResponse(
    d: Any, p: str, o: _j.JsonOptions
) -> _m_bookshop__v1.ListBooksResponse:
    if type(d) is not dict:
        raise _j.bad(p, "expected a JSON object for bookshop.v1.ListBooksResponse")
    kw: dict[str, Any] = {}
    fields = _FJ_bookshop__v1__ListBooksResponse
    for k, v in d.items():
        f = fields.get(k)
        if f is None:
            if o.ignore_unknown:
                continue
            raise _j.unknown(p, k)
        if v is None and f[3]:
            continue
        if type(v) is f[4]:
            kw[f[0]] = v
        else:
            kw[f[0]] = f[2](v, f"{p}.{f[1]}" if p else f[1], o)
    return _m_bookshop__v1.ListBooksResponse(**kw)


def to_json_bookshop__v1__StreamBooksRequest(
    m: _m_bookshop__v1.StreamBooksRequest, o: _j.JsonOptions
) -> dict[str, Any]:
    n = o.original_names
    e = o.emit_defaults
    v: Any
    d: dict[str, Any] = {}
    v = m.shelf
    d["shelf"] = v if type(v) is str else _j.string_out(v)
    return d


_FJ_bookshop__v1__StreamBooksRequest: dict[str, tuple[str, str, _j.Parse, bool, type | None]] = {}


def from_json_bookshop__v1__StreamBooksRequest(
    d: Any, p: str, o: _j.JsonOptions
) -> _m_bookshop__v1.StreamBooksRequest:
    if type(d) is not dict:
        raise _j.bad(p, "expected a JSON object for bookshop.v1.StreamBooksRequest")
    kw: dict[str, Any] = {}
    fields = _FJ_bookshop__v1__StreamBooksRequest
    for k, v in d.items():
        f = fields.get(k)
        if f is None:
            if o.ignore_unknown:
                continue
            raise _j.unknown(p, k)
        if v is None and f[3]:
            continue
        if type(v) is f[4]:
            kw[f[0]] = v
        else:
            kw[f[0]] = f[2](v, f"{p}.{f[1]}" if p else f[1], o)
    return _m_bookshop__v1.StreamBooksRequest(**kw)


def to_json_google__protobuf__Timestamp(m: _m_google__protobuf.Timestamp, o: _j.JsonOptions) -> Any:
    return _j.upb_out(to_pb_google__protobuf__Timestamp(m), o)


def from_json_google__protobuf__Timestamp(
    d: Any, p: str, o: _j.JsonOptions
) -> _m_google__protobuf.Timestamp:
    result: _m_google__protobuf.Timestamp = _FJU_google__protobuf__Timestamp(d, p, o)
    return result


_FJ_bookshop__v1__Book.update(
    {
        "id": ("id", "id", _j.string, True, str),
        "shelf": ("shelf", "shelf", _j.string, True, str),
        "title": ("title", "title", _j.string, True, str),
        "author": ("author", "author", _j.string, True, str),
        "priceCents": ("price_cents", "priceCents", _j.int64, True, None),
        "price_cents": ("price_cents", "priceCents", _j.int64, True, None),
        "tags": ("tags", "tags", _j.repeated_in(_j.string), True, None),
        "createdAt": ("created_at", "createdAt", _j.timestamp_in, True, None),
        "created_at": ("created_at", "createdAt", _j.timestamp_in, True, None),
    }
)


_FJ_bookshop__v1__CreateBookRequest.update(
    {
        "shelf": ("shelf", "shelf", _j.string, True, str),
        "book": ("book", "book", from_json_bookshop__v1__Book, True, None),
    }
)


_FJ_bookshop__v1__GetBookRequest.update(
    {
        "id": ("id", "id", _j.string, True, str),
    }
)


_FJ_bookshop__v1__ListBooksRequest.update(
    {
        "shelf": ("shelf", "shelf", _j.string, True, str),
        "pageSize": ("page_size", "pageSize", _j.uint32, True, None),
        "page_size": ("page_size", "pageSize", _j.uint32, True, None),
        "pageToken": ("page_token", "pageToken", _j.string, True, str),
        "page_token": ("page_token", "pageToken", _j.string, True, str),
    }
)


_FJ_bookshop__v1__ListBooksResponse.update(
    {
        "books": ("books", "books", _j.repeated_in(from_json_bookshop__v1__Book), True, None),
        "nextPageToken": ("next_page_token", "nextPageToken", _j.string, True, str),
        "next_page_token": ("next_page_token", "nextPageToken", _j.string, True, str),
    }
)


_FJ_bookshop__v1__StreamBooksRequest.update(
    {
        "shelf": ("shelf", "shelf", _j.string, True, str),
    }
)


_FJU_google__protobuf__Timestamp = _j.upb_in(
    _pb_google__protobuf__Timestamp, from_pb_google__protobuf__Timestamp
)


def encode_bookshop__v1__Book(message: _m_bookshop__v1.Book) -> bytes:
    data: bytes = to_pb_bookshop__v1__Book(message).SerializeToString()
    return data


def decode_bookshop__v1__Book(data: bytes) -> _m_bookshop__v1.Book:
    return from_pb_bookshop__v1__Book(_c.parse(_pb_bookshop__v1__Book, data))


def encode_bookshop__v1__CreateBookRequest(message: _m_bookshop__v1.CreateBookRequest) -> bytes:
    data: bytes = to_pb_bookshop__v1__CreateBookRequest(message).SerializeToString()
    return data


def decode_bookshop__v1__CreateBookRequest(data: bytes) -> _m_bookshop__v1.CreateBookRequest:
    return from_pb_bookshop__v1__CreateBookRequest(
        _c.parse(_pb_bookshop__v1__CreateBookRequest, data)
    )


def encode_bookshop__v1__GetBookRequest(message: _m_bookshop__v1.GetBookRequest) -> bytes:
    data: bytes = to_pb_bookshop__v1__GetBookRequest(message).SerializeToString()
    return data


def decode_bookshop__v1__GetBookRequest(data: bytes) -> _m_bookshop__v1.GetBookRequest:
    return from_pb_bookshop__v1__GetBookRequest(_c.parse(_pb_bookshop__v1__GetBookRequest, data))


def encode_bookshop__v1__ListBooksRequest(message: _m_bookshop__v1.ListBooksRequest) -> bytes:
    data: bytes = to_pb_bookshop__v1__ListBooksRequest(message).SerializeToString()
    return data


def decode_bookshop__v1__ListBooksRequest(data: bytes) -> _m_bookshop__v1.ListBooksRequest:
    return from_pb_bookshop__v1__ListBooksRequest(
        _c.parse(_pb_bookshop__v1__ListBooksRequest, data)
    )


def encode_bookshop__v1__ListBooksResponse(message: _m_bookshop__v1.ListBooksResponse) -> bytes:
    data: bytes = to_pb_bookshop__v1__ListBooksResponse(message).SerializeToString()
    return data


def decode_bookshop__v1__ListBooksResponse(data: bytes) -> _m_bookshop__v1.ListBooksResponse:
    return from_pb_bookshop__v1__ListBooksResponse(
        _c.parse(_pb_bookshop__v1__ListBooksResponse, data)
    )


def encode_bookshop__v1__StreamBooksRequest(message: _m_bookshop__v1.StreamBooksRequest) -> bytes:
    data: bytes = to_pb_bookshop__v1__StreamBooksRequest(message).SerializeToString()
    return data


def decode_bookshop__v1__StreamBooksRequest(data: bytes) -> _m_bookshop__v1.StreamBooksRequest:
    return from_pb_bookshop__v1__StreamBooksRequest(
        _c.parse(_pb_bookshop__v1__StreamBooksRequest, data)
    )


def encode_google__protobuf__Timestamp(message: _m_google__protobuf.Timestamp) -> bytes:
    data: bytes = to_pb_google__protobuf__Timestamp(message).SerializeToString()
    return data


def decode_google__protobuf__Timestamp(data: bytes) -> _m_google__protobuf.Timestamp:
    return from_pb_google__protobuf__Timestamp(_c.parse(_pb_google__protobuf__Timestamp, data))


validate_bookshop__v1__CreateBookRequest = make_validator(
    _pb_bookshop__v1__CreateBookRequest, to_pb_bookshop__v1__CreateBookRequest
)


validate_bookshop__v1__GetBookRequest = make_validator(
    _pb_bookshop__v1__GetBookRequest, to_pb_bookshop__v1__GetBookRequest
)


validate_bookshop__v1__ListBooksRequest = make_validator(
    _pb_bookshop__v1__ListBooksRequest, to_pb_bookshop__v1__ListBooksRequest
)


validate_bookshop__v1__StreamBooksRequest = make_validator(
    _pb_bookshop__v1__StreamBooksRequest, to_pb_bookshop__v1__StreamBooksRequest
)


CODECS: dict[type[Any], _c.MessageCodec[Any]] = {
    _m_bookshop__v1.Book: _c.MessageCodec(
        _m_bookshop__v1.Book,
        _pb_bookshop__v1__Book,
        to_pb_bookshop__v1__Book,
        from_pb_bookshop__v1__Book,
        encode_bookshop__v1__Book,
        decode_bookshop__v1__Book,
    ),
    _m_bookshop__v1.CreateBookRequest: _c.MessageCodec(
        _m_bookshop__v1.CreateBookRequest,
        _pb_bookshop__v1__CreateBookRequest,
        to_pb_bookshop__v1__CreateBookRequest,
        from_pb_bookshop__v1__CreateBookRequest,
        encode_bookshop__v1__CreateBookRequest,
        decode_bookshop__v1__CreateBookRequest,
    ),
    _m_bookshop__v1.GetBookRequest: _c.MessageCodec(
        _m_bookshop__v1.GetBookRequest,
        _pb_bookshop__v1__GetBookRequest,
        to_pb_bookshop__v1__GetBookRequest,
        from_pb_bookshop__v1__GetBookRequest,
        encode_bookshop__v1__GetBookRequest,
        decode_bookshop__v1__GetBookRequest,
    ),
    _m_bookshop__v1.ListBooksRequest: _c.MessageCodec(
        _m_bookshop__v1.ListBooksRequest,
        _pb_bookshop__v1__ListBooksRequest,
        to_pb_bookshop__v1__ListBooksRequest,
        from_pb_bookshop__v1__ListBooksRequest,
        encode_bookshop__v1__ListBooksRequest,
        decode_bookshop__v1__ListBooksRequest,
    ),
    _m_bookshop__v1.ListBooksResponse: _c.MessageCodec(
        _m_bookshop__v1.ListBooksResponse,
        _pb_bookshop__v1__ListBooksResponse,
        to_pb_bookshop__v1__ListBooksResponse,
        from_pb_bookshop__v1__ListBooksResponse,
        encode_bookshop__v1__ListBooksResponse,
        decode_bookshop__v1__ListBooksResponse,
    ),
    _m_bookshop__v1.StreamBooksRequest: _c.MessageCodec(
        _m_bookshop__v1.StreamBooksRequest,
        _pb_bookshop__v1__StreamBooksRequest,
        to_pb_bookshop__v1__StreamBooksRequest,
        from_pb_bookshop__v1__StreamBooksRequest,
        encode_bookshop__v1__StreamBooksRequest,
        decode_bookshop__v1__StreamBooksRequest,
    ),
    _m_google__protobuf.Timestamp: _c.MessageCodec(
        _m_google__protobuf.Timestamp,
        _pb_google__protobuf__Timestamp,
        to_pb_google__protobuf__Timestamp,
        from_pb_google__protobuf__Timestamp,
        encode_google__protobuf__Timestamp,
        decode_google__protobuf__Timestamp,
    ),
}


JSON: dict[
    type[Any],
    tuple[Callable[[Any, _j.JsonOptions], Any], Callable[[Any, str, _j.JsonOptions], Any]],
] = {
    _m_bookshop__v1.Book: (to_json_bookshop__v1__Book, from_json_bookshop__v1__Book),
    _m_bookshop__v1.CreateBookRequest: (
        to_json_bookshop__v1__CreateBookRequest,
        from_json_bookshop__v1__CreateBookRequest,
    ),
    _m_bookshop__v1.GetBookRequest: (
        to_json_bookshop__v1__GetBookRequest,
        from_json_bookshop__v1__GetBookRequest,
    ),
    _m_bookshop__v1.ListBooksRequest: (
        to_json_bookshop__v1__ListBooksRequest,
        from_json_bookshop__v1__ListBooksRequest,
    ),
    _m_bookshop__v1.ListBooksResponse: (
        to_json_bookshop__v1__ListBooksResponse,
        from_json_bookshop__v1__ListBooksResponse,
    ),
    _m_bookshop__v1.StreamBooksRequest: (
        to_json_bookshop__v1__StreamBooksRequest,
        from_json_bookshop__v1__StreamBooksRequest,
    ),
    _m_google__protobuf.Timestamp: (
        to_json_google__protobuf__Timestamp,
        from_json_google__protobuf__Timestamp,
    ),
}
