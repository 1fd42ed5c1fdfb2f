"""schemathesis against the OpenAPI document generated from the transcoding test contract.

The document is the one `microlib codegen` wrote into the generated package;
the API is the Library servicer behind transcoded routes. Every generated
request must get a documented answer that conforms to the document, and
never a 5xx.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance
from starlette.requests import Request
from starlette.responses import Response

from tests.http.rpc.generated import OUT
from tests.http.rpc.harness import library_app

DOCUMENT = (OUT / "openapi.json").read_bytes()


async def openapi(request: Request) -> Response:
    """The generated document."""
    return Response(DOCUMENT, media_type="application/json")


http, _ = library_app()
http.add_route("/openapi.json", openapi)
schema = schemathesis.openapi.from_asgi("/openapi.json", http.app)
# schemathesis 4.32's coverage phase fails while probing sibling paths of this
# document (LookupError "Method `PATCH` not found. Available methods: PATCH");
# the example and fuzzing phases still run every operation.
schema.config.phases.coverage.enabled = False


@schema.parametrize()
# Derandomized: CI runs the same examples every time (a random run once hung
# shrinking for minutes under coverage); widen locally with max_examples.
@settings(max_examples=20, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_transcoded_api_conforms(case: schemathesis.Case) -> None:
    """Generated requests get documented, schema-conforming answers and never a 5xx.

    ``required`` (field_behavior REQUIRED) is enforced by the chain's
    validation slot (``MethodDefinition.validate_request``), which this
    chain does not install, so requests missing a required field are not
    expected to be rejected here. A ``google.protobuf.Any`` (in ``/v1/echo``)
    holds any message of the contract by its ``@type``, which no schema can
    describe, so schema-valid bodies there may still be refused (400), as may
    timestamps at the ends of Timestamp's range.
    """
    excluded: list[Any] = [negative_data_rejection]
    if case.operation.path == "/v1/echo" or _at_timestamp_limits(case):
        excluded.append(positive_data_acceptance)
    case.call_and_validate(excluded_checks=excluded)


def _at_timestamp_limits(case: schemathesis.Case) -> bool:
    # A date-time of year 1 or 9999 with an offset can fall outside
    # Timestamp's range in UTC (a 400); "format: date-time" cannot say so.
    text = repr((case.query, case.body))
    return "0001-01-01T" in text or "9999-12-31T" in text
