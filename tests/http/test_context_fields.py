"""The HTTP door's context, built with its fields by position, against the same fields by name."""

from __future__ import annotations

import dataclasses

from microlib.core.context import CallContext
from microlib.http.context import context_from_scope


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
