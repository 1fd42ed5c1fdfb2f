"""The served document and the Swagger UI, with local assets, in headless Chromium."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import tempfile
import threading

import httpx
import yaml

from tests.http.conftest import StoreHarness
from tests.http.gen.store31 import operations as store_ops


async def test_document_is_served_as_bundled(store: StoreHarness) -> None:
    """/openapi.json is the bundled document with one server, where its paths are served (the
    root here); /openapi.yaml the same content."""
    as_json = await store.client.get("/openapi.json")
    assert as_json.headers["content-type"] == "application/json"
    bundled = json.loads(store_ops.SPEC_PATH.read_bytes())
    assert json.loads(as_json.content) == {**bundled, "servers": [{"url": "/"}]}
    as_yaml = await store.client.get("/openapi.yaml")
    assert yaml.safe_load(as_yaml.text) == json.loads(as_json.content)


async def test_ui_page_uses_only_local_assets(store: StoreHarness) -> None:
    """The /docs page loads its scripts and styles from /docs/static, which are served."""
    page = (await store.client.get("/docs")).text
    assert "https://" not in page
    assert "http://" not in page
    for asset in ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"):
        assert f"/docs/static/{asset}" in page
        r = await store.client.get(f"/docs/static/{asset}")
        assert r.status_code == 200
        assert len(r.content) > 1000
    assert (await store.client.get("/docs/static/../../openapi.py")).status_code == 404


def test_swagger_ui_lists_the_operations_in_chromium(served_store: str) -> None:
    """Headless Chromium renders /docs from the local assets and lists every operation."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "chromium is not installed (apt-get install chromium)"
    assert httpx.get(f"{served_store}/docs").status_code == 200
    with tempfile.TemporaryDirectory() as profile:
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
                f"--user-data-dir={profile}",
                "--virtual-time-budget=15000",
                "--dump-dom",
                f"{served_store}/docs",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    dom = proc.stdout
    assert "Pet Store" in dom, proc.stderr[-2000:]
    for op in store_ops.OPERATIONS:
        assert f'id="operations-{op.tag}-{op.operation_id}"' in dom, op.operation_id


async def test_a_document_is_rendered_off_the_event_loop() -> None:
    """The first /openapi.yaml of a large document (GitHub's, 13 MB, takes seconds to dump) is
    rendered in a worker thread, once however many ask at the same time: it held up every other
    request, and the health probes, until it was done. Here the rendering waits for a request
    the loop serves meanwhile, which it could not were the loop the one rendering."""
    from microlib.http.docs import _Once

    served = threading.Event()
    renders = []

    def render() -> bytes:
        renders.append(threading.current_thread())
        return b"rendered" if served.wait(30) else b"the loop was blocked"

    async def meanwhile() -> None:
        await asyncio.sleep(0)
        served.set()

    body = _Once(render)
    results = await asyncio.gather(body(), body(), meanwhile())
    assert results[:2] == [b"rendered", b"rendered"]
    assert len(renders) == 1
    assert renders[0] is not threading.main_thread()
