"""An AsyncAPI document served as written, and its page with local assets, in headless Chromium."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from microlib.http import AsyncAPIDocsApp
from tests.codegen.conftest import ASYNCAPI, codegen
from tests.http.conftest import served


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The order flow (AsyncAPI 3.1) and the streetlights (2.6) generated once; returns the package."""
    out = tmp_path_factory.mktemp("asyncapi") / "gen"
    docs = [ASYNCAPI / "orders-amqp.yaml", ASYNCAPI / "streetlights-mqtt.yaml"]
    result = codegen(*docs, "--out", out)
    assert result.returncode == 0, result.stderr
    return out


def _document(generated: Path, package: str) -> Any:
    return json.loads((generated / package / "asyncapi.json").read_bytes())


@pytest.fixture
async def client(generated: Path) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the order flow's documents served under /events."""
    app = AsyncAPIDocsApp(_document(generated, "orders_amqp"), title="Order Service", prefix="/events")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        yield c


async def test_document_is_served_as_written(client: httpx.AsyncClient, generated: Path) -> None:
    """/asyncapi.json is the generated asyncapi.json byte for byte; /asyncapi.yaml the same content."""
    as_json = await client.get("/events/asyncapi.json")
    assert as_json.headers["content-type"] == "application/json"
    assert as_json.content == (generated / "orders_amqp" / "asyncapi.json").read_bytes()
    as_yaml = await client.get("/events/asyncapi.yaml")
    assert as_yaml.headers["content-type"] == "application/yaml"
    assert yaml.safe_load(as_yaml.text) == json.loads(as_json.content)


async def test_page_uses_only_local_assets(client: httpx.AsyncClient) -> None:
    """The page loads its script and style from /asyncapi/static, which are served; nothing else is."""
    page = (await client.get("/events/asyncapi")).text
    assert "<title>Order Service - AsyncAPI</title>" in page
    assert "https://" not in page
    assert "http://" not in page
    assert '"/events/asyncapi.json"' in page
    for asset in ("index.js", "default.min.css"):
        assert f"/events/asyncapi/static/{asset}" in page
        r = await client.get(f"/events/asyncapi/static/{asset}")
        assert r.status_code == 200
        assert r.headers["cache-control"] == "max-age=86400"
        assert len(r.content) > 10_000
    assert (await client.get("/events/asyncapi/static/LICENSE")).status_code == 404
    assert (await client.get("/events/asyncapi/static/../../docs.py")).status_code == 404
    assert (await client.post("/events/asyncapi.json")).status_code == 404


@pytest.mark.parametrize(
    ("package", "expected"),
    [
        ("orders_amqp", ["Order Service", "placeOrder", "announceOrder", "orders.{region}.placed"]),
        ("streetlights_mqtt", ["Streetlights MQTT API", "receiveLightMeasurement", "turnOn", "dimLight"]),
    ],
)
def test_page_renders_the_document_in_chromium_without_network(
    generated: Path, package: str, expected: list[str]
) -> None:
    """Headless Chromium, with every host but 127.0.0.1 unresolvable, renders the operations."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "chromium is not installed (apt-get install chromium)"
    title = _document(generated, package)["info"]["title"]
    with (
        served(AsyncAPIDocsApp(_document(generated, package), title=title)) as url,
        tempfile.TemporaryDirectory() as profile,
    ):
        proc = subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                f"--user-data-dir={profile}",
                "--virtual-time-budget=15000",
                "--dump-dom",
                f"{url}/asyncapi",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    dom = proc.stdout
    for text in expected:
        assert text in dom, (text, proc.stderr[-2000:])
