"""Hostile message payloads: refused as invalid, never a crash of the consumer."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from microlib.core._json_depth import MAX_JSON_DEPTH
from microlib.core.errors import InvalidArgument
from microlib.messaging import json_decoder


class Order(BaseModel):
    book_id: object


def test_deep_payloads_are_refused_naming_the_limit() -> None:
    """A payload nested past the limit is an InvalidArgument naming it (it used
    to raise RecursionError from the violation renderer)."""
    decode = json_decoder(Order, "OrderPlaced")
    with pytest.raises(InvalidArgument) as refused:
        decode(b'{"book_id": ' + b"[" * 5_000 + b"]" * 5_000 + b"}")
    assert refused.value.reason == "JSON_TOO_DEEP"
    assert refused.value.violations[0].field == "payload"
    assert f"deeper than {MAX_JSON_DEPTH} levels" in refused.value.message


def test_the_limit_is_configurable() -> None:
    """``max_depth`` sets it; brackets inside strings do not count."""
    decode = json_decoder(Order, max_depth=2)
    assert decode(b'{"book_id": ["[[[[", "{{{{"]}').book_id == ["[[[[", "{{{{"]
    with pytest.raises(InvalidArgument, match="deeper than 2 levels"):
        decode(b'{"book_id": [["x"]]}')
