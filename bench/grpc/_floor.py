"""The floor: the least the default chain's duties and the betterproto2 layer cost on grpc.aio.

A yardstick, not microlib. A grpcio-tools servicer on upb messages that does,
in its methods, only what microlib's default chain and its default message
layer cannot avoid: the generated converters between upb and the
betterproto2 dataclasses the servicer's code would see (the request once,
each response message; cheaper than betterproto2's own ``bytes(msg)`` and
``Msg().parse``, which are pure Python), the ``traceparent`` and the
deadline looked up, two random ids and two clock reads for a sampled span
(dropped), the in-flight gauge and one histogram observation per call
(microlib's lock-free families). A target it misses is out of reach of any
implementation of those duties on grpc.aio we know of.

``servers.py`` serves it under k6; ``overhead.py`` calls it in-process
(``floor``), parsing and serializing as grpc.aio's stubs would.
"""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator
from typing import Any

import prometheus_client
from benchgen import _codec as codec
from benchpb.v1 import bench_pb2_grpc as pb_grpc

from microlib.observability._families import GaugeFamily, HistogramFamily

__all__ = ["servicer"]

SERVICE = "benchpb.v1.BenchService"


def servicer() -> Any:
    """A floor servicer (grpcio-tools interface, upb messages in and out)."""
    duration = HistogramFamily(
        "rpc_server_duration_seconds",
        "Duration.",
        ["service", "method", "code"],
        prometheus_client.Histogram.DEFAULT_BUCKETS,
    )
    in_flight = GaugeFamily("rpc_server_active_rpcs", "In flight.", ["service", "method"])

    def begin(context: Any, method: str) -> tuple[Any, int]:
        for key, _ in context.invocation_metadata():
            if key == "traceparent":
                break
        context.time_remaining()
        gauge = in_flight.labels(SERVICE, method)
        gauge.inc()
        return gauge, time.time_ns()

    def end(gauge: Any, method: str, start: int) -> None:
        stop = time.time_ns()
        gauge.dec()
        random.getrandbits(128)
        random.getrandbits(64)
        duration.labels(SERVICE, method, "OK").observe((stop - start) / 1e9)

    class Floor(pb_grpc.BenchServiceServicer):  # type: ignore[misc]
        async def Echo(self, request: Any, context: Any) -> Any:
            gauge, start = begin(context, "Echo")
            response = codec.to_pb_benchpb__v1__Item(codec.from_pb_benchpb__v1__Item(request))
            end(gauge, "Echo", start)
            return response

        async def Stream(self, request: Any, context: Any) -> AsyncIterator[Any]:
            gauge, start = begin(context, "Stream")
            message = codec.from_pb_benchpb__v1__StreamRequest(request)
            for _ in range(message.count):
                yield codec.to_pb_benchpb__v1__Item(message.item)
            end(gauge, "Stream", start)

    return Floor()
