# Generated from bookshop/v1/bookshop.proto by microlib-codegen 0.1.0. DO NOT EDIT.
"""Converters between the betterproto2 messages users see and upb messages.

upb does the wire work; these functions only move field values across.
``CODECS`` maps each message class to its :class:`MessageCodec`.
"""

from __future__ import annotations

from typing import Any

from microlib.grpc import codec as _c
from microlib.grpc.validation import make_validator

from . import _descriptors
from ._messages.bookshop import v1 as _m_bookshop__v1
from ._messages.google import protobuf as _m_google__protobuf

__all__ = ["CODECS"]

_pb_bookshop__v1__Book = _descriptors.message_class("bookshop.v1.Book")
_pb_bookshop__v1__CreateBookRequest = _descriptors.message_class("bookshop.v1.CreateBookRequest")
_pb_bookshop__v1__GetBookRequest = _descriptors.message_class("bookshop.v1.GetBookRequest")
_pb_bookshop__v1__ListBooksRequest = _descriptors.message_class("bookshop.v1.ListBooksRequest")
_pb_bookshop__v1__ListBooksResponse = _descriptors.message_class("bookshop.v1.ListBooksResponse")
_pb_bookshop__v1__StreamBooksRequest = _descriptors.message_class("bookshop.v1.StreamBooksRequest")
_pb_google__protobuf__Timestamp = _descriptors.message_class("google.protobuf.Timestamp")


def to_pb_bookshop__v1__Book(m: _m_bookshop__v1.Book) -> Any:
    p = _pb_bookshop__v1__Book(
        id=m.id,
        shelf=m.shelf,
        title=m.title,
        author=m.author,
        price_cents=m.price_cents,
        tags=m.tags,
        created_at=None
        if m.created_at is None
        else _c.timestamp_to_pb(_pb_google__protobuf__Timestamp, m.created_at),
    )
    if m._unknown_fields:
        p.MergeFromString(m._unknown_fields)
    return p


def from_pb_bookshop__v1__Book(p: Any) -> _m_bookshop__v1.Book:
    m = _m_bookshop__v1.Book(
        id=p.id,
        shelf=p.shelf,
        title=p.title,
        author=p.author,
        price_cents=p.price_cents,
        tags=list(p.tags),
        created_at=_c.timestamp_from_pb(p.created_at) if p.HasField("created_at") else None,
    )
    if unknown := _c.unknown_fields(p):
        m._unknown_fields = unknown
    return m


def to_pb_bookshop__v1__CreateBookRequest(m: _m_bookshop__v1.CreateBookRequest) -> Any:
    p = _pb_bookshop__v1__CreateBookRequest(
        shelf=m.shelf,
        book=None if m.book is None else to_pb_bookshop__v1__Book(m.book),
    )
    if m._unknown_fields:
        p.MergeFromString(m._unknown_fields)
    return p


def from_pb_bookshop__v1__CreateBookRequest(p: Any) -> _m_bookshop__v1.CreateBookRequest:
    m = _m_bookshop__v1.CreateBookRequest(
        shelf=p.shelf,
        book=from_pb_bookshop__v1__Book(p.book) if p.HasField("book") else None,
    )
    if unknown := _c.unknown_fields(p):
        m._unknown_fields = unknown
    return m


def to_pb_bookshop__v1__GetBookRequest(m: _m_bookshop__v1.GetBookRequest) -> Any:
    p = _pb_bookshop__v1__GetBookRequest(
        id=m.id,
    )
    if m._unknown_fields:
        p.MergeFromString(m._unknown_fields)
    return p


def from_pb_bookshop__v1__GetBookRequest(p: Any) -> _m_bookshop__v1.GetBookRequest:
    m = _m_bookshop__v1.GetBookRequest(
        id=p.id,
    )
    if unknown := _c.unknown_fields(p):
        m._unknown_fields = unknown
    return m


def to_pb_bookshop__v1__ListBooksRequest(m: _m_bookshop__v1.ListBooksRequest) -> Any:
    p = _pb_bookshop__v1__ListBooksRequest(
        shelf=m.shelf,
        page_size=m.page_size,
        page_token=m.page_token,
    )
    if m._unknown_fields:
        p.MergeFromString(m._unknown_fields)
    return p


def from_pb_bookshop__v1__ListBooksRequest(p: Any) -> _m_bookshop__v1.ListBooksRequest:
    m = _m_bookshop__v1.ListBooksRequest(
        shelf=p.shelf,
        page_size=p.page_size,
        page_token=p.page_token,
    )
    if unknown := _c.unknown_fields(p):
        m._unknown_fields = unknown
    return m


def to_pb_bookshop__v1__ListBooksResponse(m: _m_bookshop__v1.ListBooksResponse) -> Any:
    p = _pb_bookshop__v1__ListBooksResponse(
        books=[to_pb_bookshop__v1__Book(v) for v in m.books],
        next_page_token=m.next_page_token,
    )
    if m._unknown_fields:
        p.MergeFromString(m._unknown_fields)
    return p


def from_pb_bookshop__v1__ListBooksResponse(p: Any) -> _m_bookshop__v1.ListBooksResponse:
    m = _m_bookshop__v1.ListBooksResponse(
        books=[from_pb_bookshop__v1__Book(v) for v in p.books],
        next_page_token=p.next_page_token,
    )
    if unknown := _c.unknown_fields(p):
        m._unknown_fields = unknown
    return m


def to_pb_bookshop__v1__StreamBooksRequest(m: _m_bookshop__v1.StreamBooksRequest) -> Any:
    p = _pb_bookshop__v1__StreamBooksRequest(
        shelf=m.shelf,
    )
    if m._unknown_fields:
        p.MergeFromString(m._unknown_fields)
    return p


def from_pb_bookshop__v1__StreamBooksRequest(p: Any) -> _m_bookshop__v1.StreamBooksRequest:
    m = _m_bookshop__v1.StreamBooksRequest(
        shelf=p.shelf,
    )
    if unknown := _c.unknown_fields(p):
        m._unknown_fields = unknown
    return m


def to_pb_google__protobuf__Timestamp(m: _m_google__protobuf.Timestamp) -> Any:
    p = _pb_google__protobuf__Timestamp(
        seconds=m.seconds,
        nanos=m.nanos,
    )
    if m._unknown_fields:
        p.MergeFromString(m._unknown_fields)
    return p


def from_pb_google__protobuf__Timestamp(p: Any) -> _m_google__protobuf.Timestamp:
    m = _m_google__protobuf.Timestamp(
        seconds=p.seconds,
        nanos=p.nanos,
    )
    if unknown := _c.unknown_fields(p):
        m._unknown_fields = unknown
    return m


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
