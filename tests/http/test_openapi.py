"""OpenAPIApp on the Pet Store document (3.1): routing, parameters, bodies, errors, chain."""

from __future__ import annotations

from typing import Any

import pytest

from microlib.core.errors import ContractMismatch
from microlib.http.openapi import OpenAPIApp
from microlib.security.requirements import SecurityRequirement
from microlib.security.schemes import SecurityScheme
from tests.http.conftest import StoreHarness
from tests.http.gen.store31 import models
from tests.http.gen.store31 import operations as store_ops

DOG = {"kind": "dog", "name": "rex", "barks": 3}


def violations(response: Any) -> dict[str, dict[str, str]]:
    """The problem+json violations of a response, keyed by field path."""
    assert response.headers["content-type"] == "application/problem+json"
    return {v["field"]: v for v in response.json()["violations"]}


class TestRouting:
    async def test_routes_by_path_and_method(self, store: StoreHarness) -> None:
        """A POST creates through createPet and a GET on the templated path reads it back."""
        created = await store.client.post("/pets", json=DOG)
        assert created.status_code == 201
        assert created.json() == {"id": 1, "pet": DOG, "createdAt": "2026-01-01T00:00:00Z"}
        fetched = await store.client.get("/pets/1")
        assert fetched.status_code == 200
        assert fetched.json()["pet"]["name"] == "rex"

    async def test_unknown_path_is_404_problem(self, store: StoreHarness) -> None:
        """A path outside the document is a 404 problem+json."""
        r = await store.client.get("/cats")
        assert r.status_code == 404
        assert r.json()["code"] == "NOT_FOUND"

    async def test_wrong_method_is_405_with_allow(self, store: StoreHarness) -> None:
        """A known path with an undeclared method is 405 naming the allowed methods."""
        r = await store.client.put("/pets/1")
        assert r.status_code == 405
        assert r.headers["allow"] == "DELETE, GET, HEAD"

    async def test_handler_error_is_rendered(self, store: StoreHarness) -> None:
        """An Error raised by the handler becomes its status and problem+json."""
        r = await store.client.get("/pets/42")
        assert r.status_code == 404
        assert r.json()["detail"] == "no pet 42"


class TestParameters:
    async def test_every_query_style_and_header_and_cookie(self, store: StoreHarness) -> None:
        """form (exploded and not), deepObject, a header and a cookie reach the handler typed."""
        store.client.cookies.set("session", "s-1")
        r = await store.client.get(
            "/pets?limit=5&kind=cat&kind=dog&tags=a,b&filter[minAge]=2&filter[name]=rex",
            headers={"X-Request-Tag": "abc"},
        )
        assert r.status_code == 200, r.text
        name, args = store.pets.calls[-1]
        assert name == "listPets"
        assert args["limit"] == 5
        assert args["kind"] == [models.PetKind.CAT, models.PetKind.DOG]
        assert args["tags"] == ["a", "b"]
        assert args["filter"] == models.ListPetsFilter(minAge=2, name="rex")
        assert args["x_request_tag"] == "abc"
        assert args["session"] == "s-1"
        assert r.headers["x-total"] == "0"

    async def test_defaults_and_absent_optionals(self, store: StoreHarness) -> None:
        """An absent parameter gets its schema default, or None without one."""
        assert (await store.client.get("/pets")).status_code == 200
        _name, args = store.pets.calls[-1]
        assert args == {
            "limit": 20,
            "kind": None,
            "tags": None,
            "filter": None,
            "x_request_tag": None,
            "session": None,
        }

    async def test_label_path_and_pipe_delimited_query(self, store: StoreHarness) -> None:
        """A label-style path value and a pipeDelimited array are deserialized."""
        r = await store.client.get("/pets/7/photos/.large?crop=1|2|3|4")
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/octet-stream"
        assert r.content == b"7:large:[1, 2, 3, 4]"

    async def test_space_delimited_query(self, store: StoreHarness) -> None:
        """A spaceDelimited array is split on spaces."""
        r = await store.client.get("/store/inventory?skus=ABC-0001%20XYZ-0002")
        assert r.json() == {"ABC-0001": 3, "XYZ-0002": 3}

    async def test_simple_array_header(self, store: StoreHarness) -> None:
        """A simple-style array header is split on commas."""
        r = await store.client.delete("/pets/3", headers={"X-Reasons": "sold,moved"})
        assert r.status_code == 204
        assert store.pets.calls[-1] == ("deletePet", {"pet_id": 3, "x_reasons": ["sold", "moved"]})

    async def test_invalid_parameters_are_named(self, store: StoreHarness) -> None:
        """Each bad parameter is a violation naming location, parameter, rule and value."""
        r = await store.client.get(
            "/pets?limit=500&filter[minAge]=-1&tags=a,b,c,d,e,f", headers={"X-Request-Tag": "ABC"}
        )
        assert r.status_code == 400
        found = violations(r)
        assert found["query.limit"]["rule"] == "less_than_equal"
        assert "received 500" in found["query.limit"]["description"]
        assert found["query.filter.minAge"]["rule"] == "greater_than_equal"
        assert found["query.tags"]["rule"] == "too_long"
        assert found["header.X-Request-Tag"]["rule"] == "string_pattern_mismatch"

    async def test_uncastable_values_are_type_errors(self, store: StoreHarness) -> None:
        """A path value that is not an integer is one type violation, not also 'missing'."""
        r = await store.client.get("/pets/abc")
        assert r.status_code == 400
        assert r.json()["violations"] == [
            {
                "field": "path.petId",
                "description": "Input should be a valid integer (received 'abc')",
                "rule": "type",
            }
        ]

    async def test_strict_mode_rejects_unknown_query(self, store: StoreHarness) -> None:
        """Strict mode rejects a query parameter the document does not declare."""
        r = await store.client.get("/pets?bogus=1")
        assert violations(r)["query.bogus"]["rule"] == "extra_forbidden"

    async def test_lenient_mode_ignores_unknown_query(self) -> None:
        """With strict=False an undeclared query parameter is ignored."""
        import httpx

        from tests.http.conftest import store_app

        app = store_app(strict=False)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            assert (await client.get("/pets?bogus=1")).status_code == 200


class TestBodies:
    async def test_body_errors_name_the_json_path(self, store: StoreHarness) -> None:
        """Body violations carry the JSON path of the bad value."""
        order = {
            "items": [{"sku": "ABC-0001", "quantity": 1}, {"sku": "ABC-0002", "quantity": 2}, {"sku": "bad"}]
        }
        r = await store.client.post("/store/orders", json=order)
        found = violations(r)
        assert found["body.items[2].sku"]["rule"] == "string_pattern_mismatch"
        assert "received 'bad'" in found["body.items[2].sku"]["description"]
        assert found["body.items[2].quantity"]["rule"] == "missing"

    async def test_discriminated_union(self, store: StoreHarness) -> None:
        """oneOf with a discriminator picks the model by its tag and names the member's field."""
        ok = await store.client.post("/pets", json={"kind": "cat", "name": "tom", "indoor": True})
        assert ok.status_code == 201
        bad = await store.client.post("/pets", json={"kind": "cat", "name": "tom"})
        assert "body.indoor" in violations(bad)
        unknown = await store.client.post("/pets", json={"kind": "cow", "name": "x"})
        assert violations(unknown)["body"]["rule"] == "union_tag_invalid"

    async def test_unknown_body_fields_follow_additional_properties(self, store: StoreHarness) -> None:
        """additionalProperties: false rejects an unknown field; its absence accepts it."""
        r = await store.client.post(
            "/store/orders", json={"items": [{"sku": "ABC-0001", "quantity": 1}], "x": 1}
        )
        assert violations(r)["body.x"]["rule"] == "extra_forbidden"
        assert (await store.client.post("/pets", json={**DOG, "extra": 1})).status_code == 201

    async def test_json_types_are_strict(self, store: StoreHarness) -> None:
        """A JSON string is not an integer, even if it looks like one."""
        r = await store.client.post("/store/orders", json={"items": [{"sku": "ABC-0001", "quantity": "1"}]})
        assert violations(r)["body.items[0].quantity"]["rule"] == "int_type"

    async def test_null_only_where_nullable(self, store: StoreHarness) -> None:
        """null is accepted for a nullable field and rejected for an optional non-nullable one."""
        item = {"sku": "ABC-0001", "quantity": 1}
        assert (
            await store.client.post("/store/orders", json={"items": [item], "note": None})
        ).status_code == 201
        r = await store.client.post("/store/orders", json={"items": [item], "status": None})
        assert "body.status" in violations(r)

    async def test_malformed_json(self, store: StoreHarness) -> None:
        """Malformed JSON is a 400 naming the body."""
        r = await store.client.post(
            "/store/orders", content=b"{nope", headers={"content-type": "application/json"}
        )
        assert violations(r)["body"]["rule"] == "json"

    async def test_missing_required_body(self, store: StoreHarness) -> None:
        """An empty body where one is required is a violation."""
        r = await store.client.post("/store/orders", headers={"content-type": "application/json"})
        assert violations(r)["body"]["rule"] == "required"

    async def test_wrong_content_type_is_415(self, store: StoreHarness) -> None:
        """A media type the operation does not accept is 415."""
        r = await store.client.post("/store/orders", content=b"x", headers={"content-type": "text/plain"})
        assert r.status_code == 415
        assert violations(r)["header.Content-Type"]["rule"] == "media_type"


class TestChain:
    async def test_context_carries_operation_and_typed_request(self, store: StoreHarness) -> None:
        """The chain sees kind, API title, operationId, lower-cased headers, typed args and security."""
        await store.client.post("/pets", json=DOG, headers={"X-Trace": "t-1"})
        ctx = store.recorder.seen[-1]
        assert (ctx.kind, ctx.service, ctx.method) == ("http", "Pet Store", "createPet")
        assert ctx.metadata["x-trace"] == "t-1"
        assert isinstance(ctx.request["body"], models.NewPet)
        # apiKey is neither oauth2 nor openIdConnect: any key holder, no scopes; the key's place is kept.
        api_key = SecurityScheme("apiKey", "apiKey", location="header", parameter="X-API-Key")
        assert ctx.attributes["microlib.security"] == SecurityRequirement(schemes=(api_key,))
        assert ctx.attributes["http.route"] == "/pets"
        assert store.recorder.outcomes[-1] == "OK"

    async def test_operation_security_overrides_document(self, store: StoreHarness) -> None:
        """An operation's own security list replaces the document's default."""
        await store.client.get("/store/inventory")
        assert store.recorder.seen[-1].attributes["microlib.security"] == SecurityRequirement(public=True)

    async def test_invalid_requests_pass_through_the_chain(self, store: StoreHarness) -> None:
        """A request that fails validation is still seen (and counted) by interceptors."""
        await store.client.get("/pets/0")
        assert store.recorder.outcomes[-1] == "INVALID_ARGUMENT"


class TestResponses:
    async def test_response_validation_catches_bad_handler_output(self) -> None:
        """With validate_responses a response that breaks its schema is a 500, not sent."""
        import httpx

        from tests.http.apps.store import Pets
        from tests.http.conftest import store_app

        class BadPets(Pets):
            async def get_pet(self, *, pet_id: int) -> Any:
                return models.Pet.model_construct(id=0, pet=models.NewPet(models.Dog(kind="dog", name="x")))

        app = store_app(pets=BadPets())
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            r = await client.get("/pets/1")
        assert r.status_code == 500
        assert r.json()["detail"] == "internal error"

    def test_missing_handler_method_is_reported_at_startup(self) -> None:
        """A handler object lacking an operation's method fails construction, naming it."""

        class Partial:
            async def list_pets(self, **kwargs: Any) -> None: ...

        with pytest.raises(ContractMismatch, match=r"pets\.get_pet_photo \(getPetPhoto\)"):
            OpenAPIApp(store_ops.OPERATIONS, {"pets": Partial(), "store": object()})

    def test_method_only_inherited_from_the_protocol_is_missing(self) -> None:
        """A stub that subclasses the generated Protocol but dropped a method is refused,
        rather than serving the Protocol's ``...`` body as a 200 with no content."""
        from tests.http.apps.store import Pets, Store
        from tests.http.gen.store31.handlers import PetsApi

        class Forgetful(PetsApi):
            list_pets = Pets.list_pets
            create_pet = Pets.create_pet
            delete_pet = Pets.delete_pet
            get_pet_photo = Pets.get_pet_photo

        with pytest.raises(ContractMismatch, match=r"1 operation\(s\): pets\.get_pet \(getPet\);"):
            OpenAPIApp(store_ops.OPERATIONS, {"pets": Forgetful(), "store": Store()}, title="store")

    def test_a_protocol_method_overridden_in_a_subclass_is_served(self) -> None:
        """Only the Protocol's own placeholder counts as missing: an override anywhere below it is served."""
        from tests.http.apps.store import Pets, Store

        class Special(Pets):
            pass

        app = OpenAPIApp(store_ops.OPERATIONS, {"pets": Special(), "store": Store()})
        assert len(app.operations) == len(store_ops.OPERATIONS)


class TestMounting:
    async def test_mounted_in_the_service_http_app(self) -> None:
        """Mounted under /api in the service's HttpApp, operations and docs answer below /api."""
        import httpx

        from microlib.core.chain import Chain
        from microlib.http import HttpApp
        from tests.http.apps.store import Pets, Store

        http = HttpApp(Chain())
        api = OpenAPIApp(
            store_ops.OPERATIONS,
            {"pets": Pets(), "store": Store()},
            chain=Chain(),
            title=store_ops.TITLE,
            spec_path=store_ops.SPEC_PATH,
            prefix="/api",
        )
        http.mount("/api", api)
        transport = httpx.ASGITransport(app=http.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            assert (await client.post("/api/pets", json=DOG)).status_code == 201
            assert (await client.get("/api/pets/1")).json()["id"] == 1
            # Clients (and the page's "Try it out") call /api/pets, not /pets.
            assert (await client.get("/api/openapi.json")).json()["servers"] == [{"url": "/api"}]
            assert '"/api/openapi.json"' in (await client.get("/api/docs")).text
            assert (await client.get("/pets/1")).status_code == 404

    async def test_the_prefix_redirects_only_to_what_the_document_serves(self) -> None:
        """`/api` was a 307 to `/api/` whatever the document, which then answered 404: the mount
        counted as a match, as a Starlette (or FastAPI) app mounted at `/api` does. It is a 404 at
        once; a document with an operation at its root path (`/`) still gets the redirect."""
        import dataclasses

        import httpx

        from microlib.core.chain import Chain
        from microlib.http import HttpApp
        from tests.http.apps.store import Pets, Store

        # The Pet Store with listPets moved to the document's root path.
        at_root = tuple(
            dataclasses.replace(op, path="/") if op.operation_id == "listPets" else op
            for op in store_ops.OPERATIONS
        )
        for operations, answer in ((store_ops.OPERATIONS, 404), (at_root, 307)):
            http = HttpApp(Chain())
            handlers = {"pets": Pets(), "store": Store()}
            api = OpenAPIApp(operations, handlers, chain=Chain(), title=store_ops.TITLE, prefix="/api")
            http.mount("/api", api)
            transport = httpx.ASGITransport(app=http.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                response = await client.get("/api")
                assert response.status_code == answer, response.text
                if answer == 404:
                    assert response.headers["content-type"] == "application/problem+json"
                    assert (await client.get("/api/")).status_code == 404
                else:
                    assert response.headers["location"] == "http://test/api/"
                    assert (await client.get("/api/")).status_code == 200
