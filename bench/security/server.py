"""The benchmark's service: one JSON route, with or without security.

python bench/security/server.py PORT on|off JWKS_URL ISSUER AUDIENCE [VERIFY_CACHE_SIZE]
"""

from __future__ import annotations

import json
import sys
from typing import Any

from starlette.requests import Request

from microlib.security import install
from microlib.service import Service


def main() -> None:
    port, mode, jwks_url, issuer, audience = sys.argv[1:6]
    cache_size = sys.argv[6] if len(sys.argv) > 6 else "4096"
    service = Service("bench")
    if mode == "on":
        install(service)

    @service.http.route("/books/{id}")
    async def get_book(request: Request) -> dict[str, Any]:
        return {"id": request.path_params["id"], "title": "Dune"}

    issuers = [{"issuer": issuer, "jwks_url": jwks_url, "audiences": [audience], "algorithms": ["RS256"]}]
    service.configure(
        overrides=[
            "http.host=127.0.0.1",
            f"http.port={port}",
            "logging.level=WARNING",
            f"security.issuers={json.dumps(issuers)}",
            f"security.verify_cache_size={cache_size}",
        ]
    )
    service.run()


if __name__ == "__main__":
    main()
