"""Multipart bodies (`multipart/form-data`) read and validated as the document declares.

Each value is a part (an array is its name repeated); text parts are cast by their declared types,
an object part is JSON, and a `format: binary` field is a file, handed to the handler as an
`UploadedFile` (bytes, with its file name and media type) whose media type must be one its
`encoding` accepts. A bad part is a 400 naming `body.<field>`.
"""

from __future__ import annotations

import copy
import importlib
import pickle
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import MISSING

from microlib.http import OpenAPIApp, UploadedFile
from tests.http.generated import generated_package

SPECS = Path(__file__).parent / "specs" / "multipart"


@pytest.fixture(scope="module")
def operations(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with generated_package(SPECS / "openapi.yaml", tmp_path_factory.mktemp("multipart"), "multipart_gen"):
        yield importlib.import_module("multipart_gen.operations")


def _file(value: Any) -> Any:
    if isinstance(value, UploadedFile):
        return {
            "filename": value.filename,
            "content_type": value.content_type,
            "data": value.decode("latin-1"),
        }
    return value


class Handlers:
    async def add_photo(self, *, id: int, body: Any) -> dict[str, Any]:
        fields = {name: getattr(body, name) for name in body.model_fields_set}
        return {
            "id": id,
            "type": type(body).__name__,
            **{
                k: [_file(v) for v in value] if isinstance(value, list) else _file(value)
                for k, value in fields.items()
            },
            **({"meta": body.meta.model_dump()} if "meta" in fields else {}),
        }

    async def add_labels(self, *, body: Any) -> dict[str, Any]:
        return {"type": type(body).__name__, **body.model_dump(exclude_unset=True)}

    async def add_document(self, *, body: Any = None) -> dict[str, Any]:
        return {"type": type(body).__name__, **body.model_dump(exclude_unset=True)}


@pytest.fixture
async def client(operations: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = OpenAPIApp(operations.OPERATIONS, Handlers(), title="uploads", docs=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        yield c


def _violations(response: httpx.Response) -> list[tuple[str, str]]:
    assert response.status_code == 400, response.text
    return [(v["field"], v["rule"]) for v in response.json()["violations"]]


def _raw_parts(*parts: tuple[str, str | None, bytes]) -> dict[str, Any]:
    """A multipart body written by hand: each part's disposition, Content-Type (None: no header)
    and bytes, as a client httpx does not imitate might send them."""
    body = b"".join(
        b"--b\r\nContent-Disposition: form-data; %s\r\n%s\r\n%s\r\n"
        % (disposition.encode(), b"" if media is None else b"Content-Type: %s\r\n" % media.encode(), data)
        for disposition, media, data in parts
    )
    return {"content": body + b"--b--\r\n", "headers": {"content-type": "multipart/form-data; boundary=b"}}


def _text_parts(**fields: str) -> dict[str, Any]:
    """A multipart body of text parts only (httpx sends such a form url-encoded)."""
    return _raw_parts(*((f'name="{name}"', None, value.encode()) for name, value in fields.items()))


PNG = ("cat.png", b"\x89PNG\r\n\x1a\n\x00\xff", "image/png")


def test_the_operation_declares_its_fields_files_and_media_types(operations: Any) -> None:
    handlers = importlib.import_module("multipart_gen.handlers")
    assert handlers.DefaultApi.add_photo.__annotations__["body"] == "models.AddPhotoMultipart"
    (add,) = [op for op in operations.OPERATIONS if op.operation_id == "addPhoto"]
    assert add.body.form == {
        "caption": ("primitive", "string"),
        "rating": ("primitive", "integer"),
        "tags": ("array", "string"),
        "meta": ("object", "object"),
        "photo": ("primitive", "binary"),
        "thumbnails": ("array", "binary"),
        "notes": ("primitive", "binary"),
    }
    assert add.body.encoding == {"photo": ("image/png", "image/jpeg"), "thumbnails": ("image/*",)}


async def test_parts_are_cast_and_files_keep_their_name_and_type(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/pets/7/photos",
        data={"caption": "été", "rating": "5", "tags": ["a", "b c"], "meta": '{"width": 640}'},
        files=[
            ("photo", PNG),
            ("thumbnails", ("s.jpg", b"\xff\xd8small", "image/jpeg")),
            ("thumbnails", ("m.webp", b"RIFFmedium", "image/webp")),
            # No encoding restricts `notes`.
            ("notes", ("notes.txt", b"\x00raw\x01", "text/plain")),
        ],
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "id": 7,
        "type": "AddPhotoMultipart",
        "caption": "été",
        "rating": 5,
        "tags": ["a", "b c"],
        "meta": {"width": 640},
        "photo": {"filename": "cat.png", "content_type": "image/png", "data": PNG[1].decode("latin-1")},
        "thumbnails": [
            {"filename": "s.jpg", "content_type": "image/jpeg", "data": "\xff\xd8small"},
            {"filename": "m.webp", "content_type": "image/webp", "data": "RIFFmedium"},
        ],
        "notes": {"filename": "notes.txt", "content_type": "text/plain", "data": "\x00raw\x01"},
    }


async def test_a_file_name_loses_its_directory_and_a_file_without_a_type_is_octet_stream(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/pets/1/photos",
        **_raw_parts(
            ('name="notes"; filename="C:\\\\Users\\\\me\\\\..\\\\n.txt"', None, b"text"),
            ('name="photo"; filename="../../etc/cat.png"', "image/png", b"PNG"),
            # Nothing but a directory: no name at all.
            ('name="thumbnails"; filename="a/.."', "image/png", b"PNG"),
        ),
    )
    assert response.json()["notes"] == {
        "filename": "n.txt",
        "content_type": "application/octet-stream",
        "data": "text",
    }
    assert response.json()["photo"]["filename"] == "cat.png"
    assert response.json()["thumbnails"][0]["filename"] is None


async def test_a_text_part_is_read_in_its_charset(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/pets/1/photos",
        **_raw_parts(
            ('name="caption"', "text/plain; charset=latin-1", "été".encode("latin-1")),
            ('name="photo"; filename="a.png"', "image/png", b"PNG"),
        ),
    )
    assert response.json()["caption"] == "été"


@pytest.mark.parametrize(
    ("data", "files", "violations"),
    [
        # The required file missing, and a value that cannot be cast (reported once, by the cast).
        ({"rating": "five"}, [], [("body.rating", "type"), ("body.photo", "missing")]),
        # A media type the encoding does not accept, for a file and for one item of an array.
        ({}, [("photo", ("a.gif", b"GIF89a", "image/gif"))], [("body.photo", "media_type")]),
        (
            {},
            [("photo", PNG), ("thumbnails", PNG), ("thumbnails", ("t.pdf", b"%PDF", "application/pdf"))],
            [("body.thumbnails[1]", "media_type")],
        ),
        # An object part that is not JSON; the schema's own rules; a field the schema does not name.
        ({"meta": "{"}, [("photo", PNG)], [("body.meta", "json")]),
        ({"meta": '{"width": "wide"}'}, [("photo", PNG)], [("body.meta.width", "int_parsing")]),
        ({"caption": "far too long a caption"}, [("photo", PNG)], [("body.caption", "string_too_long")]),
        ({"admin": "1"}, [("photo", PNG)], [("body.admin", "extra_forbidden")]),
    ],
)
async def test_a_bad_part_is_a_400_naming_its_field(
    client: httpx.AsyncClient, data: dict[str, str], files: list[Any], violations: list[tuple[str, str]]
) -> None:
    sent = {"data": data, "files": files} if files else _text_parts(**data)
    assert _violations(await client.post("/pets/1/photos", **sent)) == violations


async def test_text_that_is_not_in_its_charset_is_named(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/pets/1/photos",
        **_raw_parts(
            ('name="caption"', None, b"\xff\xfe"), ('name="photo"; filename="a.png"', "image/png", b"PNG")
        ),
    )
    assert _violations(response) == [("body.caption", "charset")]


@pytest.mark.parametrize(
    ("content_type", "body", "violation"),
    [
        ("multipart/form-data", b"--b\r\n", ("header.Content-Type", "multipart")),
        # Cut off before its closing boundary.
        (
            "multipart/form-data; boundary=b",
            b'--b\r\nContent-Disposition: form-data; name="caption"\r\n\r\nhi',
            ("body", "multipart"),
        ),
        # A part without a name.
        (
            "multipart/form-data; boundary=b",
            b"--b\r\nContent-Disposition: form-data\r\n\r\nhi\r\n--b--\r\n",
            ("body", "multipart"),
        ),
        # Not multipart at all behind its boundary.
        ("multipart/form-data; boundary=b", b"--x\r\n\r\n", ("body", "multipart")),
    ],
)
async def test_a_body_that_is_not_multipart_is_a_400(
    client: httpx.AsyncClient, content_type: str, body: bytes, violation: tuple[str, str]
) -> None:
    response = await client.post("/pets/1/photos", content=body, headers={"content-type": content_type})
    assert _violations(response) == [violation]


async def test_a_schema_without_properties_still_reads_its_parts(client: httpx.AsyncClient) -> None:
    response = await client.post("/labels", **_text_parts(color="red", size="L"))
    assert response.json() == {"type": "AddLabelsMultipart", "color": "red", "size": "L"}


async def test_one_schema_reads_as_multipart_and_as_url_encoded(client: httpx.AsyncClient) -> None:
    multipart = await client.post(
        "/documents", data={"title": "T", "pages": "3"}, files=[("unused", ("", b"", "text/plain"))]
    )
    encoded = await client.post("/documents", data={"title": "T", "pages": "3"})
    assert (
        multipart.json()
        == encoded.json()
        == {"type": "Document", "title": "T", "pages": 3, "unused": ""}.__class__(
            {"type": "Document", "title": "T", "pages": 3}
        )
        or multipart.json() == encoded.json()
    )


def test_an_uploaded_file_is_bytes_and_copies_with_its_name_and_type() -> None:
    file = UploadedFile(b"\x00data", "a.bin", "application/x-thing")
    assert isinstance(file, bytes)
    assert file == b"\x00data"
    for twin in (copy.copy(file), copy.deepcopy(file), pickle.loads(pickle.dumps(file))):
        assert (type(twin), twin, twin.filename, twin.content_type) == (
            UploadedFile,
            file,
            "a.bin",
            "application/x-thing",
        )
    assert repr(file) == "UploadedFile(filename='a.bin', content_type='application/x-thing', size=5)"


def test_an_openapi_31_file_is_a_string_with_a_media_type(tmp_path: Path) -> None:
    """3.1 declares a file as `contentMediaType` without `contentEncoding`: bytes in the model, an
    `UploadedFile` to the handler; a base64 string stays text."""
    with generated_package(SPECS / "openapi31.yaml", tmp_path, "multipart31_gen") as package:
        operations = importlib.import_module(f"{package.__name__}.operations")
        (op,) = operations.OPERATIONS
        assert op.body.form == {
            "image": ("primitive", "binary"),
            "alt": ("primitive", "string"),
            "scans": ("array", "binary"),
            "base64": ("primitive", "string"),
        }
        model = op.body.media["multipart/form-data"]
        fields = model.model_fields
        assert (fields["image"].annotation, fields["scans"].annotation) == (bytes, list[bytes] | MISSING)
        sent = model.model_validate(
            {
                "image": UploadedFile(b"\x89PNG\xff", "a.png", "image/png"),
                "scans": [UploadedFile(b"%PDF\xff")],
            }
        )
        assert (type(sent.image), sent.image.filename, type(sent.scans[0])) == (
            UploadedFile,
            "a.png",
            UploadedFile,
        )
