"""schemathesis against the served Pet Store document: no 5xx, responses conform.

Authentication belongs to the security interceptors; a minimal API-key
interceptor stands in for them here, reading the operation's
``SecurityRequirement`` from ``ctx.attributes["microlib.security"]`` as they
do. It checks that a
key is present, not that it is valid, so the ``ignored_auth`` check (which
sends a wrong key) is the security engineer's, not run here.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import ignored_auth, negative_data_rejection

from microlib.core.chain import CallNext
from microlib.core.context import CallContext
from microlib.core.errors import Unauthenticated
from microlib.http.openapi import OpenAPIApp
from microlib.security.requirements import SECURITY_ATTRIBUTE
from tests.http.apps.store import Pets, Store
from tests.http.gen.store31 import operations as store_ops


class ApiKeyInterceptor:
    """Rejects calls to non-public operations without an X-API-Key (the document's only scheme)."""

    async def intercept(self, ctx: CallContext, call_next: CallNext) -> Any:
        """Check the requirement, then continue."""
        requirement = ctx.attributes.get(SECURITY_ATTRIBUTE)
        if requirement is not None and not requirement.public and not ctx.metadata.get("x-api-key"):
            raise Unauthenticated("X-API-Key header required")
        return await call_next(ctx)


app = OpenAPIApp(
    store_ops.OPERATIONS,
    {"pets": Pets(), "store": Store()},
    chain=[ApiKeyInterceptor()],
    title=store_ops.TITLE,
    validate_responses=True,
    spec_path=store_ops.SPEC_PATH,
)
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@schema.parametrize()
# Derandomized: CI runs the same examples every time (a random run once hung
# shrinking for minutes under coverage); widen locally with max_examples.
@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_store_api_conforms(case: schemathesis.Case) -> None:
    """Generated requests get documented, schema-conforming answers and never a 5xx."""
    excluded = [ignored_auth]
    if _empty_form_array(case):
        excluded.append(negative_data_rejection)
    case.call_and_validate(excluded_checks=excluded)


def _empty_form_array(case: schemathesis.Case) -> bool:
    # schemathesis writes both [] and [""] of the non-exploded form array
    # `tags` as `tags=`: nothing on the wire tells them apart. microlib reads
    # it as [] (OpenAPI's style table), so the negative case [""] is accepted
    # as the valid empty list. A random run found it; the other checks still run.
    return case.query is not None and case.query.get("tags") in ([""], "")
