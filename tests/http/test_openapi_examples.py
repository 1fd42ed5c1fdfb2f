"""ReadMe's OpenAPI 3.0 and 3.1 examples (tests/http/openapi_examples/, README.md there names their
source), as a newcomer would bring them: generated in one `microlib codegen` run, type-checked as
the user's code is, each served and sent requests from outside; the invalid ones refused in one
line naming their file, line and path."""

from __future__ import annotations

import importlib
import inspect
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import jwt
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from microlib import Service
from microlib.core.context import CallContext, Principal
from microlib.core.errors import NotFound
from microlib.http.openapi import Reply
from microlib.security import install
from microlib.testing import TestService
from tests.codegen.conftest import ROOT, Generated, codegen, generated_with_stubs
from tests.security.conftest import ec_key

EXAMPLES = Path(__file__).resolve().parent / "openapi_examples"
SERVED = EXAMPLES / "served"
# Each document's package: v30-petstore.yaml generates `v30_petstore`.
NAMES = sorted(p.stem.replace("-", "_") for p in SERVED.glob("*.yaml"))
PACKAGES = ("gen_openapi_examples", "stubs_openapi_examples")
# Requests of each kind (valid, invalid) generated for each operation.
BUDGET = 4
# Where a 400 says what it refused: the location of the field (and its name).
_LOCATIONS = ("path.", "query.", "header.", "cookie.", "body")
_FIELD = re.compile(r"\b(path|query|header|cookie)\.|\bbody\b")
_ISSUER = "https://issuer.test"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Generated]:
    """Every served example generated once, its stubs beside it."""
    with generated_with_stubs(tmp_path_factory.mktemp("openapi_examples"), SERVED, PACKAGES) as done:
        yield done


def test_every_warning_names_its_file_and_line(generated: Generated) -> None:
    """What codegen leaves out of a valid document it says at the document's line."""
    warnings = [line for line in generated.stderr.splitlines() if line.startswith("warning: ")]
    assert warnings
    unlocated = [
        w
        for w in warnings
        if not re.match(r"warning: tests/http/openapi_examples/served/[\w.-]+\.yaml:\d+: ", w)
    ]
    assert unlocated == []


def test_the_generated_code_and_stubs_pass_mypy_strict(generated: Generated, mypy_cache: Path) -> None:
    """Train Travel's `allOf: [$ref: Wrapper-Collection, {properties: {data: list of Station}}]` was a
    subclass whose `data: list[Station]` mypy refused as an override of `list[dict[str, Any]]`;
    four documents' handlers annotated `Any | Reply` without importing Any (a body model's name ran
    into it where the imports were looked for); and the documents' `default` (and `pet`) tags
    each wanted the stub `default.py`, the second one's drift reported against the first's."""
    stubs = sorted(p.name for p in (generated.root / PACKAGES[1]).glob("*.py"))
    assert {"v30_petstore_pet.py", "v31_petstore_pet.py", "v30_callbacks_default.py", "stations.py"} <= set(
        stubs
    )
    proc = subprocess.run(
        [
            sys.executable, "-m", "mypy", "--strict", "--config-file", str(ROOT / "pyproject.toml"),
            f"--cache-dir={mypy_cache / 'pyproject'}", *PACKAGES,
        ],
        cwd=generated.root, capture_output=True, text=True, timeout=600, check=False,
        env={"PYTHONPATH": f"{ROOT}:{generated.root}", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr


@dataclass
class _Calls:
    """The handler methods called, each with the arguments it was given."""

    made: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def _implemented(protocol: type, calls: _Calls) -> object:
    """Every operation of a generated Protocol answered by the handler: its first 2xx, no content."""

    def answer(name: str) -> Any:
        async def method(self: object, **arguments: Any) -> Reply:
            calls.made.append((name, arguments))
            return Reply(None)

        return method

    methods = {name: answer(name) for name in vars(protocol) if not name.startswith("_")}
    return type(protocol.__name__.removesuffix("Api"), (protocol,), methods)()


class _Anyone:
    """Takes any API key, user or request: what is probed here is the contract, not the credential."""

    async def verify_api_key(self, key: str) -> Principal | None:
        return Principal("robot") if key else None

    async def verify_basic(self, username: str, password: str) -> Principal | None:
        return Principal(username) if username else None

    async def verify_request(self, ctx: CallContext) -> Principal | None:
        return Principal("anyone")


def _service(package: ModuleType, name: str, calls: _Calls) -> tuple[Service, list[str], str]:
    """The document served by handlers of every operation, its security (if any) installed; the
    overrides it starts with and a bearer token its issuer signed, with every scope declared."""
    handlers = importlib.import_module(f"{package.__name__}.handlers")
    service = Service(name.replace("_", "-"))
    spec = json.loads(importlib.import_module(f"{package.__name__}.operations").SPEC_PATH.read_text())
    schemes = (spec.get("components") or {}).get("securitySchemes") or {}
    key = ec_key("k")
    scopes = {
        scope
        for scheme in schemes.values()
        for flow in (scheme.get("flows") or {}).values()
        for scope in flow["scopes"]
    }
    claims = {
        "iss": _ISSUER,
        "aud": "api://x",
        "sub": "probe",
        "iat": 0,
        "exp": 2**40,
        "scope": " ".join(scopes),
    }
    token = jwt.encode(claims, key.private, algorithm=key.alg, headers={"kid": key.kid})
    overrides: list[str] = []
    if schemes:
        tokens = {"oauth2", "openIdConnect"}
        verified = {
            scheme: _Anyone()
            for scheme, declared in schemes.items()
            if declared.get("type") not in tokens and declared.get("scheme", "").lower() != "bearer"
        }
        install(service, verifiers=verified)
        issuers = [{"issuer": _ISSUER, "keys": [key.jwk()], "audiences": ["api://x"]}]
        overrides.append(f"security.issuers={json.dumps(issuers)}")
    for protocol in handlers.__all__:
        service.include(_implemented(getattr(handlers, protocol), calls))
    return service, overrides, token


def _names_a_field(response: httpx.Response) -> bool:
    """Whether a 400 names what it refused: each violation's field, or (an error in the document's
    own shape) the location in its text."""
    if response.headers["content-type"] == "application/problem+json":
        violations = response.json().get("violations", [])
        return all(str(v["field"]).startswith(_LOCATIONS) for v in violations) and bool(
            violations or _FIELD.search(response.json()["detail"])
        )
    return _FIELD.search(response.text) is not None


Sent = tuple[str, GenerationMode, requests.PreparedRequest]


def _requests(spec: dict[str, Any], base: str) -> Iterator[Sent]:
    """schemathesis's valid and invalid requests for each operation of ``spec``, as sent."""
    schema = schemathesis.openapi.from_dict(spec)
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for case in _cases(operation.as_strategy(generation_mode=mode)):
                sent = case.as_transport_kwargs(base_url=base)
                kept = {
                    k: sent[k]
                    for k in ("method", "url", "headers", "params", "cookies", "json", "data", "files")
                    if k in sent
                }
                yield operation.label, mode, requests.Request(**kept).prepare()


def _cases(strategy: Any) -> list[schemathesis.Case]:
    """``BUDGET`` cases of ``strategy``, the same on every run; none when no request of its kind
    exists (schema-types' `allOf: [{type: string}, {type: integer}]` takes no valid body, and a lone
    string in the path has no invalid form)."""
    cases: list[schemathesis.Case] = []

    @settings(
        max_examples=BUDGET,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def collect(case: schemathesis.Case) -> None:
        cases.append(case)

    try:
        collect()
    except Unsatisfiable:
        return []
    return cases


@pytest.mark.parametrize("name", NAMES)
async def test_each_is_served_and_answers_what_it_is_sent(generated: Generated, name: str) -> None:
    """Each example starts with its operations implemented; no request generated from its document,
    valid or not, is a 5xx, and an invalid one refused with a 400 names the field it refused."""
    package = importlib.import_module(f"{PACKAGES[0]}.{name}")
    calls = _Calls()
    service, overrides, token = _service(package, name, calls)
    operations = importlib.import_module(f"{package.__name__}.operations")
    spec = json.loads(operations.SPEC_PATH.read_text())
    base = f"http://test{operations.PREFIX}"
    answered: dict[int, int] = {}
    async with TestService(service, overrides=overrides) as t:
        http: httpx.AsyncClient = t.http
        for label, mode, sent in _requests(spec, base):
            assert sent.method is not None
            assert sent.url is not None
            body = sent.body.encode() if isinstance(sent.body, str) else sent.body
            headers = {"authorization": f"Bearer {token}", **sent.headers}
            response = await http.request(sent.method, sent.url, headers=headers, content=body)
            answered[response.status_code] = answered.get(response.status_code, 0) + 1
            assert response.status_code < 500, (label, mode.name, response.status_code, response.text)
            if response.status_code == 400:
                assert _names_a_field(response), (label, mode.name, response.text)
    # Every document with paths has requests its handlers answered (Webhook Example has none).
    assert bool(calls.made) == bool(spec.get("paths")), answered


def _generated(name: str) -> ModuleType:
    """The generated package of one example, its handlers and models imported."""
    for module in ("handlers", "models"):
        importlib.import_module(f"{PACKAGES[0]}.{name}.{module}")
    return importlib.import_module(f"{PACKAGES[0]}.{name}")


# Each document refused, with its one line: the file, the line and the path, and why.
REFUSED = {
    "v20-petstore-minimal.yaml": "2: swagger: Swagger 2.0 is not read: microlib reads OpenAPI 3.0 and 3.1;",
    "v30-response-http-behavior.yaml": "43: paths./cache.get.security[0]: names 'api_key', which "
    "components.securitySchemes does not declare",
    "v30-schema-validation.yaml": "89: invalid OpenAPI document at paths./anything/strings.parameters.3: "
    "not valid under any of the schemas listed in the 'oneOf' keyword",
    "v31-schema-validation-local.yaml": "46: paths./anything/numbers.parameters[3].schema.$schema: "
    "'http://json-schema.org/draft-04/schema#': microlib reads schemas as JSON Schema 2020-12",
    "v31-schema-validation-top-level.yaml": "7: jsonSchemaDialect: "
    "'http://json-schema.org/draft-04/schema#': microlib reads schemas as JSON Schema 2020-12",
}


@pytest.mark.parametrize("document", sorted(REFUSED))
def test_an_invalid_example_is_refused_in_one_line_naming_file_line_and_path(
    document: str, tmp_path: Path
) -> None:
    """response-http-behavior's `security: [api_key: []]` names a scheme it never declares: that was
    `<file>: paths./cache.get: ...`, without a line. schema-validation-local and -top-level write
    their schemas in draft-04 (`exclusiveMaximum: true`), read as 2020-12 they were refused for
    `12 is greater than or equal to the maximum of True`; the dialect is named instead. The 3.0
    schema-validation's parameter was the validator's dump of the whole parameter. A Swagger 2.0
    document was read as 3.x, its first error its security schemes missing from `components`."""
    result = codegen(EXAMPLES / "refused" / document, "--out", tmp_path / "gen")
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(
        f"microlib codegen: tests/http/openapi_examples/refused/{document}:{REFUSED[document]}"
    )


async def test_a_discriminator_mapping_may_name_its_schemas(generated: Generated) -> None:
    """discriminators' `mapping: {Option One: OptionOneNoDisc}` names schemas, as OpenAPI allows
    beside references: codegen refused it (`$ref 'OptionOneNoDisc' does not resolve: no file`)."""
    api = _generated("v30_discriminators")
    calls = _Calls()
    service = Service("discriminators")
    for protocol in (api.handlers.DefaultApi, api.handlers.QuirksApi):
        service.include(_implemented(protocol, calls))
    async with TestService(service) as t:
        one = {"discrim": "Option One", "optionone": 2}
        sent = await t.http.patch("/anything/mapping-of-schema-names", json=one)
        assert sent.status_code == 200, sent.text
    ((method, arguments),) = calls.made
    assert (method, arguments["body"].root) == (
        "patch_mapping_of_schema_names",
        api.models.OptionOneNoDisc(**one),
    )


async def test_a_union_validates_by_its_members_where_the_discriminator_would_narrow_them(
    generated: Generated,
) -> None:
    """A discriminator is a hint; a `oneOf` validates by its members. The model generator narrows
    a member's one class to the union's tags and makes the property required, so a member shared
    with a second discriminator naming it otherwise refused its own tag (the no-mapping union's
    `OptionOneNoDisc`, which the mapped unions call `Option One`), and a member that does not
    require the property (`connector_properties`' gcsImport has none) refused a body without it."""
    api = _generated("v30_discriminators")
    calls = _Calls()
    service = Service("discriminators")
    for protocol in (api.handlers.DefaultApi, api.handlers.QuirksApi):
        service.include(_implemented(protocol, calls))
    accepted = [
        ("/anything/discriminator-with-no-mapping", {"discrim": "OptionOneNoDisc", "optionone": 2}),
        ("/anything/discriminator-with-mapping", {"discrim": "Option Two", "optiontwo": "b"}),
        ("/anything/mapping-with-duplicate-schemas", {"discrim": "x", "discrimValue": "twoA"}),
        ("/anything/improper-discriminator-placement", {"connector_properties": {"gcs_bucket": "b"}}),
    ]
    async with TestService(service) as t:
        for path, body in accepted:
            sent = await t.http.patch(path, json=body)
            assert sent.status_code in (200, 201), (path, sent.text)
        refused = await t.http.patch("/anything/discriminator-with-no-mapping", json={"optionone": 2})
    assert refused.status_code == 400
    # Each member misses `discrim`: said once, not once per member.
    assert [(v["field"], v["rule"]) for v in refused.json()["violations"]] == [("body.discrim", "missing")]
    assert calls.made[0][1]["body"].root == api.models.OptionOneNoDisc(discrim="OptionOneNoDisc", optionone=2)


async def test_a_discriminator_every_member_requires_stays_a_tagged_union(generated: Generated) -> None:
    """Where each member requires the property (through `allOf`) and no other discriminator tags it
    otherwise, the union is pydantic's tagged union: a tag naming no member is one error on `body`."""
    api = _generated("v30_discriminators")
    assert api.models.PatchOneofAllofTopLevelDiscBody.model_fields["root"].discriminator == "pet_type"
    calls = _Calls()
    service = Service("discriminators")
    for protocol in (api.handlers.DefaultApi, api.handlers.QuirksApi):
        service.include(_implemented(protocol, calls))
    async with TestService(service) as t:
        sent = await t.http.patch("/anything/oneof-allof-top-level-disc", json={"pet_type": "DogNoDisc"})
        assert sent.status_code == 200, sent.text
        refused = await t.http.patch("/anything/oneof-allof-top-level-disc", json={"pet_type": "Fish"})
    assert [(v["field"], v["rule"]) for v in refused.json()["violations"]] == [("body", "union_tag_invalid")]
    assert isinstance(calls.made[0][1]["body"].root, api.models.DogNoDisc)


async def test_a_planet_without_its_type_is_a_planet(generated: Generated) -> None:
    """Galaxy's `Planet` does not require `type`; `CelestialBody`'s discriminator over it made the
    generated Planet require it, and `POST /planets` refused a Planet the document allows."""
    package = importlib.import_module(f"{PACKAGES[0]}.scalar_galaxy")
    calls = _Calls()
    service, overrides, token = _service(package, "scalar_galaxy", calls)
    async with TestService(service, overrides=overrides) as t:
        headers = {"authorization": f"Bearer {token}"}
        sent = await t.http.post("/planets", json={"name": "Mars"}, headers=headers)
        refused = await t.http.post("/planets", json={"name": "Mars", "type": "moon"}, headers=headers)
    assert sent.status_code == 201, sent.text
    assert (refused.status_code, refused.json()["detail"]) == (
        400,
        "invalid request to createPlanet: body.type: Input should be 'terrestrial', 'gas_giant', "
        "'ice_giant', 'dwarf' or 'super_earth' (received 'moon')",
    )
    ((method, arguments),) = calls.made
    assert (method, arguments["body"].name) == ("create_planet", "Mars")


async def test_an_error_schema_holding_itself_is_written_once(generated: Generated) -> None:
    """circular's 404 is an `ErrorMessage` whose `inner` is an ErrorMessage: planning how to write
    errors in it recursed until Python's limit, in codegen and at the service's start."""
    api = _generated("v30_circular")

    class Anything(api.handlers.DefaultApi):
        async def get_anything(self) -> None:
            raise NotFound("no such thing")

    service = Service("circular")
    service.include(Anything())
    async with TestService(service) as t:
        missing = await t.http.get("/anything")
    assert (missing.status_code, missing.json()) == (404, {"statusCode": 404, "error": "no such thing"})


def test_a_summary_ending_in_a_quote_is_its_docstring(generated: Generated) -> None:
    """http-status-codes' `summary: Returns a "200 OK"` closed the generated docstring early: the
    handlers module was a SyntaxError, and codegen's drift report a traceback."""
    api = _generated("v30_http_status_codes")
    docs = [m.__doc__ for m in vars(api.handlers.SuccessfulResponsesApi).values() if callable(m)]
    assert 'Returns a "200 OK"' in docs


def test_enum_descriptions_written_as_a_mapping_describe_their_members(generated: Generated) -> None:
    """Galaxy's `x-enum-descriptions: {terrestrial: Rocky planets...}` is a mapping where the model
    generator reads a list: codegen refused the document with the generator's validation error
    (`Input should be a valid list`). Read in `enum`'s order, each member has its description."""
    models = Path(_generated("scalar_galaxy").models.__file__).read_text()
    assert 'TERRESTRIAL = \'terrestrial\'\n    """\n    Rocky planets with solid surfaces' in models


async def test_an_exploded_object_in_cookies_is_a_cookie_per_property(generated: Generated) -> None:
    """parameters-style's `object` cookie (style form, exploded by default) is sent as OpenAPI 3.2's
    `cookie` style writes it and clients send it (fastmcp, Scalar's mock server), `name=x;
    description=y`: microlib read a cookie `object` of `k=v` pairs, and the handler got None."""
    api = _generated("v30_parameters_style")
    calls = _Calls()
    service = Service("parameters-style")
    for protocol in api.handlers.__all__:
        service.include(_implemented(getattr(api.handlers, protocol), calls))
    async with TestService(service) as t:
        cookies = "primitive=p; array=a,b; name=x; description=y"
        sent = await t.http.get("/cookies", headers={"cookie": cookies})
        assert sent.status_code == 200, sent.text
    ((method, arguments),) = calls.made
    assert method == "cookies_standard"
    assert (arguments["primitive"], arguments["array"]) == ("p", ["a", "b"])
    assert arguments["object"].model_dump() == {"name": "x", "description": "y"}


async def test_accept_content_type_and_authorization_parameters_are_ignored(generated: Generated) -> None:
    """schema-circular's PUT /circular declares a required `Authorization` header parameter, and
    ReadMe's own API an `accept` enum that refused httpx's `Accept: */*` with a 400: OpenAPI says
    such a parameter SHALL be ignored (the credentials are security schemes', the media types the
    request's own). The handler does not take it, and a request without it is answered."""
    api = _generated("v30_schema_circular")
    assert list(inspect.signature(api.handlers.DefaultApi.put_circular).parameters) == ["self", "body"]
    calls = _Calls()
    service = Service("schema-circular")
    service.include(_implemented(api.handlers.DefaultApi, calls))
    async with TestService(service) as t:
        sent = await t.http.put("/circular", files={"typename": (None, "circle")})
    assert sent.status_code == 200, sent.text
    assert [method for method, _arguments in calls.made] == ["put_circular"]
