"""Multipart bodies (``multipart/form-data``, RFC 7578): split into their parts by python-multipart.

The body is already whole in memory (read under ``http_middleware.max_body_bytes``),
so the parser runs over it once, synchronously, and each part keeps its
bytes: no spooled temporary files, no stream to drain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from microlib.core.errors import FieldViolation, InvalidArgument

__all__ = ["Part", "UploadedFile", "split_parts"]


class UploadedFile(bytes):
    """A file sent in a multipart body: its bytes, with the file name and media type the client gave.

    It is ``bytes``, so the generated model's field (``format: binary``, typed
    ``bytes``) keeps it as it is, and the handler reads the name and type from
    it::

        photo = body.photo
        if isinstance(photo, UploadedFile):
            store(photo.filename, photo.content_type, photo)

    Args:
        data: The part's bytes.
        filename: The ``filename`` of the part's ``Content-Disposition``,
            without any directory a client put in it; None if it sent none
            (or only a directory).
        content_type: The part's ``Content-Type`` (``application/octet-stream``
            if the client sent none).
    """

    filename: str | None
    content_type: str

    def __new__(
        cls, data: bytes, filename: str | None = None, content_type: str = "application/octet-stream"
    ) -> UploadedFile:
        file = super().__new__(cls, data)
        file.filename = filename
        file.content_type = content_type
        return file

    def __repr__(self) -> str:
        return (
            f"UploadedFile(filename={self.filename!r}, content_type={self.content_type!r}, size={len(self)})"
        )


@dataclass(frozen=True, slots=True)
class Part:
    """One part of a multipart body.

    Args:
        name: The ``name`` of its ``Content-Disposition``.
        filename: Its ``filename``, if it is a file.
        content_type: Its ``Content-Type`` as sent, lower case without
            parameters; None if it sent none.
        charset: The ``charset`` parameter of its ``Content-Type``, if any.
        data: Its bytes.
    """

    name: str
    filename: str | None
    content_type: str | None
    charset: str | None
    data: bytes


def split_parts(raw: bytes, content_type: str) -> list[Part]:
    """The parts of a multipart body, in the order sent.

    Args:
        raw: The whole body.
        content_type: The request's ``Content-Type`` header (its ``boundary``).

    Raises:
        InvalidArgument: No boundary, a malformed body, a body that ends
            before its closing boundary, or a part without a name.
    """
    # Imported here: a service whose contracts take no multipart body never loads the parser.
    from python_multipart.exceptions import MultipartParseError
    from python_multipart.multipart import MultipartParser, parse_options_header

    _, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if not boundary:
        raise _refused("header.Content-Type", "multipart/form-data needs a boundary parameter")
    collector = _Collector()
    parser = MultipartParser(boundary, collector.callbacks())
    try:
        parser.write(raw)
        parser.finalize()
    except MultipartParseError as exc:
        raise _refused("body", f"Malformed multipart body: {exc}") from None
    if not collector.ended:
        raise _refused("body", "The multipart body ends before its closing boundary")
    return collector.parts


class _Collector:
    """python-multipart's callbacks, gathering each part's headers and bytes."""

    def __init__(self) -> None:
        self.parts: list[Part] = []
        self.ended = False
        self._headers: dict[bytes, bytes] = {}
        self._field: list[bytes] = []
        self._value: list[bytes] = []
        self._data: list[bytes] = []

    def callbacks(self) -> Any:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda data, start, end: self._field.append(data[start:end]),
            "on_header_value": lambda data, start, end: self._value.append(data[start:end]),
            "on_header_end": self._header_end,
            "on_part_data": lambda data, start, end: self._data.append(data[start:end]),
            "on_part_end": self._part_end,
            "on_end": self._end,
        }

    def _part_begin(self) -> None:
        self._headers = {}
        self._data = []

    def _header_end(self) -> None:
        self._headers[b"".join(self._field).lower()] = b"".join(self._value)
        self._field = []
        self._value = []

    def _part_end(self) -> None:
        from python_multipart.multipart import parse_options_header

        _, disposition = parse_options_header(self._headers.get(b"content-disposition"))
        name = disposition.get(b"name")
        if name is None:
            raise _refused("body", "A multipart part has no name in its Content-Disposition")
        filename = disposition.get(b"filename")
        media, options = parse_options_header(self._headers.get(b"content-type"))
        charset = options.get(b"charset")
        self.parts.append(
            Part(
                name=name.decode("utf-8", "replace"),
                filename=None if filename is None else _base_name(filename.decode("utf-8", "replace")),
                content_type=media.decode("latin-1").lower() or None,
                charset=None if charset is None else charset.decode("latin-1"),
                data=b"".join(self._data),
            )
        )

    def _end(self) -> None:
        self.ended = True


def _base_name(filename: str) -> str | None:
    """The file name without any directory: a client's ``../../etc/passwd`` is ``passwd``, so a
    handler that stores uploads by name cannot be led out of its directory."""
    name = filename[filename.rfind("/") + 1 :]
    return None if name in ("", ".", "..") else name


def _refused(field: str, description: str) -> InvalidArgument:
    return InvalidArgument(description, violations=[FieldViolation(field, description, "multipart")])
