"""`microlib run` shutting down under HTTP and gRPC calls, as a real process."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from google.rpc import error_details_pb2, status_pb2

from examples.bookshop.gen.bookshop.v1 import GetBookRequest
from microlib.grpc.errors import DETAILS_KEY, error_from_rpc_error
from tests.scale.replica import Replica

TARGET = "tests.cli.apps.draining:service"


def _start(replicas: list[Replica], tmp_path: Path, *settings: str) -> Replica:
    replica = Replica(tmp_path / f"service{len(replicas)}.log", *settings, target=TARGET)
    replicas.append(replica)
    replica.start().wait_ready()
    return replica


def _in_background(call: Any) -> tuple[threading.Thread, list[Any]]:
    results: list[Any] = []

    def run() -> None:
        try:
            results.append(call())
        except BaseException as exc:
            results.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, results


def _get_book(port: int, book_id: str) -> bytes:
    """GetBook on a fresh channel, through plain grpcio (its errors keep their trailers)."""

    async def call() -> bytes:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            get_book = channel.unary_unary("/bookshop.v1.BookshopService/GetBook")
            response: bytes = await get_book(bytes(GetBookRequest(id=book_id)), timeout=30)
            return response

    return asyncio.run(call())


def _wait_for(replica: Replica, event: str) -> None:
    while not any(e.get("event") == event for e in replica.events()):
        assert replica.running(), replica.output()
        time.sleep(0.02)


def _retry_delay(failure: grpc.aio.AioRpcError) -> int:
    """The seconds of the ``google.rpc.RetryInfo`` detail the server sent."""
    status = status_pb2.Status.FromString(dict(failure.trailing_metadata() or ())[DETAILS_KEY])
    for detail in status.details:
        info = error_details_pb2.RetryInfo()
        if detail.Unpack(info):
            return info.retry_delay.seconds
    raise AssertionError(f"no RetryInfo in {status}")


def test_grpc_refuses_fresh_calls_while_http_drains(replicas: list[Replica], tmp_path: Path) -> None:
    """Every listener stops accepting when the drain begins: a gRPC call on a
    fresh channel fails while an HTTP request still drains (it used to be
    served until the HTTP drain ended), and the in-flight request completes."""
    replica = _start(replicas, tmp_path, "shutdown.drain_timeout=20")
    thread, results = _in_background(lambda: httpx.get(f"{replica.url}/slow?seconds=3", timeout=30))
    time.sleep(0.5)
    replica.terminate()
    _wait_for(replica, "shutdown started")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        _get_book(replica.grpc_port, "1")
    assert refused.value.code() is grpc.StatusCode.UNAVAILABLE
    thread.join(timeout=30)
    assert isinstance(results[0], httpx.Response), results
    assert results[0].json() == {"done": True}
    assert replica.wait() == 0


def test_calls_outliving_the_drain_are_refused_as_retryable(replicas: list[Replica], tmp_path: Path) -> None:
    """An HTTP request and a gRPC call still running when the drain's budget
    ends are answered 503 with Retry-After and UNAVAILABLE with a retry
    pushback, one log line each and no traceback; the process exits 1."""
    replica = _start(replicas, tmp_path, "shutdown.drain_timeout=0.5")
    http_thread, http_results = _in_background(
        lambda: httpx.get(f"{replica.url}/slow?seconds=30", timeout=60)
    )
    grpc_thread, grpc_results = _in_background(lambda: _get_book(replica.grpc_port, "slow-30"))
    time.sleep(1.0)
    replica.terminate()
    http_thread.join(timeout=30)
    grpc_thread.join(timeout=30)
    assert replica.wait() == 1

    response = http_results[0]
    assert isinstance(response, httpx.Response), http_results
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json()["code"] == "UNAVAILABLE"
    assert response.json()["reason"] == "SHUTTING_DOWN"
    failure = grpc_results[0]
    assert isinstance(failure, grpc.aio.AioRpcError), grpc_results
    assert failure.code() is grpc.StatusCode.UNAVAILABLE
    assert error_from_rpc_error(failure).reason == "SHUTTING_DOWN"
    assert _retry_delay(failure) == 1

    events = replica.events()
    cancelled = [e for e in events if e["event"].endswith("cancelled by shutdown")]
    assert sorted((e["logger"], e["level"]) for e in cancelled) == [
        ("microlib.grpc", "error"),
        ("microlib.http", "error"),
    ]
    assert not [e for e in events if "exception" in e], "a traceback was logged"
    assert {e["component"] for e in events if e["event"] == "drain exceeded its budget"} == {"http", "grpc"}
    assert "microlib run: shutdown exceeded its budget" in replica.output()


def test_exit_does_not_walk_the_heap(replicas: list[Replica], tmp_path: Path) -> None:
    """After "service stopped" the interpreter exits without collecting the
    heap the imports built (those last collections held the process 0.2 s
    and more): `microlib run` freezes it, so the exit finds almost nothing
    to walk (the app reports the count from an atexit hook)."""
    replica = Replica(tmp_path / "service.log", target=TARGET, env={"DRAINING_APP_REPORT_HEAP": "1"})
    replicas.append(replica)
    replica.start().wait_ready()
    replica.terminate()
    assert replica.wait() == 0
    reported = [
        line for line in replica.output().splitlines() if line.startswith("objects to collect at exit:")
    ]
    assert reported, replica.output()
    assert int(reported[0].rsplit(":", 1)[1]) < 1000, reported
