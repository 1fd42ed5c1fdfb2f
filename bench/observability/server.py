"""The benchmarked server: one JSON route, with observability in one of several modes.

Run by ``bench_http.py``; ``python server.py MODE PORT [OTLP_ENDPOINT]`` where MODE is
``off`` (a bare Starlette app: no middleware, empty chain, no logging), ``metrics``
(the edge and the framework's interceptors, tracing and access log off), ``logs`` (plus the JSON access log),
``spans`` (plus tracing at ratio 1.0, no exporter), ``on`` (plus OTLP/gRPC export),
``on10`` (``on`` with a 0.1 sample ratio, a common production setting) or
``floor`` (``off`` inside ``floor.FloorTelemetry``: the least the duties of ``on``
can cost).

Every mode but ``off`` and ``floor`` serves the route as a :class:`~microlib.Service` does:
the observability's interceptors installed in a :class:`~microlib.core.chain.Chain`, which
composes them for the call's kind (HTTP calls have no metrics stage: the edge counts them),
and the edge first in the service's HTTP app (``HttpApp``), whose router tells the edge the
route it matched (a bare Starlette app behind ``edge_middleware`` has its scope watched for it).
The route is one of the service's plain routes (``HttpApp.route``): its door builds the call's
context (``context_from_scope``) and renders the handler's value, so what a door does per
call is counted too.
"""

from __future__ import annotations

import sys
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from microlib.config.model import Settings
from microlib.core.chain import Chain, compose
from microlib.core.context import CallContext
from microlib.http import edge_middleware, management_routes
from microlib.http.app import HttpApp
from microlib.observability import Observability, ServiceIdentity


def build(mode: str, endpoint: str) -> Starlette:
    """The app: the same chain-run route, with every observability piece or none."""
    chain = Chain()
    obs = None
    if mode not in ("off", "floor"):
        settings = Settings.model_validate(
            {
                "logging": {"level": "INFO", "format": "json", "access_log": mode != "metrics"},
                "tracing": {
                    "enabled": mode in ("spans", "on", "on10"),
                    "exporter": "otlp-grpc" if mode in ("on", "on10") else "none",
                    "endpoint": endpoint,
                    "sample_ratio": 0.1 if mode == "on10" else 1.0,
                },
            }
        )
        obs = Observability(settings, ServiceIdentity("bench", version="1.0", environment="bench"))
        for slot, interceptor in obs.interceptors().items():
            chain.install(slot, interceptor)

    async def hello(request: Request | CallContext) -> Any:
        return {"message": "hello", "items": [1, 2, 3]}

    if obs is None:
        # The bare route: its (empty) chain composed once, around a context made by hand.
        call = compose((), hello)

        async def endpoint_(request: Request) -> Response:
            ctx = CallContext(
                kind="http",
                service="bench",
                method="/hello/{name}",
                metadata=dict(request.headers.items()),
            )
            return JSONResponse(await call(ctx), headers=ctx.response_metadata)

        app = Starlette(routes=[Route("/hello/{name}", endpoint_)])
    else:
        # What Service assembles: the edge first, then the one router, the route a plain
        # route of the service's (its door builds the context, the chain composed per kind).
        http = HttpApp(chain)
        http.add_middleware(edge_middleware(obs), outermost=True)
        http.route("/hello/{name}", service="bench")(hello)
        http.add_routes(management_routes(obs))
        app = http.app
    # What bench_layers.py --instructions stops (exporting the last spans) after counting.
    app.state.observability = obs
    if mode == "floor":
        from floor import FloorTelemetry

        return FloorTelemetry(app, endpoint)  # type: ignore[return-value]
    return app


def main() -> None:
    """Serve on 127.0.0.1:PORT with uvloop and httptools until killed."""
    mode, port = sys.argv[1], int(sys.argv[2])
    endpoint = sys.argv[3] if len(sys.argv) > 3 else "http://127.0.0.1:4317"
    uvicorn.run(
        build(mode, endpoint),
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
        lifespan="off",
    )


if __name__ == "__main__":
    main()
