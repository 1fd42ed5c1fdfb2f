"""The transcoder's body parser reads every body as ``json.loads`` does, byte for byte.

``_parse`` reads objects with pydantic-core's parser and hands whatever it
refuses to ``json``; these tests hold its values (types, key order, big
integers, floats) and its errors (the message of ``json``'s exception) to
``json.loads`` over mutated documents and edge cases.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from microlib.core.errors import InvalidArgument
from microlib.http import _transcode_request

SEED = (
    b'{"sku":"ABC-1234","quantity":3,"note":"leave at the door","x":[1,2.5,{"y":null,"z":true}],'
    b'"w":false,"u":"\\u00e9\\n\\"\\\\","a":1,"a":[2],"e":-0,"f":-0.0,"g":1E2}'
)
# Pieces the mutations insert: tokens, the edges of JSON's grammar, and what parsers disagree on.
PIECES = [bytes([i]) for i in range(256)] + [
    b"\\u", b"\\ud800", b"\\udc00", b"\\ud83d\\ude00", b"NaN", b"Infinity", b"-Infinity", b"-", b"e", b".",
    b'"', b"{", b"}", b"[", b"]", b",", b":", b"null", b"true", b" ", b"\t", b"\n", b"\r", b"\x0c",
    b"\xc2\xa0", b"\xed\xa0\x80", b"\xf0\x9f\x98\x80", b"\xc0\x80", b"\\", b"0", b"00", b"1e400",
    b"99999999999999999999", b"-9223372036854775809", b"18446744073709551616", b"4.35", b"5e-324",
]  # fmt: skip
EDGES = [
    b"{}",
    b'{"a":1,"b":2,"a":3}',
    b'{"a":"\\ud800"}',
    b'{"\\udc00":1}',
    b'{"a":"\xed\xa0\x80"}',
    b'{"a":' + b"9" * 4300 + b"}",
    b'{"a":' + b"9" * 4301 + b"}",
    b'{"a":-' + b"1" * 5000 + b"}",
    b'{"a":1e400,"b":-1e400,"c":1e-400}',
    b'{"a":NaN,"b":Infinity,"c":-Infinity}',
    b'{"a":nan}',
    b'{"a":2.2250738585072011e-308,"b":1.00000000000000011102230246251565404236316680908203125}',
    b'{"a":1} ',
    b'{"a":1}\x0c',
    b'{"a":1}x',
    b'{"a":"\x01"}',
    b'{"a":"\xff"}',
    b'{"a":01}',
    b'{"a":[1,]}',
    b"{\x00\x00\x00",
    b'{\x00"\x00a\x00"\x00:\x001\x00}\x00',
    b"[1, 2]",
    b'"text"',
    b"\xef\xbb\xbf{}",
]


def _json(body: bytes) -> tuple[str, str]:
    """What ``json.loads`` makes of ``body``: its value's repr, or the 400's message."""
    try:
        return "value", repr(json.loads(body))
    except ValueError as exc:
        return "error", f"body: malformed JSON: {exc}"


def _ours(body: bytes) -> tuple[str, str]:
    try:
        return "value", repr(_transcode_request._parse(body))
    except InvalidArgument as exc:
        return "error", exc.message


def _mutated(rng: random.Random) -> bytes:
    body = bytearray(SEED)
    for _ in range(rng.randint(1, 3)):
        at, roll = rng.randrange(len(body) + 1), rng.random()
        if roll < 0.4:
            body[at:at] = rng.choice(PIECES)
        elif roll < 0.7:
            del body[at : at + rng.randint(1, 3)]
        else:
            body[at : at + 1] = rng.choice(PIECES)
    return bytes(body)


@pytest.mark.parametrize("body", EDGES)
def test_edge_cases_read_as_json_reads_them(body: bytes) -> None:
    """Surrogates, big integers, non-finite numbers, bad bytes and other encodings: json's verdict."""
    assert _ours(body) == _json(body)


def test_mutated_documents_read_as_json_reads_them() -> None:
    """Thousands of near-valid documents: the same value (repr: types and key order) or message."""
    rng = random.Random(19)
    bodies = [_mutated(rng) for _ in range(20_000)]
    accepted = 0
    for body in bodies:
        expected = _json(body)
        assert _ours(body) == expected, body
        accepted += expected[0] == "value"
    assert accepted > 1_000  # the mutations leave enough documents valid to compare values


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(document=st.dictionaries(st.text(max_size=8), json_values, max_size=6), ascii_only=st.booleans())
def test_generated_documents_read_as_json_reads_them(document: dict[str, Any], ascii_only: bool) -> None:
    """Any object json writes (escaped or raw UTF-8, any integer or float) reads back the same."""
    body = json.dumps(document, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    assert _ours(body) == _json(body)
