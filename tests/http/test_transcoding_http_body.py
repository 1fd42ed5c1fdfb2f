"""A google.api.HttpBody travels raw over transcoded REST, as googleapis and grpc-gateway send it:
its data is the body, under its content type (tests/http/http_body_protos/files/v1/files.proto).
microlib served it as the JSON object ``{"contentType", "data": base64}`` and read a request body
only so."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import uvicorn

from microlib import Service
from microlib.core.context import CallContext
from microlib.core.errors import FailedPrecondition, NotFound
from microlib.testing import TestService
from tests.codegen.conftest import generated_contracts

CONTRACTS = Path(__file__).resolve().parent / "http_body_protos"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    with generated_contracts(
        CONTRACTS, tmp_path_factory.mktemp("http_body"), "gen_http_body", "files.v1"
    ) as gen:
        yield gen


def _service(files: ModuleType) -> Service:
    from gen_http_body.google.api import HttpBody  # type: ignore[import-not-found]

    stored: dict[str, Any] = {}

    class Files(files.FileService):  # type: ignore[misc,name-defined]
        async def upload(self, request: Any, ctx: CallContext) -> Any:
            stored[request.name] = request.content
            return files.UploadResponse(
                name=request.name, size=len(request.content.data), content_type=request.content.content_type
            )

        async def download(self, request: Any, ctx: CallContext) -> Any:
            return stored[request.name]

        async def echo(self, request: Any, ctx: CallContext) -> Any:
            return HttpBody(content_type=request.content_type, data=request.data[::-1])

        async def chunks(self, request: Any, ctx: CallContext) -> AsyncIterator[Any]:
            if request.name not in stored:
                raise NotFound(f"no file {request.name}")
            for n, byte in enumerate(stored[request.name].data):
                if request.fail_after and n == request.fail_after:
                    raise FailedPrecondition("the file changed while it was read")
                yield HttpBody(content_type="application/octet-stream", data=bytes([byte]))

        async def wrapped(self, request: Any, ctx: CallContext) -> Any:
            return files.WrappedResponse(etag="e1", body=stored[request.name])

    service = Service("files")
    service.include(Files())
    return service


async def test_a_body_field_is_read_raw_and_a_response_body_is_sent_raw(files: ModuleType) -> None:
    png = b"\x89PNG\r\n\x1a\n\x00binary, not JSON"
    async with TestService(_service(files)) as t:
        uploaded = await t.http.put("/v1/files/logo", content=png, headers={"content-type": "image/png"})
        downloaded = await t.http.get("/v1/files/logo:download")
        wrapped = await t.http.get("/v1/files/logo:wrapped")
    assert (uploaded.status_code, uploaded.json()) == (
        200,
        {"name": "files/logo", "size": str(len(png)), "contentType": "image/png"},
    )
    assert (downloaded.status_code, downloaded.headers["content-type"], downloaded.content) == (
        200,
        "image/png",
        png,
    )
    assert (wrapped.headers["content-type"], wrapped.content) == ("image/png", png)


async def test_the_whole_request_is_the_body_of_any_media_type(files: ModuleType) -> None:
    async with TestService(_service(files)) as t:
        text = await t.http.post(
            "/v1/echo", content=b"abc", headers={"content-type": "text/plain; charset=utf-8"}
        )
        untyped = await t.http.post("/v1/echo", content=b"xyz")
    assert (text.status_code, text.headers["content-type"], text.content) == (
        200,
        "text/plain; charset=utf-8",
        b"cba",
    )
    # No content type sent: the bytes still arrive; the answer says what they are not known to be.
    assert (untyped.headers["content-type"], untyped.content) == ("application/octet-stream", b"zyx")


async def test_a_stream_of_bodies_is_one_raw_body(files: ModuleType) -> None:
    async with TestService(_service(files)) as t:
        await t.http.put("/v1/files/f", content=b"hello", headers={"content-type": "text/plain"})
        streamed = await t.http.get("/v1/files/f:chunks")
        refused = await t.http.get("/v1/files/missing:chunks")
    assert (streamed.status_code, streamed.headers["content-type"], streamed.content) == (
        200,
        "application/octet-stream",
        b"hello",
    )
    # Failing before the first chunk: a problem, as any other call.
    assert refused.status_code == 404
    assert refused.headers["content-type"] == "application/problem+json"


async def test_an_error_mid_stream_cuts_the_body_short_rather_than_ending_it(files: ModuleType) -> None:
    """Raw bytes have no frame for an error: a client must not take the part it got for the whole.
    Served by uvicorn on the test's own loop, where the service runs."""
    async with TestService(_service(files)) as t:
        await t.http.put("/v1/files/f", content=b"hello", headers={"content-type": "text/plain"})
        config = uvicorn.Config(t.service.app, host="127.0.0.1", port=0, log_level="critical", lifespan="off")
        server = uvicorn.Server(config)
        serving = asyncio.create_task(server.serve())
        while not server.started:  # noqa: ASYNC110 - uvicorn's Server has no event to wait on
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        url = f"http://127.0.0.1:{port}/v1/files/f:chunks"
        try:
            async with httpx.AsyncClient() as client:
                whole = await client.get(url)
                with pytest.raises(httpx.RemoteProtocolError):
                    await client.get(f"{url}?failAfter=2")
        finally:
            server.should_exit = True
            await serving
    assert whole.content == b"hello"


async def test_the_served_document_describes_raw_bodies(files: ModuleType) -> None:
    async with TestService(_service(files)) as t:
        document = (await t.http.get("/openapi.json")).json()
    paths = document["paths"]
    assert paths["/v1/echo"]["post"]["requestBody"]["content"] == {"*/*": {}}
    assert paths["/v1/echo"]["post"]["responses"]["200"]["content"] == {"*/*": {}}
    assert paths["/v1/files/{files}"]["put"]["requestBody"]["content"] == {"*/*": {}}
    # Everything else stays JSON.
    assert "application/json" in paths["/v1/files/{files}"]["put"]["responses"]["200"]["content"]
