"""schemathesis against both documents the bookshop example serves, the example running as `microlib run`.

Every operation of `/api/openapi.json` (the OpenAPI-first orders API) and of
`/rest/openapi.json` (the document generated from the proto, for its
transcoded routes) gets schema-valid and schema-violating requests, every
check on, randomized within a fixed budget: valid requests must be accepted,
invalid ones refused, every answer documented and conforming, never a 5xx.
Each document's `servers` is how schemathesis finds where its paths are.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.served import fuzz, running


@pytest.fixture(scope="module")
def bookshop() -> Iterator[str]:
    """The example, as `microlib run` starts it; its base URL."""
    with running("examples.bookshop.main:service") as base:
        yield base


def _excluded(case: schemathesis.Case) -> list[Any]:
    # A page token the service never issued is refused (AIP-158); no schema can list the issued ones.
    if case.query and case.query.get("pageToken"):
        return [positive_data_acceptance]
    return []


@pytest.mark.parametrize("document", ["/api/openapi.json", "/rest/openapi.json"])
def test_schemathesis_finds_no_failure(bookshop: str, document: str) -> None:
    """All checks pass on every operation, with valid and invalid requests (15 of each)."""
    assert fuzz(bookshop + document, 15, _excluded) >= 3
