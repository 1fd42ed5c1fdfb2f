"""The Kafka proxy's rewrites of group answers, on crafted response bodies."""

from __future__ import annotations

import struct

from tests.scale.kafka_proxy import (
    HEARTBEAT,
    ILLEGAL_GENERATION,
    REBALANCE_IN_PROGRESS,
    SYNC_GROUP,
    _group_errors,
)


def _sync_group(error: int, assignment: bytes) -> bytearray:
    """A SyncGroup v1 answer: throttle_time_ms, error_code, member_assignment."""
    return bytearray(struct.pack(">ihi", 0, error, len(assignment)) + assignment)


def test_a_sync_answer_without_an_assignment_makes_the_member_rejoin() -> None:
    """noida-db answers a member the leader's assignment left out with no error and no bytes,
    which aiokafka cannot decode: the member is told to rejoin instead."""
    body = _sync_group(0, b"")
    assert _group_errors(body, SYNC_GROUP, 1) == 1
    assert body == _sync_group(REBALANCE_IN_PROGRESS, b"")


def test_an_assignment_and_other_errors_pass_and_an_illegal_generation_is_turned() -> None:
    assignment = struct.pack(">hi", 0, 0) + struct.pack(">i", 0)
    for body in (_sync_group(0, assignment), _sync_group(25, b"")):
        before = bytes(body)
        assert _group_errors(body, SYNC_GROUP, 1) == 0
        assert bytes(body) == before
    body = _sync_group(ILLEGAL_GENERATION, b"")
    assert _group_errors(body, SYNC_GROUP, 1) == 1
    assert body == _sync_group(REBALANCE_IN_PROGRESS, b"")
    heartbeat = bytearray(struct.pack(">ih", 0, ILLEGAL_GENERATION))
    assert _group_errors(heartbeat, HEARTBEAT, 1) == 1
    assert heartbeat == struct.pack(">ih", 0, REBALANCE_IN_PROGRESS)
