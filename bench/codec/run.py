"""Codec benchmark: betterproto2's reflective codec vs upb vs microlib's generated converters.

For small (2 fields), 10-field and large (100 x 10 fields) messages: serialize,
parse, to JSON and from JSON. Each round runs every contender once in turn
(interleaved), the figure is the median over rounds in µs per operation, and
the ratios are against microlib's converters.

    PYTHONPATH=$PWD:$PWD/codegen python bench/codec/run.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from google.protobuf import json_format

from microlib_codegen import CodegenConfig, build
from microlib_codegen.check import write

HERE = Path(__file__).resolve().parent


def _generate(target: Path) -> Any:
    out = target / "benchgen"
    outcome = build(CodegenConfig(contracts=(HERE / "contracts",), out=out))
    write(outcome.files, out)
    sys.path.insert(0, str(target))
    return importlib.import_module("benchgen.bench.v1"), importlib.import_module("benchgen._codec").CODECS


def _messages(m: Any) -> dict[str, Any]:
    ten = m.Ten(
        id="b-123",
        title="A title of a book",
        big=1 << 40,
        count=7,
        tags=["a", "bb", "ccc"],
        scores={"x": 1, "y": 2},
        created_at=dt.datetime(2025, 1, 2, 3, 4, 5, 678000, tzinfo=dt.UTC),
        inner=m.Inner(key="k", value=1.5),
        color=m.Color.BLUE,
        flag=True,
    )
    return {"small": m.Small(name="ann", count=2), "10-field": ten, "large": m.Large(items=[ten] * 100)}


def _time(fn: Callable[[], object], budget: float) -> float:
    n, start = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= budget:
            return elapsed / n * 1e6


def _cases(msg: Any, codec: Any) -> dict[str, tuple[Callable[[], object], ...]]:
    """(betterproto2, upb, microlib) callables per operation, for one message."""
    upb = codec.to_upb(msg)
    data = bytes(msg)
    text = codec.to_json(msg)
    return {
        "serialize": (lambda: bytes(msg), upb.SerializeToString, lambda: codec.encode(msg)),
        "parse": (
            lambda: type(msg).parse(data),
            lambda: codec.upb_type.FromString(data),
            lambda: codec.decode(data),
        ),
        "to JSON": (msg.to_json, lambda: json_format.MessageToJson(upb), lambda: codec.to_json(msg)),
        "from JSON": (
            lambda: type(msg).from_json(text),
            lambda: json_format.Parse(text, codec.upb_type()),
            lambda: codec.from_json(text),
        ),
    }


def main() -> None:
    """Run the benchmark and print a table of medians and ratios."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--budget", type=float, default=0.05, help="seconds per measurement")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        module, codecs = _generate(Path(scratch))
        columns = ("betterproto2", 13), ("upb", 9), ("microlib", 9), ("bp2/ml", 8), ("ml/upb", 7)
        print(f"{'message':9} {'operation':10} " + " ".join(f"{name:>{width}}" for name, width in columns))
        for label, msg in _messages(module).items():
            cases = _cases(msg, codecs[type(msg)])
            for op, fns in cases.items():
                samples: list[list[float]] = [[], [], []]
                for _ in range(args.rounds):
                    for i, fn in enumerate(fns):
                        samples[i].append(_time(fn, args.budget))
                bp, up, ml = (statistics.median(s) for s in samples)
                print(f"{label:9} {op:10} {bp:13.2f} {up:9.2f} {ml:9.2f} {bp / ml:7.1f}x {ml / up:6.1f}x")


if __name__ == "__main__":
    main()
