"""Read ``buf.validate`` rules from descriptors protoc wrote.

The rules are an extension (field 1159) of the options messages; the Python
descriptor classes keep it as unknown bytes, so it is found on the wire and
decoded with ``buf/validate/validate.proto`` from the same descriptor set.
"""

from __future__ import annotations

import json
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

from microlib_codegen._wire import fields

__all__ = ["BUF_VALIDATE", "FieldRulesReader", "extension_payload", "oneof_required"]

BUF_VALIDATE = 1159
"""buf.validate's extension number on FieldOptions, MessageOptions and OneofOptions."""

_VALIDATE_FILE = "buf/validate/validate.proto"


def extension_payload(data: bytes, number: int) -> bytes | None:
    """The bytes of length-delimited field ``number`` in serialized options (every
    occurrence, concatenated: protobuf merges them), or None when absent."""
    found = [value for n, value in fields(data) if n == number and isinstance(value, bytes)]
    return b"".join(found) if found else None


def oneof_required(options: descriptor_pb2.OneofOptions) -> bool:
    """Whether ``(buf.validate.oneof).required`` is set (``OneofRules.required``, field 1)."""
    payload = extension_payload(options.SerializeToString(), BUF_VALIDATE) or b""
    return any(number == 1 and value == 1 for number, value in fields(payload))


class FieldRulesReader:
    """Decodes a field's ``(buf.validate.field)`` rules to JSON text.

    Args:
        fds: The descriptor set the fields come from (with its imports).
    """

    def __init__(self, fds: descriptor_pb2.FileDescriptorSet) -> None:
        self._type: Any = None
        if any(f.name == _VALIDATE_FILE for f in fds.file):
            pool = descriptor_pool.DescriptorPool()
            for file in fds.file:
                pool.Add(file)
            self._type = message_factory.GetMessageClass(
                pool.FindMessageTypeByName("buf.validate.FieldRules")
            )

    def rules(self, options: descriptor_pb2.FieldOptions) -> str:
        """The field's rules as JSON (proto field names, sorted keys), or ``""`` without any."""
        payload = extension_payload(options.SerializeToString(), BUF_VALIDATE)
        if payload is None or self._type is None:
            return ""
        decoded = json_format.MessageToDict(self._type.FromString(payload), preserving_proto_field_name=True)
        return json.dumps(decoded, sort_keys=True)
