"""The proto3 JSON mapping of one message type, as REST transcoding and OPA policy input use it.

Generated packages carry fast per-message converters (``JSON`` in their
``_codec.py``, see :mod:`microlib.contract.protojson`); a package generated
before them falls back to protobuf's ``json_format`` on the upb message,
which gives the same documents, slower.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from google.protobuf import json_format

from microlib.contract.codec import MessageCodec
from microlib.contract.protojson import JsonOptions
from microlib.core.errors import FieldViolation, InvalidArgument

__all__ = ["MessageJson", "message_json"]

_FIELD = re.compile(r"Failed to parse (\w+) field")


@dataclass(frozen=True, slots=True)
class MessageJson:
    """Both directions of the JSON mapping of one message type.

    The converters take the options as an argument (the generated
    ``to_json_X``/``from_json_X`` signatures): a request's hot path calls
    them directly, with no function of its own in between.

    Args:
        to_json: ``(message, options)`` → JSON value (dicts, lists, strings, numbers).
        from_json: ``(value, path, options)`` → message; raises
            ``InvalidArgument`` naming the field path (JSON names, under
            ``path``) of the first bad value.
        options: The options both directions take.
        upb_type: The upb class (descriptors for field lookups).
        to_upb: message → its upb message (fields by their proto names, whichever
            message layer the package generates).
    """

    to_json: Callable[[Any, JsonOptions], Any]
    from_json: Callable[[Any, str, JsonOptions], Any]
    options: JsonOptions
    upb_type: Any
    to_upb: Callable[[Any], Any]

    def dump(self, message: Any) -> Any:
        """Message → JSON value."""
        return self.to_json(message, self.options)

    def load(self, value: Any) -> Any:
        """JSON value (the whole document) → message."""
        return self.from_json(value, "", self.options)


def message_json(codec_of: Callable[..., Any], message_type: type[Any], options: JsonOptions) -> MessageJson:
    """The JSON mapping of ``message_type`` from its generated codec module.

    Args:
        codec_of: Any generated function of the codec module (to find it).
        message_type: The betterproto2 message class.
        options: Output and unknown-field choices.

    Returns:
        The fast generated converters when the package has them, else
        ``json_format`` through the upb message.
    """
    module = sys.modules[codec_of.__module__]
    codec: MessageCodec[Any] = module.CODECS[message_type]
    fast = getattr(module, "JSON", {}).get(message_type)
    if fast is not None:
        to_json, from_json = fast
        return MessageJson(to_json, from_json, options, codec.upb_type, codec.to_upb)
    return _slow(codec, options)


def _slow(codec: MessageCodec[Any], options: JsonOptions) -> MessageJson:
    pool: Any = codec.upb_type.DESCRIPTOR.file.pool

    def to_json(message: Any, options: JsonOptions) -> Any:
        return json_format.MessageToDict(
            codec.to_upb(message),
            preserving_proto_field_name=options.original_names,
            always_print_fields_with_no_presence=options.emit_defaults,
            descriptor_pool=pool,
        )

    def from_json(value: Any, path: str, options: JsonOptions) -> Any:
        pb = codec.upb_type()
        try:
            json_format.ParseDict(
                value, pb, ignore_unknown_fields=options.ignore_unknown, descriptor_pool=pool
            )
        except json_format.ParseError as exc:
            found = ".".join(_FIELD.findall(str(exc)))
            raise InvalidArgument(
                f"invalid JSON for {pb.DESCRIPTOR.full_name}: {exc}",
                violations=[FieldViolation(found or "body", str(exc), "json")],
            ) from None
        return codec.from_upb(pb)

    return MessageJson(to_json, from_json, options, codec.upb_type, codec.to_upb)
