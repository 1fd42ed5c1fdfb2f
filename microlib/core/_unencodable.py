"""Say why a message did not encode: the RPC, the message it must be, and the field at fault.

The generated codecs convert a message field by field with no checks (a check per field would
cost every call): a handler that returns ``None`` or a field given the wrong type failed with
``AttributeError: 'NoneType' object has no attribute 'id'`` or ``TypeError: bad argument type
for built-in operation`` from inside the codec. Only the failure pays for this.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import types
import typing
from typing import Any

__all__ = ["unencodable"]

# A field annotated with one of these holds that Python type (an int is a fine float).
_SCALARS: dict[Any, tuple[type, ...]] = {
    str: (str,),
    bytes: (bytes,),
    bool: (bool,),
    int: (int,),
    float: (float, int),
    datetime.datetime: (datetime.datetime,),  # Timestamp
    datetime.timedelta: (datetime.timedelta,),  # Duration
}


def unencodable(rpc: str, role: str, message: Any, expected: type[Any], exc: Exception) -> TypeError:
    """The error for ``message`` that did not encode as the ``role`` of ``rpc``.

    Args:
        rpc: The method's path, ``pkg.Service/Method``.
        role: ``request`` or ``response``.
        message: What was given.
        expected: The message class the RPC takes there.
        exc: What the codec raised.

    Returns:
        A ``TypeError`` naming the RPC and, when it can be found, the field at fault.
    """
    if not isinstance(message, expected):
        got = "None" if message is None else f"a {type(message).__qualname__}"
        return TypeError(f"{rpc}: the {role} must be {_a(expected)} message, not {got}")
    field = _wrong_field(message, expected.__qualname__)
    if field:
        return TypeError(f"{rpc}: the {role} does not encode: {field}")
    what = f"{expected.__qualname__}) does not encode: {type(exc).__name__}: {exc}"
    return TypeError(f"{rpc}: the {role} ({what}")


def _wrong_field(message: Any, path: str) -> str:
    """``Msg.field: expected T, got ...`` for the first field holding the wrong type, or ``""``."""
    if not dataclasses.is_dataclass(message):
        return ""
    try:
        hints = typing.get_type_hints(type(message))
    except Exception:  # an annotation that does not resolve here: nothing to compare with
        return ""
    for field in dataclasses.fields(message):
        found = _wrong_value(getattr(message, field.name), hints.get(field.name), f"{path}.{field.name}")
        if found:
            return found
    return ""


def _wrong_value(value: Any, hint: Any, path: str) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):  # `T | None`: an optional field, a message field
        if value is None and type(None) in args:
            return ""
        hint = next((a for a in args if a is not type(None)), hint)
        origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is list and args:
        if not isinstance(value, list):
            return f"{path}: expected a list, got {_shown(value)}"
        return next((f for i, v in enumerate(value) if (f := _wrong_value(v, args[0], f"{path}[{i}]"))), "")
    if origin is dict and len(args) == 2:
        if not isinstance(value, dict):
            return f"{path}: expected a dict, got {_shown(value)}"
        return next((f for k, v in value.items() if (f := _wrong_value(v, args[1], f"{path}[{k!r}]"))), "")
    allowed = _SCALARS.get(hint)
    if allowed is None and isinstance(hint, type) and issubclass(hint, enum.IntEnum):
        allowed = (int,)
    if allowed is not None:
        wrong = not isinstance(value, allowed) or (hint is not bool and isinstance(value, bool))
        return f"{path}: expected {hint.__name__}, got {_shown(value)}" if wrong else ""
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        if not isinstance(value, hint):
            return f"{path}: expected {_a(hint)} message, got {_shown(value)}"
        return _wrong_field(value, path)
    return ""


def _a(cls: type[Any]) -> str:
    name = cls.__qualname__
    return f"{'an' if name[:1] in 'AEIOU' else 'a'} {name}"


def _shown(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"
