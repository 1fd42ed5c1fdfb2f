"""User stubs (written once) and the contract-drift report."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from microlib.core._manifest import changed_contracts
from tests.cli.conftest import microlib
from tests.cli.test_mistakes import one_line_error
from tests.codegen.conftest import ROOT, codegen, python


def _generate(contracts: Path, tmp_path: Path, *extra: str) -> tuple[str, str, int]:
    result = codegen(contracts, "--out", tmp_path / "gen", "--stubs", tmp_path / "services", *extra)
    return result.stdout, result.stderr, result.returncode


class TestStubs:
    def test_stubs_are_written_once_and_never_overwritten(self, tmp_path: Path, contracts: Path) -> None:
        """A stub per service appears on the first run; user edits survive the next run."""
        out, _, code = _generate(contracts, tmp_path)
        assert code == 0
        stub = tmp_path / "services" / "greeter_service.py"
        # The stub serves nothing until the service includes it: the line says so, naming the class.
        assert (
            f"created stub {stub}: implement GreeterServiceServicer and pass an instance to service.include()"
            in out.splitlines()
        )
        text = stub.read_text()
        assert "class GreeterServiceServicer(GreeterService):" in text
        assert 'raise Unimplemented("demo.v1.GreeterService/SayHello is not implemented yet")' in text
        edited = text.replace('raise Unimplemented("demo.v1.GreeterService/SayHello is not implemented yet")',
                              "return SayHelloResponse(message=request.name)")  # fmt: skip
        stub.write_text(edited)
        out, err, code = _generate(contracts, tmp_path)
        assert code == 0
        assert "created stub" not in out
        assert "drift" not in err
        assert stub.read_text() == edited


class TestDrift:
    def test_added_rpc_is_reported_with_the_expected_signature(self, tmp_path: Path, contracts: Path) -> None:
        """After an RPC is added the report names file, class, method and the signature to write."""
        assert _generate(contracts, tmp_path)[2] == 0
        proto = contracts / "demo" / "v1" / "greeter.proto"
        proto.write_text(
            proto.read_text().replace(
                "rpc SayHello(SayHelloRequest) returns (SayHelloResponse);",
                "rpc SayHello(SayHelloRequest) returns (SayHelloResponse);\n"
                "  rpc StreamHellos(SayHelloRequest) returns (stream SayHelloResponse);",
            )
        )
        _, err, code = _generate(contracts, tmp_path)
        assert code == 0
        stub = tmp_path / "services" / "greeter_service.py"
        assert (
            f"drift: {stub}:16: GreeterServiceServicer.stream_hellos: missing, RPC StreamHellos has no "
            "method here (the service refuses to start until it is written); expected: "
            "def stream_hellos(self, request: SayHelloRequest, ctx: CallContext) -> "
            "AsyncIterator[SayHelloResponse]:"
        ) in err

    def test_removed_and_changed_rpcs_are_reported(self, tmp_path: Path, contracts: Path) -> None:
        """A stub method whose RPC is gone, or whose types changed, is named with what is expected now."""
        assert _generate(contracts, tmp_path)[2] == 0
        proto = contracts / "demo" / "v1" / "greeter.proto"
        text = proto.read_text().replace(
            "rpc SayHello(SayHelloRequest) returns (SayHelloResponse);",
            "rpc Greet(SayHelloRequest) returns (SayHelloResponse);",
        )
        proto.write_text(text)
        stub = tmp_path / "services" / "bookshop_service.py"
        before = "async def get_book(self, request: GetBookRequest"
        stub.write_text(stub.read_text().replace(before, before.replace("GetBook", "ListBooks")))
        _, err, _ = _generate(contracts, tmp_path)
        greeter = tmp_path / "services" / "greeter_service.py"
        assert f"{greeter}:" in err
        assert "GreeterServiceServicer.say_hello: not an RPC of demo.v1.GreeterService" in err
        assert "GreeterServiceServicer.greet: missing, RPC Greet has no method here" in err
        assert (
            "BookshopServiceServicer.get_book: request is annotated ListBooksRequest; expected: "
            "async def get_book(self, request: GetBookRequest, ctx: CallContext) -> Book:"
        ) in err

    def test_check_reports_drift_without_writing(self, tmp_path: Path, contracts: Path) -> None:
        """--check also reports stubs that are missing, and creates none."""
        result = codegen(contracts, "--out", tmp_path / "gen", "--stubs", tmp_path / "services", "--check")
        assert result.returncode == 1
        assert "missing stub for demo.v1.GreeterService" in result.stderr
        assert not (tmp_path / "services").exists()


def test_a_renamed_proto_package_is_reported_where_the_stub_imports_it(
    tmp_path: Path, contracts: Path
) -> None:
    """The stub still subclasses the service by name, but its import of the old package fails at
    start: codegen names the line and where the names are now, and --check fails on it."""
    assert _generate(contracts, tmp_path)[2] == 0
    old = contracts / "demo" / "v1" / "greeter.proto"
    (contracts / "demo" / "v2").mkdir()
    (contracts / "demo" / "v2" / "greeter.proto").write_text(
        old.read_text().replace("package demo.v1;", "package demo.v2;")
    )
    old.unlink()
    stub = tmp_path / "services" / "greeter_service.py"
    line = next(
        n for n, text in enumerate(stub.read_text().splitlines(), 1) if text.startswith("from gen.demo.v1 ")
    )
    expected = (
        f"drift: {stub}:{line}: imports gen.demo.v1, which microlib codegen no longer writes "
        "(its contract was renamed or moved: GreeterService, SayHelloRequest, SayHelloResponse "
        "in gen.demo.v2 now)"
    )
    _, err, code = _generate(contracts, tmp_path)
    assert code == 0
    assert expected in err.splitlines()
    _, err, code = _generate(contracts, tmp_path, "--check")
    assert code == 1
    assert expected in err.splitlines()
    # A contract removed outright: nothing exports the names any more.
    shutil.rmtree(contracts / "demo")
    _, err, _ = _generate(contracts, tmp_path)
    assert (
        f"drift: {stub}:{line}: imports gen.demo.v1, which microlib codegen no longer writes "
        "(its contract was removed or renamed)"
    ) in err.splitlines()


def test_a_method_deleted_from_the_stub_is_not_called_added(tmp_path: Path, contracts: Path) -> None:
    """The contract did not change, the user deleted the method: the line says what is true either way."""
    assert _generate(contracts, tmp_path)[2] == 0
    stub = tmp_path / "services" / "greeter_service.py"
    text = stub.read_text()
    start = text.index("    async def say_hello")
    stub.write_text(text[:start].rstrip() + "\n")
    _, err, _ = _generate(contracts, tmp_path)
    assert "was added" not in err
    missing = f"drift: {stub}:16: GreeterServiceServicer.say_hello: missing, RPC SayHello has no method here"
    assert missing in err


PETS = """\
openapi: 3.1.0
info: {title: Pets, version: "1.0"}
paths:
  /pets:
    get:
      operationId: listPets
      tags: [pets]
      responses:
        "200": {description: ok}
  /pets/{petId}:
    get:
      operationId: getPet
      tags: [pets]
      parameters:
        - {name: petId, in: path, required: true, schema: {type: string}}
      responses:
        "200": {description: ok}
"""


class TestOpenAPIHandlers:
    """OpenAPI handler stubs get the drift report proto and AsyncAPI stubs get."""

    def _project(self, tmp_path: Path) -> tuple[Path, Path]:
        spec = tmp_path / "pets.yaml"
        spec.write_text(PETS)
        assert _generate(spec, tmp_path)[2] == 0
        return spec, tmp_path / "services" / "pets.py"

    def test_a_deleted_handler_is_named_with_its_operation_and_signature(self, tmp_path: Path) -> None:
        """The stub subclasses the Protocol, so only the drift report (and the start) can see the gap."""
        spec, stub = self._project(tmp_path)
        text = stub.read_text()
        stub.write_text(text[: text.index("    async def get_pet")].rstrip() + "\n")
        out, err, code = _generate(spec, tmp_path, "--check")
        assert err.splitlines() == [
            f"drift: {stub}:14: Pets.get_pet: missing, operation getPet has no method here (the service "
            "refuses to start until it is written); expected: async def get_pet(self, *, pet_id: str) -> "
            "Reply | None:",
            "1 stub problem(s) above: the code disagrees with the contracts",
        ]
        # The generated package is up to date, the stub is not: CI's check fails and does not
        # say "up to date" first.
        assert code == 1
        assert "up to date" not in out

    def test_a_removed_operation_and_a_sync_handler_are_named(self, tmp_path: Path) -> None:
        """A handler whose operation left the document, and one that is not async, each get a line."""
        spec, stub = self._project(tmp_path)
        spec.write_text(PETS.replace("      operationId: listPets", "      operationId: listAllPets"))
        stub.write_text(
            stub.read_text().replace("async def get_pet", "def get_pet")
            + "\n    async def _helper(self) -> None: ...\n"
        )
        _, err, _ = _generate(spec, tmp_path)
        lines = [line for line in err.splitlines() if line.startswith("drift:")]
        assert f"drift: {stub}:14: Pets.list_all_pets: missing, operation listAllPets" in lines[0]
        assert lines[1].startswith(f"drift: {stub}:23: Pets.get_pet: must be `async def` returning once;")
        assert lines[2] == (
            f"drift: {stub}:17: Pets.list_pets: not an operation of Pets any more "
            "(removed or renamed in the document)"
        )
        assert len(lines) == 3

    def test_a_parameter_the_handler_cannot_take_is_named(self, tmp_path: Path) -> None:
        """A parameter added to the document after the stub was written, or renamed in the stub,
        fails `--check` as it would fail the start; a handler taking `**kwargs` or an extra
        parameter with a default still binds."""
        spec, stub = self._project(tmp_path)
        spec.write_text(
            PETS.replace(
                "        - {name: petId, in: path, required: true, schema: {type: string}}",
                "        - {name: petId, in: path, required: true, schema: {type: string}}\n"
                "        - {name: fields, in: query, required: true, schema: {type: string}}",
            )
        )
        codegen(spec, "--out", tmp_path / "gen")  # the package regenerated, the stub left as it was
        _, err, code = _generate(spec, tmp_path, "--check")
        assert err.splitlines() == [
            f"drift: {stub}:23: Pets.get_pet: cannot be called with (pet_id=, fields=): its parameters "
            "are (self, *, pet_id: str); expected: async def get_pet(self, *, pet_id: str, fields: str) "
            "-> Reply | None:",
            "1 stub problem(s) above: the code disagrees with the contracts",
        ]
        assert code == 1
        text = stub.read_text()
        written = "        *,\n        pet_id: str,\n"
        assert written in text
        stub.write_text(text.replace(written, "*, pet_id: str, fields: str, limit: int = 3"))
        assert _generate(spec, tmp_path, "--check")[2] == 0
        stub.write_text(text.replace(written, "**params: str"))
        assert _generate(spec, tmp_path, "--check")[2] == 0
        stub.write_text(text.replace(written, "*, petId: str, fields: str"))
        assert "Pets.get_pet: cannot be called with (pet_id=, fields=)" in _generate(spec, tmp_path)[1]

    def test_a_parameter_whose_type_changed_is_named(self, tmp_path: Path) -> None:
        """The document changed a parameter's type after the stub was written: the handler would
        be called with what its annotation does not say. The same union written another way
        (`Optional[int]`, `int | None`) is no change, nor is a parameter left unannotated."""
        spec, stub = self._project(tmp_path)
        spec.write_text(
            PETS.replace(
                "        - {name: petId, in: path, required: true, schema: {type: string}}",
                "        - {name: petId, in: path, required: true, schema: {type: integer}}\n"
                "        - {name: limit, in: query, schema: {type: integer}}",
            )
        )
        codegen(spec, "--out", tmp_path / "gen")  # the package regenerated, the stub left as it was
        written = "        *,\n        pet_id: str,\n"
        text = stub.read_text()
        stub.write_text(text.replace(written, "*, pet_id: str, limit: 'typing.Optional[int]' = None"))
        _, err, code = _generate(spec, tmp_path, "--check")
        assert err.splitlines() == [
            f"drift: {stub}:23: Pets.get_pet: pet_id is annotated str; expected: async def get_pet(self, *, "
            "pet_id: int, limit: int | None = None) -> Reply | None:",
            "1 stub problem(s) above: the code disagrees with the contracts",
        ]
        assert code == 1
        stub.write_text(text.replace(written, "*, pet_id, limit: Union[None, int] = None"))
        assert _generate(spec, tmp_path, "--check")[2] == 0

    def test_a_stub_that_does_not_parse_or_lost_its_class(self, tmp_path: Path) -> None:
        """A broken module or a class that no longer subclasses the Protocol is one line each."""
        spec, stub = self._project(tmp_path)
        stub.write_text("class Pets:\n    pass\n")
        assert (
            f"drift: {stub}: no class subclasses PetsApi (expected Pets(PetsApi))"
            in _generate(spec, tmp_path)[1]
        )
        stub.write_text("class Pets(PetsApi:\n")
        assert f"drift: {stub}:1: cannot check the stub:" in _generate(spec, tmp_path)[1]


class TestStaleGeneration:
    """The manifest records each contract's digest; a service including generated code older
    than its contracts refuses to start, naming them and what to run."""

    @pytest.fixture
    def project(self, tmp_path: Path, contracts: Path) -> Path:
        """contracts/testdata generated into ``app/gen``, and a service including its greeter."""
        (tmp_path / "app").mkdir()
        (tmp_path / "app" / "__init__.py").write_text("")
        result = codegen(
            "contracts", "--out", "app/gen", "--package", "app.gen", "--stubs", "app/services", cwd=tmp_path
        )
        assert result.returncode == 0, result.stderr
        (tmp_path / "app" / "main.py").write_text(
            "from app.services.greeter_service import GreeterServiceServicer\n"
            "from microlib import Service\n"
            "\n"
            "service = Service('demo')\n"
            "service.include(GreeterServiceServicer())\n"
        )
        return tmp_path

    def test_a_contract_edited_since_codegen_refuses_the_start(self, project: Path) -> None:
        assert python("import app.main", cwd=project).returncode == 0
        proto = project / "contracts" / "demo" / "v1" / "greeter.proto"
        proto.write_text(proto.read_text() + "// a comment is a change too: codegen --check says so\n")
        line = one_line_error(microlib("run", "app.main:service", cwd=project))
        assert line == (
            "microlib run: app/main.py:5: contracts/demo/v1/greeter.proto changed since `microlib codegen` "
            "wrote app/gen: run `microlib codegen` to generate it again"
        )
        stale = codegen("contracts", "--out", "app/gen", "--package", "app.gen", "--check", cwd=project)
        assert (stale.returncode, stale.stderr.splitlines()[0]) == (1, "stale: app/gen/_manifest.json")

    def test_files_a_contract_reaches_outside_its_folder_are_compared_too(self, tmp_path: Path) -> None:
        """A $ref of an OpenAPI or an AsyncAPI document, and a proto import from an include root,
        into a file outside the contract folders: editing that file makes the package stale
        as editing the contract would. Before, only the contract folders' files were digested,
        and the start went on with the old code."""
        shared = tmp_path / "shared"
        (shared / "common" / "v1").mkdir(parents=True)
        (shared / "common" / "v1" / "money.proto").write_text(
            'syntax = "proto3";\npackage common.v1;\nmessage Money {\n  int64 cents = 1;\n}\n'
        )
        (shared / "pet.yaml").write_text(
            "Pet:\n  type: object\n  required: [name]\n  properties:\n    name: {type: string}\n"
        )
        contracts = tmp_path / "contracts"
        (contracts / "shop" / "v1").mkdir(parents=True)
        (contracts / "shop" / "v1" / "shop.proto").write_text(
            'syntax = "proto3";\npackage shop.v1;\nimport "common/v1/money.proto";\n'
            "message Price {\n  common.v1.Money amount = 1;\n}\n"
        )
        (contracts / "pets.yaml").write_text(
            "openapi: 3.1.0\ninfo: {title: Pets, version: '1'}\npaths:\n  /pets:\n    get:\n"
            "      operationId: listPets\n      responses:\n        '200':\n"
            "          description: ok\n          content:\n            application/json:\n"
            "              schema: {$ref: '../shared/pet.yaml#/Pet'}\n"
        )
        (shared / "order.yaml").write_text("Order:\n  type: object\n  properties:\n    id: {type: string}\n")
        (contracts / "events.yaml").write_text(
            "asyncapi: 3.0.0\ninfo: {title: Events, version: '1'}\nchannels:\n  orders:\n"
            "    address: orders\n    messages:\n      placed:\n"
            "        payload: {$ref: '../shared/order.yaml#/Order'}\n"
            "operations:\n  onPlaced:\n    action: receive\n    channel: {$ref: '#/channels/orders'}\n"
        )
        (tmp_path / "node_modules").symlink_to(ROOT / "node_modules")  # the AsyncAPI JSON Schemas
        result = codegen("contracts", "-I", "shared", "--out", "gen", "--package", "gen", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        manifest = tmp_path / "gen" / "_manifest.json"
        recorded = json.loads(manifest.read_text())["contracts"]
        names = ("common/v1/money.proto", "pet.yaml", "order.yaml")
        assert {f"../shared/{name}" for name in names} <= set(recorded)
        for name in names:
            assert changed_contracts(manifest) == []
            original = (shared / name).read_bytes()
            comment = b"# edited\n" if name.endswith("yaml") else b"// edited\n"
            (shared / name).write_bytes(original + comment)
            assert changed_contracts(manifest) == [(shared / name).resolve()]
            (shared / name).write_bytes(original)

    def test_line_endings_and_contracts_not_shipped_are_not_changes(self, project: Path) -> None:
        """A checkout that writes CRLF has not changed a contract; an image that ships the
        generated package without its contracts has nothing to compare."""
        proto = project / "contracts" / "demo" / "v1" / "greeter.proto"
        proto.write_bytes(proto.read_bytes().replace(b"\n", b"\r\n"))
        assert python("import app.main", cwd=project).returncode == 0
        shutil.rmtree(project / "contracts")
        assert python("import app.main", cwd=project).returncode == 0
