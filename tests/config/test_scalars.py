"""Environment and --set values: the values read without PyYAML read as PyYAML reads them."""

from __future__ import annotations

import itertools
import random
import subprocess
import sys
from typing import Any

import pytest

from microlib.config.sources import _parse_scalar, _parse_yaml_scalar

# Characters and pieces that YAML's resolvers and the fast path's patterns turn on.
_PIECES = [*"09157aZeExXoOnNtTfFyY.-_+:~ #", "inf", ".inf", "nan", "null", "true", "no", "0x", "0o", "1e3"]
_WORDS = [
    "",
    "0",
    "-0",
    "+1",
    "007",
    "0777",
    "1_000",
    "1:20",
    "1.5",
    "1.",
    ".5",
    "1e3",
    "1.0e+3",
    "127.0.0.1",
    "1.2.3",
    "10.0.0.1.5",
    "-1.2.3",
    "WARNING",
    "info",
    "localhost",
    "db.internal",
    "api-v1.example.com",
    "a_b",
    "on",
    "off",
    "yes",
    "no",
    "y",
    "n",
    "NO",
    "true",
    "True",
    "TRUE",
    "tRUE",
    "false",
    "null",
    "Null",
    "NULL",
    "nulls",
    "none",
    "~",
    "2026-12-06",
    "9223372036854775808",
    "-12",
    "e.5",
    "x.y.z",
    "a..b",
    "a.",
    ".a",
]


def _inputs() -> list[str]:
    rng = random.Random(19)
    generated = ["".join(rng.choices(_PIECES, k=rng.randint(1, 6))) for _ in range(6000)]
    short = ["".join(p) for n in (1, 2, 3) for p in itertools.product("0a.-", repeat=n)]
    return [*_WORDS, *short, *generated]


def _typed(value: Any) -> tuple[type, Any]:
    return type(value), value


@pytest.mark.parametrize("chunk", range(4))
def test_every_value_reads_as_pyyaml_reads_it(chunk: int) -> None:
    """The fast path (decimal integers, words, host names, dotted numbers) reads as PyYAML does."""
    inputs = _inputs()[chunk::4]
    differ = [raw for raw in inputs if _typed(_parse_scalar(raw)) != _typed(_parse_yaml_scalar(raw))]
    assert differ == []


def test_the_fast_path_covers_the_usual_values() -> None:
    """Ports, log levels, hosts and addresses take the fast path; the others reach PyYAML."""
    code = (
        "import sys\n"
        "from microlib.config.sources import _parse_scalar\n"
        "assert [_parse_scalar(v) for v in ('8081', 'WARNING', 'db.internal', '127.0.0.1')]"
        " == [8081, 'WARNING', 'db.internal', '127.0.0.1']\n"
        "assert 'yaml' not in sys.modules, 'PyYAML loaded'\n"
        "assert _parse_scalar('true') is True and 'yaml' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
