"""A fast check of ``buf.validate`` rules simple enough to be plain comparisons.

protovalidate validates the upb form of a message, so each request pays for its
conversion to upb and for protovalidate's walk of it (about 16k instructions per
request on a transcoded route, ADR 0016). When every rule of a message type is a
comparison of one scalar field (string lengths, prefixes, RE2-compatible patterns,
numeric bounds, ``in``/``not_in``, enum ``defined_only``, repeated counts,
``required``; strings, bytes, integers, 32- and 64-bit floats, bools and enums),
:func:`compile_check` turns the rules into Python predicates on the message as it
was decoded, compiled once.

The predicates only decide whether a message is valid. A message they refuse takes
the general path (conversion and protovalidate), so every violation reported is
still protovalidate's own: field paths, rule ids, messages and their order.
Anything else (CEL, message and oneof rules, bytes patterns and address rules,
maps, nested messages with rules, a pattern whose meaning in Python's ``re`` might
differ from RE2's) makes :func:`compile_check` return None and the message type keeps the
general path for every call. ``tests/grpc/test_simple_rules.py`` holds the
predicates to protovalidate on generated valid and invalid messages.
"""

from __future__ import annotations

import dataclasses
import math
import operator
import re
import struct
from collections.abc import Callable, Iterable
from typing import Any, cast

from google.protobuf import (
    descriptor_pb2,
    descriptor_pool,
    duration_pb2,
    field_mask_pb2,
    message_factory,
    timestamp_pb2,
)
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.unknown_fields import UnknownFieldSet

__all__ = ["compile_check"]

# Both return a truthy value when the message (or the field's value) passes.
Check = Callable[[Any], Any]
_Test = Callable[[Any], Any]

_IGNORE_UNSPECIFIED, _IGNORE_IF_ZERO_VALUE, _IGNORE_ALWAYS = 0, 1, 3
_INTEGERS = ("int32", "int64", "uint32", "uint64", "sint32", "sint64")
_FIXED = ("fixed32", "fixed64", "sfixed32", "sfixed64")
_NUMBER_RULES = {"const", "lt", "lte", "gt", "gte", "in", "not_in", "example"}
# The rules each kind of field may carry here; any other (or an unknown one, such as a
# predefined rule) sends its message type to protovalidate.
_ALLOWED = {
    "string": {
        "const", "len", "min_len", "max_len", "len_bytes", "min_bytes", "max_bytes",
        "pattern", "prefix", "suffix", "contains", "not_contains", "in", "not_in", "example",
    },
    **dict.fromkeys((*_INTEGERS, *_FIXED), _NUMBER_RULES),
    "double": _NUMBER_RULES | {"finite"},
    "float": _NUMBER_RULES | {"finite"},
    "bytes": {
        "const", "len", "min_len", "max_len", "prefix", "suffix", "contains", "in", "not_in", "example",
    },
    "bool": {"const", "example"},
    "enum": {"const", "defined_only", "in", "not_in", "example"},
    "repeated": {"min_items", "max_items"},
}  # fmt: skip
# The rules kind a field of each type takes (a repeated field takes "repeated").
_KIND = {
    FieldDescriptor.TYPE_STRING: "string",
    FieldDescriptor.TYPE_DOUBLE: "double",
    FieldDescriptor.TYPE_FLOAT: "float",
    FieldDescriptor.TYPE_BYTES: "bytes",
    FieldDescriptor.TYPE_BOOL: "bool",
    FieldDescriptor.TYPE_ENUM: "enum",
    FieldDescriptor.TYPE_INT32: "int32",
    FieldDescriptor.TYPE_INT64: "int64",
    FieldDescriptor.TYPE_UINT32: "uint32",
    FieldDescriptor.TYPE_UINT64: "uint64",
    FieldDescriptor.TYPE_SINT32: "sint32",
    FieldDescriptor.TYPE_SINT64: "sint64",
    FieldDescriptor.TYPE_FIXED32: "fixed32",
    FieldDescriptor.TYPE_FIXED64: "fixed64",
    FieldDescriptor.TYPE_SFIXED32: "sfixed32",
    FieldDescriptor.TYPE_SFIXED64: "sfixed64",
}


class _Unsupported(Exception):
    """A rule this module does not compile: the message type keeps protovalidate."""


def compile_check(descriptor: Descriptor, message_type: type, required: Iterable[str]) -> Check | None:
    """A predicate truthy when a message passes every rule of its type, or None.

    Args:
        descriptor: The message type's descriptor.
        message_type: The class of the messages the predicate will see: the
            upb class, or the betterproto2 dataclass the converter reads.
        required: Names of the fields marked ``google.api.field_behavior =
            REQUIRED``; the predicate is false when one is unset.

    Returns:
        None when a rule is not simple, or when a field holding a message
        declares rules: the caller then validates through protovalidate.
        Fields holding messages are otherwise not descended into: the caller
        only asks for types whose contained messages have nothing to check.
    """
    try:
        return _compile(descriptor, message_type, set(required))
    except _Unsupported:
        return None


def _compile(descriptor: Descriptor, message_type: type, required: set[str]) -> Check:
    if _extension(descriptor.GetOptions(), "buf.validate.message") is not None or any(
        _extension(oneof.GetOptions(), "buf.validate.oneof") is not None for oneof in descriptor.oneofs
    ):
        raise _Unsupported
    upb = issubclass(message_type, Message)
    names = None if upb else {f.name for f in dataclasses.fields(message_type)}
    checks = []
    for field in descriptor.fields:
        rules = _extension(field.GetOptions(), "buf.validate.field")
        if rules is None and field.name not in required:
            continue
        if names is not None and field.name not in names:
            raise _Unsupported  # betterproto2 renamed it (a keyword, a camelCase name)
        if field.containing_oneof not in (None, _synthetic(field)):
            raise _Unsupported  # how each layer shows an unset member is left to the general path
        present = _presence(field, upb)
        if field.name in required:
            checks.append(present)
        if rules is not None and (check := _field_check(field, rules, present, upb)) is not None:
            checks.append(check)
    return _all(checks) if checks else lambda message: True


def _all(tests: list[_Test]) -> _Test:
    """One test passing a value that passes every one of ``tests``, in their order."""
    if len(tests) == 1:
        return tests[0]

    def passes(value: Any) -> Any:
        # A loop, not all() over a generator: that costs a frame resumption per test.
        for test in tests:  # noqa: SIM110
            if not test(value):
                return False
        return True

    return passes


def _field_check(field: FieldDescriptor, rules: Any, present: Check, upb: bool) -> Check | None:
    """The predicate of one field's rules; None when they can never refuse a message.

    ``upb``: the messages checked are upb messages, whose values are as the wire holds them.
    """
    if rules.cel or rules.cel_expression or len(UnknownFieldSet(rules)):
        raise _Unsupported
    if field.message_type is not None:
        raise _Unsupported  # rules on messages and maps
    ignore = rules.ignore
    if ignore not in (_IGNORE_UNSPECIFIED, _IGNORE_IF_ZERO_VALUE, _IGNORE_ALWAYS):
        raise _Unsupported
    if ignore == _IGNORE_ALWAYS:
        return None
    if rules.required and ignore != _IGNORE_UNSPECIFIED:
        raise _Unsupported
    kind = rules.WhichOneof("type")
    tests = _tests(field, kind, getattr(rules, kind), upb) if kind is not None else []
    get = operator.attrgetter(field.name)
    test = _all(tests) if tests else None
    if rules.required:
        # An unset field breaks ``required``; a set one is held to the other rules.
        return present if test is None else _all([present, lambda message: test(get(message))])
    if test is None:
        return None
    if ignore == _IGNORE_IF_ZERO_VALUE or field.has_presence:
        # Skipped when unset. A field with presence set to its zero value is checked even
        # under IGNORE_IF_ZERO_VALUE: protovalidate does so (tests/grpc/test_simple_rules.py).
        return lambda message: not present(message) or test(get(message))
    return lambda message: test(get(message))


def _tests(field: FieldDescriptor, kind: str, rules: Any, upb: bool) -> list[_Test]:
    expected = "repeated" if field.is_repeated else _KIND.get(field.type)
    set_rules = {descriptor.name: value for descriptor, value in rules.ListFields()}
    if kind != expected or len(UnknownFieldSet(rules)) or not set_rules.keys() <= _ALLOWED[kind]:
        raise _Unsupported  # protovalidate refuses a mismatch; let it say so
    set_rules.pop("example", None)
    if kind == "string":
        return _string_tests(set_rules)
    if kind == "bytes":
        # Lengths in bytes, as Python's len of bytes.
        tests = _length_tests(len, _LENGTHS, set_rules) + _affix_tests(set_rules)
        return tests + _membership_tests(set_rules)
    if kind == "repeated":
        return _length_tests(len, _COUNTS, set_rules)
    if kind == "enum":
        return _enum_tests(field, set_rules)
    if kind in ("double", "float") and any(math.isnan(v) for v in _values(set_rules)):
        raise _Unsupported  # NaN in a rule: no comparison agrees with protovalidate's
    # A betterproto2 float holds any Python float; protovalidate sees it rounded to 32
    # bits by the conversion to upb. One the rounding would change is refused here (the
    # general path converts it and decides): the rest compare as protovalidate does, in
    # doubles, with the rules' own 32-bit values widened.
    tests = [_is_float32] if kind == "float" and not upb else []
    tests += _range_tests(set_rules)
    if set_rules.pop("finite", False):
        tests.append(math.isfinite)
    return tests + _membership_tests(set_rules)


def _values(rules: dict[str, Any]) -> list[Any]:
    return [v for value in rules.values() for v in (value if isinstance(value, Iterable) else (value,))]


_LENGTHS = {"len": operator.eq, "min_len": operator.ge, "max_len": operator.le}
_BYTE_LENGTHS = {"len_bytes": operator.eq, "min_bytes": operator.ge, "max_bytes": operator.le}
_COUNTS = {"min_items": operator.ge, "max_items": operator.le}


def _string_tests(rules: dict[str, Any]) -> list[_Test]:
    tests = [_pattern(rules.pop("pattern"))] if "pattern" in rules else []
    # Lengths in code points, as Python's len; bytes in UTF-8.
    tests += _length_tests(len, _LENGTHS, rules) + _length_tests(_utf8_length, _BYTE_LENGTHS, rules)
    tests += _affix_tests(rules)
    if "not_contains" in rules:
        text = rules.pop("not_contains")
        tests.append(lambda value: text not in value)
    return tests + _membership_tests(rules)


def _affix_tests(rules: dict[str, Any]) -> list[_Test]:
    """``prefix``, ``suffix`` and ``contains`` of a string or bytes field (the value and
    the rule's argument are both ``str`` or both ``bytes``): a method call each, no frame."""
    return [
        operator.methodcaller(method, rules.pop(name))
        for name, method in (("prefix", "startswith"), ("suffix", "endswith"), ("contains", "__contains__"))
        if name in rules
    ]


_FLOAT32 = struct.Struct("<f")


def _is_float32(value: float) -> bool:
    """Whether a 32-bit float holds ``value`` exactly (NaN never compares equal: refused)."""
    try:
        return bool(_FLOAT32.unpack(_FLOAT32.pack(value))[0] == value)
    except (OverflowError, struct.error):
        return False


def _utf8_length(value: str) -> int:
    return len(value.encode())


def _length_tests(
    measure: Callable[[Any], int], bounds: dict[str, Callable[[Any, Any], Any]], rules: dict[str, Any]
) -> list[_Test]:
    return [_length_test(measure, holds, rules.pop(name)) for name, holds in bounds.items() if name in rules]


def _length_test(measure: Callable[[Any], int], holds: Callable[[Any, Any], Any], bound: int) -> _Test:
    return lambda value: holds(measure(value), bound)


def _bind(test: Callable[[Any, Any], bool], argument: Any) -> _Test:
    return lambda value: test(value, argument)


def _enum_tests(field: FieldDescriptor, rules: dict[str, Any]) -> list[_Test]:
    tests = []
    if rules.pop("defined_only", False):
        enum = cast(EnumDescriptor, field.enum_type)
        tests.append(frozenset(v.number for v in enum.values).__contains__)
    return tests + _membership_tests(rules)


def _membership_tests(rules: dict[str, Any]) -> list[_Test]:
    tests = []
    if "const" in rules:
        tests.append(_bind(operator.eq, rules.pop("const")))
    if "in" in rules:
        tests.append(frozenset(rules.pop("in")).__contains__)
    if "not_in" in rules:
        excluded = frozenset(rules.pop("not_in"))
        tests.append(lambda value: value not in excluded)
    return tests


def _range_tests(rules: dict[str, Any]) -> list[_Test]:
    """Bounds as protovalidate reads them: with both, an upper bound below the lower
    one means "outside": ``gt: 10, lt: 0`` accepts 11 and -1. NaN passes no bound."""
    lower = _bound(rules, ("gt", operator.gt), ("gte", operator.ge))
    upper = _bound(rules, ("lt", operator.lt), ("lte", operator.le))
    if lower is None or upper is None:
        return [_bind(holds, bound) for bound, holds in filter(None, (lower, upper))]
    (low, above), (high, below) = lower, upper
    if high < low:
        return [lambda value: above(value, low) or below(value, high)]
    return [lambda value: above(value, low) and below(value, high)]


def _bound(rules: dict[str, Any], *names: tuple[str, Callable[[Any, Any], bool]]) -> tuple[Any, Any] | None:
    for name, holds in names:
        if name in rules:
            return rules.pop(name), holds
    return None


def _presence(field: FieldDescriptor, upb: bool) -> Check:
    if field.has_presence:
        if upb:
            return operator.methodcaller("HasField", field.name)
        get = operator.attrgetter(field.name)
        return lambda message: get(message) is not None
    # An empty list, or a scalar's zero value, is unset: the value itself is falsy.
    return operator.attrgetter(field.name)


def _synthetic(field: FieldDescriptor) -> Any:
    # proto3 ``optional`` puts its field in a oneof of its own, which has presence only.
    oneof = field.containing_oneof
    return oneof if oneof is not None and len(oneof.fields) == 1 and oneof.name == f"_{field.name}" else None


# Patterns: protovalidate runs RE2 syntax (Rust's regex crate). Only a subset whose
# meaning is the same in Python's ``re`` is compiled here: literals, ``.``, classes of
# literals and ranges, groups, alternation, the quantifiers, and the anchors, ``$``
# becoming ``\Z`` (Python's ``$`` also matches before a final newline).
_ESCAPABLE = frozenset(r"\.+*?()|[]{}^$-/")
_QUANTIFIER = re.compile(r"\{(\d+)(,(\d*))?\}")


def _pattern(pattern: str) -> _Test:
    search = re.compile(_translate(pattern)).search
    return lambda value: search(value) is not None


def _translate(pattern: str) -> str:
    out = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 1
            if i == len(pattern) or pattern[i] not in _ESCAPABLE:
                raise _Unsupported  # \d, \w, \b, \p...: Unicode tables may differ
            out.append("\\" + pattern[i])
        elif char == "[":
            end = _class_end(pattern, i)
            out.append(pattern[i:end])
            i = end - 1
        elif char == "{":
            quantifier = _QUANTIFIER.match(pattern, i)
            if quantifier is None or not out or out[-1] in ("(", "|", "^"):
                raise _Unsupported  # a literal brace is an error in RE2, a brace in re
            low, high = quantifier.group(1), quantifier.group(3)
            if (high and int(high) < int(low)) or int(high or low) > 1000:
                raise _Unsupported
            out.append(quantifier.group())
            i = quantifier.end() - 1
        elif char == "(" and pattern.startswith("(?", i):
            if not pattern.startswith("(?:", i):
                raise _Unsupported  # flags and named groups
            out.append("(?:")
            i += 2
        elif char == "$":
            out.append(r"\Z")
        else:
            out.append(char)
        i += 1
    return "".join(out)


def _class_end(pattern: str, start: int) -> int:
    """The index after the class opened at ``start``; refuses what RE2 and re read apart
    (nested classes, POSIX names, set operations, escapes other than of punctuation)."""
    i = start + 1
    if pattern.startswith("^", i):
        i += 1
    first = i
    while i < len(pattern):
        char = pattern[i]
        if char == "]" and i > first:
            return i + 1
        if char in "[&~" or (char == "-" and pattern.startswith("-", i + 1)):
            raise _Unsupported
        if char == "\\":
            if i + 1 == len(pattern) or pattern[i + 1] not in _ESCAPABLE:
                raise _Unsupported
            i += 1
        elif char == "]":
            raise _Unsupported  # "[]" opens a class with "]" in re, is an error in RE2
        i += 1
    raise _Unsupported


# buf.validate's options, read through a pool of this module's own that holds
# validate.proto, whichever pool the message's descriptors come from.
_OPTIONS: dict[str, tuple[Any, Any]] = {}


def _extension(options: Message, name: str) -> Any:
    """The value of a ``buf.validate`` option on ``options``, or None when it is unset."""
    options_class, extension = _option(options.DESCRIPTOR.full_name, name)
    parsed = options_class.FromString(options.SerializeToString())
    return parsed.Extensions[extension] if parsed.HasExtension(extension) else None


def _option(options_name: str, name: str) -> tuple[Any, Any]:
    if not _OPTIONS:
        from protovalidate._gen.buf.validate import validate_pb

        pool = descriptor_pool.DescriptorPool()
        for module in (descriptor_pb2, duration_pb2, field_mask_pb2, timestamp_pb2):
            pool.AddSerializedFile(module.DESCRIPTOR.serialized_pb)
        pool.AddSerializedFile(validate_pb.desc().proto.to_binary())
        for option in ("buf.validate.field", "buf.validate.message", "buf.validate.oneof"):
            extension = pool.FindExtensionByName(option)
            owner = message_factory.GetMessageClass(cast(Descriptor, extension.containing_type))
            _OPTIONS[option] = (owner, extension)
    owner, extension = _OPTIONS[name]
    if owner.DESCRIPTOR.full_name != options_name:
        raise ValueError(f"{name} extends {owner.DESCRIPTOR.full_name}, not {options_name}")
    return owner, extension
