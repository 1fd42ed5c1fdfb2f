"""connexion 3 with strict validation, on the OpenAPI 3.0 copy of the document."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from connexion import AsyncApp


async def create_order(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Create the order."""
    return {"id": 1, "sku": body["sku"], "quantity": body["quantity"]}, 201


app = AsyncApp(__name__)
app.add_api(Path(__file__).parent.parent / "order30.yaml", strict_validation=True)
