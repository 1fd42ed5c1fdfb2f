"""schemathesis against the OpenAPI document a service serves for the transcoding test contract.

The Library servicer (every transcoding feature: nested path variables,
`body: "*"`, a field body, a nested body path, a custom verb, wildcards,
`response_body`, server streaming, well-known types) runs in a whole
Service (`microlib run tests.http.rpc.service:service`, validation in its
chain) and serves the document `microlib codegen` wrote at `/openapi.json`.
Every operation gets valid and invalid requests, every check on,
randomized within a fixed budget.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from tests.served import fuzz, running


@pytest.fixture(scope="module")
def library() -> Iterator[str]:
    """The Library service, as `microlib run` starts it; its base URL."""
    with running("tests.http.rpc.service:service") as base:
        yield base


def _excluded(case: schemathesis.Case) -> list[Any]:
    # A `google.protobuf.Any` (in /v1/echo) holds any message of the contract by its `@type`, which
    # no schema can describe; a date-time of year 1 or 9999 with an offset can fall outside
    # Timestamp's range in UTC, which `format: date-time` cannot say either.
    text = repr((case.query, case.body))
    if case.operation.path == "/v1/echo" or "0001-01-01T" in text or "9999-12-31T" in text:
        return [positive_data_acceptance]
    # A query is text: an entry of the map of strings `labels` made a number or null arrives as
    # the string `3.5` or `null`, and one value of the list of strings `tags` as a list of one.
    # Neither is invalid once sent; any other mutation of a query parameter still must be a 400.
    mutations = getattr(case.meta.phase.data, "mutations", ()) if case.meta is not None else ()
    if mutations and all(m.parameter in ("labels", "tags") for m in mutations):
        return [negative_data_rejection]
    return []


def test_transcoded_api_conforms(library: str) -> None:
    """All checks pass on every transcoded operation, with valid and invalid requests (10 of each)."""
    assert fuzz(library + "/openapi.json", 10, _excluded) >= 10
