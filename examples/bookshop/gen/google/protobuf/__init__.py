# Generated from google/protobuf/descriptor.proto, google/protobuf/timestamp.proto by microlib-codegen 0.1.0. DO NOT EDIT.
"""The `google.protobuf` contract package: messages, enums."""

from __future__ import annotations

from ..._messages.google.protobuf import (
    Timestamp,
)

__all__ = [
    "Timestamp",
]
