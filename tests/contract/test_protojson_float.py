"""``float`` fields are written as protobuf's ``json_format`` writes them, without its internals."""

from __future__ import annotations

import math
import random
import struct

from google.protobuf import json_format, wrappers_pb2

from microlib.contract.protojson import float_out


def test_float_fields_read_as_json_format_writes_them() -> None:
    """The shortest decimal that reads back as the same float32, for 20,000 random float32s."""
    rng = random.Random(19)
    values = [0.9, 0.1, -0.0, 1e-45, 3.4028234663852886e38, 16777217.0, 1 / 3]
    values += [struct.unpack("<f", struct.pack("<I", rng.getrandbits(32)))[0] for _ in range(20_000)]
    for value in values:
        if not math.isfinite(value):
            continue
        expected = json_format.MessageToDict(wrappers_pb2.FloatValue(value=value))
        got = float_out(value)
        assert (got, repr(got)) == (expected, repr(expected)), value
