"""A local OTLP/gRPC trace receiver for the benchmark: accepts and counts spans.

``python receiver.py PORT``; prints the span count when stopped.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import Any

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc


class _Receiver(trace_service_pb2_grpc.TraceServiceServicer):  # type: ignore[misc]
    def __init__(self) -> None:
        self.spans = 0

    async def Export(self, request: Any, context: Any) -> Any:
        self.spans += sum(len(s.spans) for rs in request.resource_spans for s in rs.scope_spans)
        return trace_service_pb2.ExportTraceServiceResponse()


async def main(port: int) -> None:
    """Serve until SIGTERM, then print how many spans arrived."""
    server = grpc.aio.server()
    receiver = _Receiver()
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(receiver, server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await server.stop(None)
    print(f"receiver: {receiver.spans} spans", flush=True)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
