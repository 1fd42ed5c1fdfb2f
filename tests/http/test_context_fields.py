"""The HTTP door's context, built with its fields by position, against the same fields by name."""

from __future__ import annotations

import dataclasses

from microlib.core.context import CallContext
from microlib.http.context import _NAMES, _NAMES_KEPT, context_from_scope


def test_every_field_lands_where_its_name_says() -> None:
    scope = {
        "type": "http",
        "method": "POST",
        "headers": [(b"host", b"h"), (b"x-a", b"1"), (b"x-a", b"2")],
        "client": ("10.0.0.1", 4321),
    }
    for attributes in (None, {"rule": "r"}):
        ctx = context_from_scope(
            scope, service="svc", method="Op", route="/r", path_params={"id": "7"}, attributes=attributes
        )
        values = {"http.route": "/r", "http.method": "POST", "http.path_params": {"id": "7"}}
        expected = CallContext(
            kind="http",
            service="svc",
            method="Op",
            metadata={"host": "h", "x-a": "1, 2"},
            peer="10.0.0.1:4321",
            attributes={**(attributes or {}), **values},
        )
        assert dataclasses.astuple(ctx) == dataclasses.astuple(expected)
        for field in dataclasses.fields(CallContext):
            assert getattr(ctx, field.name) == getattr(expected, field.name), field.name


def test_header_names_are_decoded_as_sent_however_many_there_are() -> None:
    """Names kept decoded and names decoded each time give the same metadata,
    and a client sending ever new names does not grow the names kept."""
    headers = [(f"x-made-up-{i}".encode(), str(i).encode()) for i in range(2 * _NAMES_KEPT)]
    headers += [(b"Host", b"h"), (b"caf\xe9", b"\xff"), (b"x-made-up-1", b"again")]
    scope = {"type": "http", "method": "GET", "headers": headers}
    for _ in range(2):
        ctx = context_from_scope(scope, "svc", "Op", "/r", {})
        expected: dict[str, str] = {}
        for name, value in headers:
            key = name.decode("latin-1").lower()
            expected[key] = (
                f"{expected[key]}, {value.decode('latin-1')}" if key in expected else value.decode("latin-1")
            )
        assert ctx.metadata == expected
        unique = headers[:-1]
        ctx = context_from_scope({**scope, "headers": unique}, "svc", "Op", "/r", {})
        assert ctx.metadata == {name.decode("latin-1"): value.decode("latin-1") for name, value in unique}
    assert len(_NAMES) <= _NAMES_KEPT
