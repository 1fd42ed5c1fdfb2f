"""The fast check of simple ``buf.validate`` rules, held to protovalidate.

``rulestest/v1/rules.proto``'s ``Simple`` has one field per rule kind the fast path
compiles. Its values are taken at each rule's boundaries (lengths in code points and
in UTF-8 bytes, NaN and infinities, a newline before the end of a pattern's text,
undefined enum numbers, unset optional fields), one field at a time and at random,
and every outcome must be the general path's: protovalidate on the upb message and
the REQUIRED walk, same violations, same order, same text.
"""

from __future__ import annotations

import importlib
import math
import random
from collections.abc import AsyncIterator, Iterator
from types import ModuleType
from typing import Any

import pytest
from google.protobuf.message import Message

from microlib import Service
from microlib.core.context import CallContext
from microlib.core.errors import InvalidArgument
from microlib.grpc import make_validator
from microlib.grpc._simple_rules import _translate, _Unsupported, compile_check
from microlib.grpc.validation import _fast_check
from microlib.testing import TestService
from tests.grpc.support import generate_with_layer
from tests.grpc.test_validation_plan import _outcome, general_violations

UNSET = object()
NAN = math.nan
# Per field of Simple: a valid value first (the base message), then values around each rule.
VALUES: dict[str, list[Any]] = {
    "code": [
        "ABC-1234",
        "ABC-1234\n",
        "abc-1234",
        "",
        "XABC-1234",
        "ABC-12345",
        "ABC-1234x",
        "ÀBC-1234",
        "ABC-١٢٣٤",
    ],
    "name": ["ab", "a", "abcde", "abcdef", "éé", "😀😀😀😀😀", "😀😀😀😀😀😀", "é", ""],
    "exact": ["abc", "ab", "abcd", "é😀a", "😀😀😀😀", ""],
    "tagged": ["abéyz", "abyz", "éabyz", "abé", "éyz", "ab\u00e9yz", "abe\u0301yz", ""],
    "colour": ["red", "green", "blue", "", "Red", "red "],
    "word": ["good", "bad", "", "Bad"],
    "fixed": ["x", "", "X", "xx"],
    "bytes_len": ["ab", "a", "é", "éé", "éée", "😀", "abcde", ""],
    "small": [1, 0, 99, 100, -1, 2**31 - 1, -(2**31)],
    "big": [0, -5, -4, 4, 5, 2**63 - 1, -(2**63)],
    "count": [1, 0, 3, 4, 2**32 - 1],
    "delta": [1, 0, -1],
    "above": [11, 10, 0],
    "below": [-1, 0, -(2**31)],
    "outside": [-1, 0, 5, 10, 11],
    "exactly": [7, 0, 8],
    "ratio": [0.5, 0.0, -0.0, 1.0, 1.0000000000000002, -5e-324, NAN, math.inf, -math.inf],
    "weight": [1.0, 0.0, -0.0, 5e-324, 1e300, 1e299, NAN, math.inf],
    "any_ratio": [1.0, NAN, math.inf, -math.inf, 0.0],
    "items": [["a"], [], ["a", "b", "c"], ["a"] * 4, [""]],
    "hue": [1, 0, 3, 4, -1],
    "shade": [1, 2, 0, 3],
    "must": ["x", ""],
    "maybe": ["", "a", "abc", "ab"],
    "opt": [UNSET, "", "ab", "abc"],
    "needed": ["a", "", "abcd", "abcde"],
    "flag": [True, False],
    "plain": [0, 5],
    "tiny": [3, 6, 4, 5, -1],
    "file": [
        "foo.txt",
        "",
        "barbaz.tyt",
        "foo.txt\n",
        "fooo.txt",
        "foo.t\nt",
        "\n",
        "baa.txt",
        "foobar.t😀t",
    ],
    "five": [5, 4, 6],
    "zero_opt": [UNSET, "", "a", "abc"],
    "several": ["aa", "ab", "abc", "c", "a", "ba", "aad", "bb", ""],
    "blob": [b"ab", b"a", b"abcde", b"abcd", b"", b"\xff\xfe"],
    "framed": [b"\x01\xffaz", b"\x01z", b"\xffaz", b"\x01\xffa", b"\x01\xffa\x00z", b"\x01\xfeaz", b""],
    "token": [b"a", "é".encode(), b"b", b"", b"\xe9", b"A", b"a\x00"],
    "magic": [b"\x00\xff", b"\x00", b"", b"\xff\x00", b"\x00\xff\x00"],
    "sized": [b"abd", b"abc", b"ab", b"abcd", b"\x00\x00\x00", b""],
    # Floats are set on the upb message, which rounds them to 32 bits as the wire would.
    "level": [1.0, 0.0, -0.0, 1.5, 1.4999999, 1e-45, 1e-46, NAN, math.inf, -math.inf, 3.4e38],
    "tenth": [0.15, 0.1, 0.2, 0.09999999, 0.2000001, 0.0, NAN],
    "steady": [1.0, NAN, math.inf, -math.inf, 0.0, -3.4028234663852886e38],
    "pick": [0.5, 0.1, 0.25, 0.10000000149011612, 0.1000001, NAN, 0.0],
}


@pytest.fixture(scope="module", params=["betterproto2", "upb"])
def rules(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> ModuleType:
    """``microlib codegen`` output for rules.proto with one message layer."""
    layer = str(request.param)
    return generate_with_layer(
        "rulestest/v1/rules.proto", tmp_path_factory.mktemp("codegen"), f"rulesgen_{layer}", layer
    )


def _codec(rules: ModuleType, name: str) -> Any:
    codecs = importlib.import_module(f"{rules.__name__}._codec").CODECS
    return next(c for c in codecs.values() if c.upb_type.DESCRIPTOR.name == name)


def _upb(codec: Any, values: dict[str, Any]) -> Message:
    message = codec.upb_type()
    for name, value in values.items():
        if value is UNSET:
            message.ClearField(name)
        elif isinstance(value, list):
            getattr(message, name).extend(value)
        else:
            setattr(message, name, value)
    return message


def _messages(rng: random.Random) -> Iterator[dict[str, Any]]:
    """The valid base, each field's values in it one at a time, then random mixes."""
    base = {name: values[0] for name, values in VALUES.items()}
    yield base
    for name, values in VALUES.items():
        for value in values[1:]:
            yield {**base, name: value}
    for _ in range(400):
        yield {
            name: rng.choice(values) if rng.random() < 0.1 else values[0] for name, values in VALUES.items()
        }


def test_the_fast_check_agrees_with_protovalidate(rules: ModuleType) -> None:
    """For every message: the fast check passes it exactly when the general path finds
    nothing, and the validator reports the general path's violations."""
    codec = _codec(rules, "Simple")
    validate = make_validator(codec.upb_type, codec.to_upb)
    fast = compile_check(codec.upb_type.DESCRIPTOR, codec.message_type, ["needed"])
    assert fast is not None
    valid = 0
    for values in _messages(random.Random(19)):
        upb = _upb(codec, values)
        users = codec.from_upb(upb)
        expected = general_violations(upb)
        assert bool(fast(users)) is (not expected), values
        assert _outcome(validate, users)[0] == expected, values
        valid += not expected
    assert valid > 50  # the valid side is exercised too, not only refusals


@pytest.mark.parametrize("name", ["Cel", "RawAddress", "Odd", "InOneof"])
def test_rules_it_does_not_compile_are_left_to_protovalidate(rules: ModuleType, name: str) -> None:
    """CEL, an address held in bytes, a pattern using Unicode classes and a oneof's
    members get no fast check."""
    codec = _codec(rules, name)
    assert compile_check(codec.upb_type.DESCRIPTOR, codec.message_type, []) is None


def test_a_message_holding_rules_is_left_to_protovalidate(rules: ModuleType) -> None:
    """Rules in a contained message are protovalidate's: the holder gets no fast check."""
    codec = _codec(rules, "Holder")
    assert _fast_check(codec.upb_type.DESCRIPTOR, codec.message_type, None) is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("level", 1e-50),  # above 0 as a double, 0 in 32 bits: gt 0 breaks
        ("level", 1.49999999999),  # below 1.5 as a double, 1.5 in 32 bits: lt 1.5 breaks
        ("level", 1.0000000001),  # 1 in 32 bits: valid
        ("tenth", 0.1),  # the rule's 0.1 is 32-bit too: valid
        ("tenth", 0.09999999999),
        ("steady", 1e39),  # beyond 32 bits' range
        ("pick", 0.1),
        ("pick", 0.5000000001),
    ],
)
def test_a_float_that_32_bits_round_is_judged_as_rounded(rules: ModuleType, field: str, value: float) -> None:
    """betterproto2 keeps a ``float`` field as a Python float, which the wire (and
    protovalidate, on the upb message) sees rounded to 32 bits: the validator's verdict
    is the one on the rounded value, whichever layer holds it."""
    codec = _codec(rules, "Simple")
    validate = make_validator(codec.upb_type, codec.to_upb)
    message = codec.from_upb(_upb(codec, {name: values[0] for name, values in VALUES.items()}))
    setattr(message, field, value)
    fast = compile_check(codec.upb_type.DESCRIPTOR, codec.message_type, ["needed"])
    assert fast is not None
    try:
        upb = codec.to_upb(message)
    except (ValueError, OverflowError):
        # Not even convertible: the fast check must not pass it.
        assert not fast(message)
        return
    expected = general_violations(upb)
    # The fast check may refuse a valid message (the general path then passes it), never
    # pass an invalid one.
    assert not (fast(message) and expected)
    assert _outcome(validate, message)[0] == expected


@pytest.mark.parametrize(
    ("pattern", "python"),
    [
        ("^[A-Z]{3}-[0-9]{4}$", r"^[A-Z]{3}-[0-9]{4}\Z"),
        ("^(?:a|b)+\\.c*?$", r"^(?:a|b)+\.c*?\Z"),
        ("[^$]x{2,}", "[^$]x{2,}"),
    ],
)
def test_patterns_keep_their_re2_meaning(pattern: str, python: str) -> None:
    """``$`` is the end of the text in RE2, and in re only with ``\\Z``."""
    assert _translate(pattern) == python


@pytest.mark.parametrize(
    "pattern",
    [
        r"^\w+$",
        r"\d",
        r"\bx",
        "(?i)abc",
        "(?P<n>a)",
        "[[:alpha:]]",
        "[a-z&&[^x]]",
        "[a--b]",
        "a{,3}",
        "{2}",
        "a{3,2}",
        "[]a]",
        "a{",
        "[ab",
    ],
)
def test_patterns_that_may_mean_something_else_in_re_are_refused(pattern: str) -> None:
    with pytest.raises(_Unsupported):
        _translate(pattern)


class Rules:
    """Echoes what it is sent: a refused request never reaches it."""

    async def check(self, request: Any, ctx: CallContext) -> Any:
        return request


@pytest.fixture
async def served(rules: ModuleType) -> AsyncIterator[TestService]:
    package = importlib.import_module(f"{rules.__name__}.rulestest.v1")
    service = Service("rules")
    service.include(type("Served", (Rules, package.RulesService), {})())
    async with TestService(service) as t:
        yield t


async def test_both_doors_report_protovalidates_violations(rules: ModuleType, served: TestService) -> None:
    """gRPC and transcoded REST validate through the fast check, and report the
    general path's violations for a message it refuses."""
    package = importlib.import_module(f"{rules.__name__}.rulestest.v1")
    codec = _codec(rules, "Simple")
    client = package.RulesServiceClient(served.grpc)
    base = {name: values[0] for name, values in VALUES.items()}
    for values in (base, {**base, "code": "ABC-1234\n", "name": "😀😀😀😀😀😀", "ratio": NAN, "needed": ""}):
        upb = _upb(codec, values)
        expected = [(field, rule) for field, _, rule in general_violations(upb)]
        request = codec.from_upb(upb)
        try:
            await client.check(request)
            over_grpc = []
        except InvalidArgument as exc:
            over_grpc = [(v.field, v.rule) for v in exc.violations]
        assert over_grpc == expected
        reply = await served.http.post(
            "/v1/check", content=codec.to_json(request), headers={"content-type": "application/json"}
        )
        over_rest = (
            [(v["field"], v["rule"]) for v in reply.json().get("violations", [])]
            if reply.status_code != 200
            else []
        )
        assert (reply.status_code == 200) is (not expected)
        assert over_rest == expected
