"""The one decoder of ``(microlib.v1.auth)``: held to ``contracts/microlib/v1/auth.proto``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2

from microlib.security.auth_option import AUTH_FIELD, AuthOption, auth_option, auth_rules, effective_auth

ROOT = Path(__file__).resolve().parents[2]


def _compiled_auth_proto(tmp_path: Path) -> descriptor_pb2.FileDescriptorProto:
    out = tmp_path / "auth.binpb"
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{ROOT / 'contracts'}",
         f"--descriptor_set_out={out}", "microlib/v1/auth.proto"],
        check=True, capture_output=True,
    )  # fmt: skip
    (file,) = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file
    return file


def _shape(message: descriptor_pb2.DescriptorProto) -> list[tuple[str, int, int, int]]:
    return [(f.name, f.number, f.type, f.label) for f in message.field]


def test_the_decoder_declares_what_auth_proto_declares(tmp_path: Path) -> None:
    """AuthRule's fields and both extensions' number are auth.proto's."""
    from microlib.security import auth_option as module

    contract = _compiled_auth_proto(tmp_path)
    view = module._options_view()
    assert _shape(contract.message_type[0]) == _shape(view.message_type[0])
    extensions = {(e.extendee, e.name): (e.number, e.type_name) for e in contract.extension}
    assert extensions == {
        (".google.protobuf.MethodOptions", "auth"): (AUTH_FIELD, ".microlib.v1.AuthRule"),
        (".google.protobuf.ServiceOptions", "default_auth"): (AUTH_FIELD, ".microlib.v1.AuthRule"),
    }


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    return bytes([*out, value])


def _options(rule: bytes) -> bytes:
    # deprecated = true (field 33), then the option as protoc writes it.
    assert descriptor_pb2.MethodOptions.FromString(b"\x88\x02\x01").deprecated
    return b"\x88\x02\x01" + _varint(AUTH_FIELD << 3 | 2) + _varint(len(rule)) + rule


def test_a_rule_is_read_among_other_options() -> None:
    """Other options stay unknown; the rule's three fields are read; no rule gives None."""
    rule = b"\x08\x01" + b"\x12\x02s1" + b"\x12\x02s2" + b"\x1a\x05admin"
    assert auth_option(_options(rule)) == AuthOption(True, ("s1", "s2"), ("admin",))
    assert auth_option(b"\x88\x02\x01") is None
    assert auth_option(b"") is None
    assert effective_auth(b"", _options(b"\x12\x01r")) == AuthOption(False, ("r",), ())
    assert effective_auth(_options(b"\x08\x01"), _options(b"\x12\x01r")) == AuthOption(public=True)


def test_bad_bytes_are_named() -> None:
    """Options or a descriptor set that do not parse raise ValueError saying which."""
    with pytest.raises(ValueError, match="options do not parse"):
        auth_option(b"\x0a\x05ab")
    with pytest.raises(ValueError, match="file_descriptor_set does not parse"):
        auth_rules(b"\x0a\x05ab")
