"""Run a service as `microlib run` does, in a process of its own, and schemathesis against what it serves."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.cli.test_run import Running
from tests.scale.replica import free_port


@contextmanager
def running(target: str) -> Iterator[str]:
    """`microlib run TARGET` on free ports (tests/cli's `Running`) until ready; its base URL."""
    service = Running(target, f"grpc.port={free_port()}", f"metrics.port={free_port()}")
    try:
        service.wait_ready()
        yield service.url
    finally:
        service.output()


def fuzz(url: str, budget: int, excluded: Callable[[schemathesis.Case], list[Any]]) -> int:
    """schemathesis on every operation of the document at ``url``: every check, valid and invalid
    requests, randomized, ``budget`` examples per operation and mode. Returns the operations run."""
    schema = schemathesis.openapi.from_url(url)
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=budget, deadline=None, database=None, suppress_health_check=list(HealthCheck)
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def check(case: schemathesis.Case) -> None:
                case.call_and_validate(excluded_checks=excluded(case))

            try:
                check()
            except Unsatisfiable:
                # No invalid request exists for this operation (a lone string in the path).
                assert mode is GenerationMode.NEGATIVE, operation.label
    return len(operations)
