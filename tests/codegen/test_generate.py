"""`microlib codegen` end to end: layout, determinism, --check, config, errors."""

from __future__ import annotations

import hashlib
import importlib
import json
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.codegen.conftest import ROOT, TESTDATA, codegen, tree
from tests.http.generated import generated_package


class TestGeneration:
    def test_generates_the_documented_layout(self, generated: Path) -> None:
        """Every package gets messages, converters, interfaces, clients and descriptors."""
        files = tree(generated / "gen_testdata")
        for path in [
            "__init__.py",
            "_manifest.json",
            "_descriptors.py",
            "_codec.py",
            "_messages/shop/v1/__init__.py",
            "_messages/google/protobuf/__init__.py",
            "shop/v1/__init__.py",
            "shop/v1/_bookshop_service.py",
            "shop/inventory/v1/_inventory_service.py",
            "demo/v1/_greeter_service.py",
            "google/protobuf/__init__.py",
        ]:
            assert path in files, path
        service = files["shop/v1/_bookshop_service.py"].decode()
        assert service.startswith(
            "# Generated from shop/v1/bookshop.proto by microlib-codegen 0.1.0. DO NOT EDIT.\n"
        )
        assert "class BookshopService(Protocol):" in service
        assert '"""The Bookshop sells books.\n\n    It shows all four RPC shapes.\n    """' in service
        assert (
            "def list_books(self, request: ListBooksRequest, ctx: CallContext) -> AsyncIterator[Book]:"
            in service
        )
        assert (
            "async def upload_content(\n        self, requests: AsyncIterator[UploadContentRequest]"
            in service
        )
        assert 'HttpRule("POST", "/v1/{name=shelves/*/books/*}:move", body="*")' in service
        inventory = files["shop/inventory/v1/_inventory_service.py"].decode()
        assert 'HttpRule("LOCK", "/v1/stock:reserve", body="*")' in inventory
        assert all(text.startswith(b"# Generated from ") for p, text in files.items() if p.endswith(".py"))

    def test_manifest_lists_every_file_with_its_hash(self, generated: Path) -> None:
        """The manifest names each other generated file with its SHA-256."""
        files = tree(generated / "gen_testdata")
        manifest = json.loads(files.pop("_manifest.json"))
        assert manifest["files"] == {p: hashlib.sha256(data).hexdigest() for p, data in files.items()}

    def test_second_run_is_byte_identical(self, tmp_path: Path, generated: Path) -> None:
        """Regenerating changes no byte and says so."""
        out = tmp_path / "gen"
        shutil.copytree(generated / "gen_testdata", out)
        first = tree(out)
        again = codegen(TESTDATA, "--out", out)
        assert again.returncode == 0
        assert f"0 of {len(first)} files changed" in again.stdout
        assert tree(out) == first

    def test_files_of_a_removed_contract_are_counted_apart(self, tmp_path: Path, contracts: Path) -> None:
        """A contract removed takes its generated files with it: counted as removed, not as
        changed files of the (smaller) output."""
        out = tmp_path / "gen"
        assert codegen(contracts, "--out", out).returncode == 0
        before_bytes = tree(out)
        before = set(before_bytes)
        shutil.rmtree(contracts / "demo")
        again = codegen(contracts, "--out", out)
        assert again.returncode == 0, again.stderr
        after = set(tree(out))
        gone = len(before - after)
        assert gone > 0
        changed = sum(1 for path in after if tree(out)[path] != before_bytes.get(path))
        assert f"wrote {out}: {changed} of {len(after)} files changed, {gone} removed" in again.stdout
        # The package is named, not only counted; the one the other contract still fills is not.
        assert f"removed {out / 'demo'}: no contract generates it now" in again.stderr
        assert f"removed {out / '_messages'}" not in again.stderr

    def test_an_openapi_document_that_lost_its_paths_is_named_as_it_goes(self, tmp_path: Path) -> None:
        """An edit that loses the `paths:` line makes the document look like a fragment another
        one `$ref`s: its package goes, and the run says which and why."""
        contracts = tmp_path / "contracts"
        contracts.mkdir()
        text = (
            "openapi: 3.1.0\ninfo: {title: Orders, version: '1'}\npaths:\n  /orders:\n    get:\n"
            "      operationId: listOrders\n      responses: {'200': {description: ok}}\n"
        )
        document = contracts / "orders.yaml"
        document.write_text(text)
        (contracts / "stock.yaml").write_text(text.replace("Orders", "Stock").replace("orders", "stock"))
        out = tmp_path / "gen"
        assert codegen(contracts, "--out", out).returncode == 0
        packages = {path.name for path in out.iterdir() if path.is_dir()}
        document.write_text(document.read_text().replace("paths:", "pahts:"))
        again = codegen(contracts, "--out", out)
        gone = packages - {path.name for path in out.iterdir() if path.is_dir()}
        assert gone, again.stdout
        for package in gone:
            assert f"removed {out / package}: no contract generates it now" in again.stderr
        assert "without `paths` or `webhooks`, read as a fragment" in again.stderr

    def test_output_is_independent_of_absolute_path_and_file_order(self, tmp_path: Path) -> None:
        """A project elsewhere, with the files named one by one in reverse order, gives the same
        bytes (the manifest names the contracts relative to the package: a project moves whole)."""
        here, elsewhere = tmp_path / "a", tmp_path / "elsewhere" / "deeper" / "a"
        for project in (here, elsewhere):
            shutil.copytree(TESTDATA, project / "contracts")
        assert codegen("contracts", "--out", "gen", cwd=here).returncode == 0
        files = sorted((elsewhere / "contracts").rglob("*.proto"), reverse=True)
        result = codegen(*files, "-I", elsewhere / "contracts", "--out", elsewhere / "gen", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert tree(here / "gen") == tree(elsewhere / "gen")

    def test_package_root_is_inferred_for_a_single_file(self, tmp_path: Path, contracts: Path) -> None:
        """A file or sub-folder given alone is named from its package (shop/v1/x.proto), imports resolving."""
        result = codegen(contracts / "shop" / "v1" / "bookshop.proto", "--out", tmp_path / "gen")
        assert result.returncode == 0, result.stderr
        assert (tmp_path / "gen" / "shop" / "v1" / "_bookshop_service.py").is_file()
        sub = codegen(contracts / "demo", "--out", tmp_path / "sub")
        assert sub.returncode == 0, sub.stderr
        service = (tmp_path / "sub" / "demo" / "v1" / "_greeter_service.py").read_text()
        assert service.startswith("# Generated from demo/v1/greeter.proto ")


class TestCheck:
    def test_check_passes_then_names_the_stale_file_after_an_edit(
        self, tmp_path: Path, contracts: Path
    ) -> None:
        """--check is quiet when up to date and names each stale file after a contract edit."""
        out = tmp_path / "gen"
        assert codegen(contracts, "--out", out).returncode == 0
        ok = codegen(contracts, "--out", out, "--check")
        assert ok.returncode == 0, ok.stderr
        proto = contracts / "demo" / "v1" / "greeter.proto"
        proto.write_text(
            proto.read_text().replace("string message = 1;", "string message = 1;\n  int32 n = 2;")
        )
        before = tree(out)
        stale = codegen(contracts, "--out", out, "--check")
        assert stale.returncode == 1
        assert f"stale: {out / 'demo/v1/__init__.py'}" not in stale.stderr
        assert f"stale: {out / '_messages/demo/v1/__init__.py'}" in stale.stderr
        assert f"stale: {out / '_codec.py'}" in stale.stderr
        assert f"stale: {out / '_descriptors.py'}" in stale.stderr
        assert tree(out) == before

    def test_check_names_missing_and_extra_files(self, tmp_path: Path, generated: Path) -> None:
        """A deleted file is missing, a foreign file is extra; nothing is written."""
        out = tmp_path / "gen"
        shutil.copytree(generated / "gen_testdata", out)
        (out / "shop" / "v1" / "_bookshop_service.py").unlink()
        (out / "shop" / "v1" / "notes.py").write_text("x = 1\n")
        result = codegen(TESTDATA, "--out", out, "--check")
        assert result.returncode == 1
        assert f"missing: {out / 'shop/v1/_bookshop_service.py'}" in result.stderr
        assert f"extra: {out / 'shop/v1/notes.py'}" in result.stderr
        assert not (out / "shop" / "v1" / "_bookshop_service.py").exists()

    def test_regeneration_removes_files_no_longer_produced(self, tmp_path: Path, contracts: Path) -> None:
        """The output package is replaced whole: a removed contract's files go away."""
        out = tmp_path / "gen"
        assert codegen(contracts, "--out", out).returncode == 0
        shutil.rmtree(contracts / "demo")
        assert codegen(contracts, "--out", out).returncode == 0
        assert not (out / "demo").exists()

    def test_refuses_to_replace_a_folder_it_did_not_write(self, tmp_path: Path) -> None:
        """--out pointing at user code fails instead of wiping it."""
        (tmp_path / "mine").mkdir()
        (tmp_path / "mine" / "app.py").write_text("print('mine')\n")
        result = codegen(TESTDATA, "--out", tmp_path / "mine")
        assert result.returncode == 2
        assert "was not written by microlib codegen" in result.stderr
        assert (tmp_path / "mine" / "app.py").read_text() == "print('mine')\n"


class TestProjectConfig:
    def test_no_arguments_reads_pyproject(self, tmp_path: Path, contracts: Path) -> None:
        """`microlib codegen` alone uses [tool.microlib.codegen] and writes stubs there."""
        (tmp_path / "pyproject.toml").write_text(
            '[tool.microlib.codegen]\ncontracts = ["contracts"]\nout = "svc/gen"\nstubs = "svc/services"\n'
        )
        result = codegen(cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert (tmp_path / "svc" / "gen" / "shop" / "v1" / "_bookshop_service.py").is_file()
        stub = (tmp_path / "svc" / "services" / "bookshop_service.py").read_text()
        assert "from svc.gen.shop.v1 import" in stub
        assert codegen("--check", cwd=tmp_path).returncode == 0

    def test_bad_config_names_the_key(self, tmp_path: Path) -> None:
        """A missing `out` is reported with the file and section."""
        (tmp_path / "pyproject.toml").write_text('[tool.microlib.codegen]\ncontracts = ["contracts"]\n')
        result = codegen(cwd=tmp_path)
        assert result.returncode == 2
        assert "[tool.microlib.codegen] out: required" in result.stderr


class TestErrors:
    def test_syntax_error_is_file_line_column(self, tmp_path: Path, contracts: Path) -> None:
        """protoc's message comes through as file:line:column, without a traceback."""
        proto = contracts / "demo" / "v1" / "greeter.proto"
        proto.write_text(proto.read_text().replace("string name = 1;", "string name = 1"))
        result = codegen(contracts, "--out", tmp_path / "gen", cwd=tmp_path)
        assert result.returncode == 2
        assert 'contracts/demo/v1/greeter.proto:13:3: Expected ";".' in result.stderr
        assert "Traceback" not in result.stderr

    def test_missing_import_is_reported(self, tmp_path: Path, contracts: Path) -> None:
        """An unresolvable import names the import and where it is."""
        proto = contracts / "demo" / "v1" / "greeter.proto"
        proto.write_text(
            proto.read_text().replace("package demo.v1;", 'package demo.v1;\n\nimport "nope/x.proto";')
        )
        result = codegen(contracts, "--out", tmp_path / "gen", cwd=tmp_path)
        assert result.returncode == 2
        assert "nope/x.proto: File not found." in result.stderr
        assert 'contracts/demo/v1/greeter.proto:5:1: Import "nope/x.proto" was not found' in result.stderr

    def test_the_googleapis_common_protos_resolve(self, tmp_path: Path) -> None:
        """An AIP-style API imports `google/api/client.proto`, `resource.proto` and `google/type`
        messages: they resolve without an include of the user's, and a message type is generated."""
        proto = tmp_path / "contracts" / "lib" / "v1" / "lib.proto"
        proto.parent.mkdir(parents=True)
        proto.write_text(
            'syntax = "proto3";\n'
            "package lib.v1;\n"
            'import "google/api/client.proto";\n'
            'import "google/api/resource.proto";\n'
            'import "google/type/money.proto";\n'
            "service Shop {\n"
            '  option (google.api.default_host) = "shop.example.com";\n'
            "  rpc Price(Item) returns (google.type.Money);\n"
            "}\n"
            "message Item {\n"
            '  option (google.api.resource) = {type: "shop.example.com/Item" pattern: "items/{item}"};\n'
            "  string name = 1;\n"
            "}\n"
        )
        result = codegen(tmp_path / "contracts", "--out", tmp_path / "gen", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        money = tmp_path / "gen" / "_messages" / "google" / "type" / "__init__.py"
        assert "class Money(" in money.read_text()

    def test_a_group_is_refused_at_its_line(self, tmp_path: Path) -> None:
        """betterproto2 has no type for a proto2 group (its plugin's traceback was the whole
        message), and writes a field an edition encodes DELIMITED, the same wire format, as a
        length-prefixed one: each is one line naming where it is. A map's entries stay
        length-prefixed under a file-wide DELIMITED and are not refused."""
        contracts = tmp_path / "contracts" / "legacy" / "v1"
        contracts.mkdir(parents=True)
        (contracts / "legacy.proto").write_text(
            'syntax = "proto2";\n'
            "package legacy.v1;\n"
            "message Search {\n"
            "  optional string query = 1;\n"
            "  repeated group Result = 2 {\n"
            "    optional string url = 3;\n"
            "  }\n"
            "}\n"
            "service Searcher { rpc Find(Search) returns (Search); }\n"
        )
        (contracts / "edition.proto").write_text(
            'edition = "2023";\n'
            "package legacy.v1;\n"
            "option features.message_encoding = DELIMITED;\n"
            "message Page {\n"
            "  message Link { string url = 1; }\n"
            "  map<string, Link> by_name = 1;\n"
            "  Link first = 2 [features.message_encoding = LENGTH_PREFIXED];\n"
            "  Link next = 3;\n"
            "}\n"
        )
        result = codegen(tmp_path / "contracts", "--out", tmp_path / "gen", cwd=tmp_path)
        assert result.returncode == 2
        assert result.stderr.splitlines() == [
            "microlib codegen: contracts/legacy/v1/edition.proto:8:3: legacy.v1.Page.next: a group "
            "(proto2 group, or message_encoding = DELIMITED) is not supported: make it a "
            "length-prefixed message field",
            "contracts/legacy/v1/legacy.proto:5:3: legacy.v1.Search.result: a group (proto2 group, "
            "or message_encoding = DELIMITED) is not supported: make it a length-prefixed message field",
        ]

    def test_openapi_next_to_protos_generates_into_its_own_package(self, tmp_path: Path) -> None:
        """An OpenAPI document is recognised by content and generated into a
        sub-package named after its file, under the same manifest."""
        doc = tmp_path / "contracts" / "pet-store.yaml"
        doc.parent.mkdir()
        doc.write_text("openapi: 3.1.0\ninfo: {title: x, version: '1'}\npaths: {}\n")
        result = codegen(doc.parent, "--out", tmp_path / "gen", "--stubs", tmp_path / "stubs")
        assert result.returncode == 0, result.stderr
        assert (tmp_path / "gen" / "pet_store" / "operations.py").is_file()
        assert "pet_store/operations.py" in (tmp_path / "gen" / "_manifest.json").read_text()
        assert codegen(doc.parent, "--out", tmp_path / "gen", "--check").returncode == 0

    def test_asyncapi_generates_into_its_own_package(self, tmp_path: Path) -> None:
        """An AsyncAPI document is recognised by content and generated into a
        sub-package named after its file, under the same manifest."""
        doc = tmp_path / "contracts" / "order-events.yaml"
        doc.parent.mkdir()
        doc.write_text("asyncapi: 3.0.0\ninfo: {title: x, version: '1'}\n")
        result = codegen(doc.parent, "--out", tmp_path / "gen", "--stubs", tmp_path / "stubs")
        assert result.returncode == 0, result.stderr
        assert (tmp_path / "gen" / "order_events" / "application.py").is_file()
        assert "order_events/asyncapi.json" in (tmp_path / "gen" / "_manifest.json").read_text()
        # It receives nothing: no consumer stub.
        assert not (tmp_path / "stubs").exists()
        assert codegen(doc.parent, "--out", tmp_path / "gen", "--check").returncode == 0

    def test_a_format_the_models_do_not_know_is_a_warning_naming_the_schema(self, tmp_path: Path) -> None:
        """Real contracts use formats of their own (`uriref`): legal, checked as the plain type, and
        reported as a contract warning at each schema (its file, line and path in the contract),
        not as a Python warning from the model generator's source."""
        contracts = tmp_path / "contracts"
        contracts.mkdir()
        (contracts / "links.yaml").write_text(
            "openapi: 3.0.3\n"
            "info: {title: links, version: '1'}\n"
            "paths: {}\n"
            "components:\n"
            "  schemas:\n"
            "    Link:\n"
            "      type: object\n"
            "      properties:\n"
            "        href: {type: string, format: uriref}\n"
            "        docs: {type: array, items: {type: string, format: uriref}}\n"
        )
        (contracts / "events.yaml").write_text(
            "asyncapi: 3.0.0\n"
            "info: {title: events, version: '1'}\n"
            "channels:\n"
            "  linked:\n"
            "    address: links.added\n"
            "    messages:\n"
            "      linkAdded:\n"
            "        payload: {type: object, properties: {href: {type: string, format: uriref}}}\n"
            "operations:\n"
            "  onLinkAdded:\n"
            "    action: receive\n"
            "    channel: {$ref: '#/channels/linked'}\n"
        )
        (contracts / "jobs.yaml").write_text(
            'microlib-jobs: "1.0"\n'
            "name: links.jobs\n"
            "version: 0.1.0\n"
            "jobs:\n"
            "  check_link:\n"
            "    payload: {type: object, properties: {href: {type: string, format: uriref}}}\n"
        )
        result = codegen(contracts, "--out", tmp_path / "gen")
        assert result.returncode == 0, result.stderr
        unknown = "format 'uriref' is not one the models know: checked as any string"
        links = contracts / "links.yaml"
        warned = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
        assert sorted(warned) == sorted(
            [
                f"warning: {links}:9: components.schemas.Link.properties.href: {unknown}",
                f"warning: {links}:10: components.schemas.Link.properties.docs.items: {unknown}",
                f"warning: {contracts / 'events.yaml'}:8: "
                f"channels.linked.messages.linkAdded.payload.properties.href: {unknown}",
                # It was `jobs.yaml: CheckLinkPayload.properties.href`, a path in microlib's models.
                f"warning: {contracts / 'jobs.yaml'}:6: jobs.check_link.payload.properties.href: {unknown}",
            ]
        )
        assert "UserWarning" not in result.stderr
        assert len(result.stderr.splitlines()) == len(warned)

    def test_missing_generator_names_the_extra(self) -> None:
        """Without microlib-codegen installed the command says which extra to install."""
        import subprocess
        import sys

        code = (
            "import sys; sys.modules['microlib_codegen'] = None\n"
            "from microlib.cli.main import main; sys.exit(main(['codegen', 'x.proto', '--out', 'g']))"
        )
        result = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
        )
        assert result.returncode == 2
        assert "pip install 'microlib[codegen]'" in result.stderr


class TestValidationRules:
    def test_buf_validate_imports_resolve_and_wire_a_validator(self, tmp_path: Path) -> None:
        """buf/validate/validate.proto resolves unvendored; requests with rules get validate_request."""
        proto = tmp_path / "contracts" / "val" / "v1" / "val.proto"
        proto.parent.mkdir(parents=True)
        proto.write_text(
            'syntax = "proto3";\npackage val.v1;\nimport "buf/validate/validate.proto";\n'
            "message CreateUserRequest {\n  string email = 1 [(buf.validate.field).string.email = true];\n}\n"
            "message CreateUserResponse { string id = 1; }\nmessage PingRequest { string id = 1; }\n"
            "service UserService {\n  rpc CreateUser(CreateUserRequest) returns (CreateUserResponse);\n"
            "  rpc Ping(PingRequest) returns (CreateUserResponse);\n}\n"
        )
        result = codegen(tmp_path / "contracts", "--out", tmp_path / "gen")
        assert result.returncode == 0, result.stderr
        service = (tmp_path / "gen" / "val" / "v1" / "_user_service.py").read_text()
        assert "validate_request=_codec.validate_val__v1__CreateUserRequest," in service
        assert "validate_request=None," in service
        codec = (tmp_path / "gen" / "_codec.py").read_text()
        assert "validate_val__v1__CreateUserRequest = make_validator(" in codec
        assert "validate_val__v1__PingRequest" not in codec

    def test_message_rule_that_does_not_compile_is_a_contract_error(self, tmp_path: Path) -> None:
        """A broken message-level CEL rule stops codegen at its line, not the first call after deploy."""
        result = _generate_val(
            tmp_path,
            '  option (buf.validate.message).cel = {id: "fine", expression: "true"};\n'
            '  option (buf.validate.message).cel = {id: "name_set", expression: "this.name =="};\n'
            "  string name = 1 [(buf.validate.field).string.min_len = 1];\n}\n",
        )
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith(
            "microlib codegen: contracts/val/v1/val.proto:6:3: message val.v1.Req: "
            "rule id 'name_set' does not compile: failed to compile expression name_set: "
        )
        assert "Syntax error" in lines[0]
        assert not (tmp_path / "gen").exists()

    def test_field_rules_that_do_not_compile_are_each_reported(self, tmp_path: Path) -> None:
        """Every broken field rule is one line naming message, field and rule id; nothing is written."""
        result = _generate_val(
            tmp_path,
            "  string title = 1 [\n"
            '    (buf.validate.field).cel = {id: "short", expression: "size(this) < 80"},\n'
            '    (buf.validate.field).cel = {id: "title_ok", expression: "no_such_function(this)"}];\n'
            "  Inner inner = 2;\n"
            "  message Inner {\n"
            '    string code = 1 [(buf.validate.field).string.pattern = "([a-z]"];\n  }\n}\n',
        )
        assert result.returncode == 2
        assert result.stderr.strip().splitlines() == [
            "microlib codegen: contracts/val/v1/val.proto:7:5: message val.v1.Req field title: rule id "
            "'title_ok' does not compile: failed to compile expression title_ok: "
            "No overloads provided for FunctionStep creation",
            "contracts/val/v1/val.proto:10:22: message val.v1.Req.Inner field code: rule id 'string.pattern' "
            "does not compile: failed to compile program string.pattern: missing ): ([a-z]",
        ]
        assert not (tmp_path / "gen").exists()

    def test_rules_that_compile_generate_whatever_an_empty_message_does(self, tmp_path: Path) -> None:
        """Violations of the empty message, and rules failing only as they evaluate, are left to run time."""
        result = _generate_val(
            tmp_path,
            '  option (buf.validate.message).cel = {id: "per_item", expression: "100 / this.count > 1"};\n'
            '  option (buf.validate.message).cel = {id: "typo", expression: "this.nme != \'\'"};\n'
            "  string name = 1 [(buf.validate.field).string.min_len = 1];\n  int32 count = 2;\n}\n",
        )
        assert result.returncode == 0, result.stderr
        assert "validate_val__v1__Req = make_validator(" in (tmp_path / "gen" / "_codec.py").read_text()


class TestIntermediateRepresentation:
    def test_ir_carries_docs_names_and_http_for_other_renderers(self) -> None:
        """The IR holds comments, JSON names, nesting and HTTP bindings (OpenAPI generation reads it)."""
        from microlib_codegen._protoc import builtin_includes, run_protoc
        from microlib_codegen.model import FieldKind, WellKnown
        from microlib_codegen.proto import read_descriptor_set
        from microlib_codegen.sources import discover

        found = discover([TESTDATA], [])
        output = run_protoc(list(found.files), [*found.includes, *builtin_includes()])
        contract = read_descriptor_set(output.descriptor_set, list(found.files))
        money = contract.messages["shop.v1.Money"]
        assert money.doc == "An amount of money in a currency."
        assert (money.fields[0].json_name, money.fields[0].doc) == (
            "currencyCode",
            'ISO 4217 code, e.g. "EUR".',
        )
        assert contract.messages["shop.v1.Book.Warehouse.Bin"].ref.python_name == "BookWarehouseBin"
        assert contract.enums["shop.v1.ChatResponse.Role"].doc == "Who sent it."
        book = {f.name: f for f in contract.messages["shop.v1.Book"].fields}
        assert book["prices_by_region"].map_key == "string"
        assert book["prices_by_region"].kind is FieldKind.MESSAGE
        assert book["published_at"].type is not None
        assert book["published_at"].type.well_known is WellKnown.TIMESTAMP
        assert book["shelf_slot"].oneof == "location"
        assert book["shelf_slot"].presence
        assert book["title"].required
        assert contract.messages["shop.v1.GetBookRequest"].has_rules
        assert contract.messages["shop.v1.CreateBookRequest"].has_rules
        service = next(s for s in contract.services if s.full_name == "shop.v1.BookshopService")
        get_book = service.methods[0]
        assert get_book.doc == "Gets one book by its id."
        assert [(b.method, b.path) for b in get_book.http] == [
            ("GET", "/v1/{name=shelves/*/books/*}"),
            ("GET", "/v1/books/{name}"),
        ]


def _generate_val(tmp_path: Path, message: str) -> subprocess.CompletedProcess[str]:
    """Run codegen on contracts/val/v1/val.proto: ``message Req {`` + ``message`` and a service calling it."""
    proto = tmp_path / "contracts" / "val" / "v1" / "val.proto"
    proto.parent.mkdir(parents=True)
    proto.write_text(
        'syntax = "proto3";\npackage val.v1;\nimport "buf/validate/validate.proto";\n'
        f"message Req {{\n{message}service S {{ rpc Call(Req) returns (Req); }}\n"
    )
    return codegen(tmp_path / "contracts", "--out", tmp_path / "gen", cwd=tmp_path)


def test_other_warnings_of_the_model_generator_are_passed_on_as_notes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A warning the generator gives that names no format is kept whole, on the schemas as a whole:
    at the node that holds them when the contract has one (a jobs contract's `jobs`)."""
    from microlib_codegen._bundle import read_alone
    from microlib_codegen._pydantic_models import _notes, note_lines

    monkeypatch.chdir(tmp_path)
    (tmp_path / "jobs.yaml").write_text('microlib-jobs: "1.0"\nname: a.jobs\njobs:\n  x: {}\n')
    doc = read_alone(tmp_path / "jobs.yaml")
    notes = _notes(["field x shadows a BaseModel attribute", "field x shadows a BaseModel attribute"], {})
    assert notes == [((), "the model generator warns: field x shadows a BaseModel attribute")]
    assert note_lines(notes, "jobs.yaml", doc, {}, ("jobs",)) == [
        "jobs.yaml:3: jobs: the model generator warns: field x shadows a BaseModel attribute"
    ]
    assert note_lines(notes, "jobs.yaml", doc, {}) == [
        "jobs.yaml: (schemas): the model generator warns: field x shadows a BaseModel attribute"
    ]


def test_a_document_is_modelled_once_per_run_and_again_once_edited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The package, the stubs and the drift report each model the document: the generator runs
    once for the three, and the document is read (parsed, validated, bundled) once, where it was
    read three times (a minute each for GitHub's 13 MB description). What comes out is still each
    caller's own (its source name, the warnings of each render), and an edited document is read
    and modelled again, not served from the first run."""
    from microlib_codegen import _bundle, _pydantic_models, openapi

    modelled: list[str] = []
    generate = _pydantic_models._generate
    read: list[Path] = []
    bundle = openapi.bundle

    def counted(src: Path, out: Path, metadata: Path) -> None:
        modelled.append(src.read_text(encoding="utf-8"))
        generate(src, out, metadata)

    def reading(root: Path) -> _bundle.Bundled:
        read.append(root)
        return bundle(root)

    monkeypatch.setattr(_pydantic_models, "_generate", counted)
    monkeypatch.setattr(openapi, "bundle", reading)
    _pydantic_models._generated.cache_clear()
    spec = tmp_path / "pets.yaml"
    document = (
        "openapi: 3.1.0\n"
        "info: {title: pets, version: '1'}\n"
        "paths:\n"
        "  /pets:\n"
        "    get:\n"
        "      operationId: listPets\n"
        "      tags: [pets]\n"
        "      responses:\n"
        "        '200':\n"
        "          description: the pets\n"
        "          content: {application/json: {schema: {$ref: '#/components/schemas/Pet'}}}\n"
        "components:\n"
        "  schemas:\n"
        "    Pet:\n"
        "      type: object\n"
        "      properties:\n"
        "        name: {type: string}\n"
        "        home: {type: string, format: uriref}\n"
    )
    spec.write_text(document)
    first: list[str] = []
    package = openapi.render(spec, source_name="contracts/pets.yaml", warnings=first)
    stubs = openapi.render_stubs(spec, gen_package="gen.pets")
    handlers = openapi.handler_stubs(spec)
    again: list[str] = []
    renamed = openapi.render(spec, source_name="pets.yaml", warnings=again)
    assert len(modelled) == len(read) == 1
    assert '"""Models of contracts/pets.yaml."""' in package["models.py"]
    assert '"""Models of pets.yaml."""' in renamed["models.py"]
    assert "class Pet(_GeneratedModel)" in package["models.py"]
    assert "models.Pet" in stubs["pets.py"]
    assert handlers[0].handlers[0][2].endswith("-> models.Pet | Reply:")
    unknown = "format 'uriref' is not one the models know: checked as any string"
    assert first == again == [f"{spec}:18: components.schemas.Pet.properties.home: {unknown}"]

    spec.write_text(
        document.replace("name: {type: string}", "name: {type: string}\n        age: {type: integer}")
    )
    edited = openapi.render(spec)
    assert len(modelled) == len(read) == 2
    assert "age: int | MISSING" in edited["models.py"]


@pytest.mark.parametrize(
    ("servers", "prefix"),
    [
        ([{"url": "/api/"}], "/api"),
        ([{"url": "https://x.example/v2"}, {"url": "/other"}], "/v2"),
        # Variables take their defaults, wherever they are in the URL.
        ([{"url": "{scheme}://x.example/ds-api", "variables": {"scheme": {"default": "https"}}}], "/ds-api"),
        ([{"url": "https://x.example/{base}/v1", "variables": {"base": {"default": "shop"}}}], "/shop/v1"),
        # A variable without a default names no path: include(prefix=...) must give one.
        ([{"url": "https://x.example/{base}"}], ""),
        ([{"url": "https://x.example"}], ""),
        ([], ""),
    ],
)
def test_the_prefix_is_the_first_servers_path(servers: list[dict[str, object]], prefix: str) -> None:
    from microlib_codegen.openapi import _prefix

    assert _prefix({"servers": servers}) == prefix


class TestMessageModules:
    def test_betterproto2_gets_the_files_whose_types_are_reached(self) -> None:
        """A file imported for its options only is left out; one whose type any message of a
        file given names, reached or not, is in (betterproto2 renders them all)."""
        from google.protobuf import descriptor_pb2

        from microlib_codegen._protoc import _files_reached

        def message(name: str, *types: str) -> descriptor_pb2.DescriptorProto:
            fields = [
                descriptor_pb2.FieldDescriptorProto(name=f"f{i}", number=i + 1, type_name=t)
                for i, t in enumerate(types)
            ]
            return descriptor_pb2.DescriptorProto(name=name, field=fields)

        def file(name: str, *messages: descriptor_pb2.DescriptorProto) -> descriptor_pb2.FileDescriptorProto:
            return descriptor_pb2.FileDescriptorProto(name=name, package="p", message_type=messages)

        nested = message("Outer", ".p.Deep")
        nested.nested_type.append(message("Inner", ".p.Deeper"))
        api = file("api.proto", message("Request", ".p.Used"), nested)
        api.service.append(
            descriptor_pb2.ServiceDescriptorProto(
                name="S",
                method=[
                    descriptor_pb2.MethodDescriptorProto(
                        name="M", input_type=".p.Request", output_type=".p.Out"
                    )
                ],
            )
        )
        fds = descriptor_pb2.FileDescriptorSet(
            file=[
                file("options.proto", message("OnlyAnOption")),
                file("used.proto", message("Used", ".p.Unused.Child")),
                file("unused.proto", message("Unused"), message("Other")),
                file("deep.proto", message("Deep")),
                file("deeper.proto", message("Deeper")),
                file("out.proto", message("Out")),
                api,
            ]
        )
        fds.file[2].message_type[0].nested_type.append(message("Child"))
        assert _files_reached(fds, ["api.proto"]) == {
            "api.proto",
            "used.proto",
            "unused.proto",
            "deep.proto",
            "deeper.proto",
            "out.proto",
        }

    def test_an_options_import_brings_no_message_module(self) -> None:
        """`google/api/annotations.proto` (imported for `google.api.http`) brings neither its own
        messages nor `google/protobuf/descriptor.proto`'s beside the well-known types used."""
        from microlib_codegen._protoc import builtin_includes, run_protoc
        from microlib_codegen.sources import discover

        found = discover([TESTDATA], [])
        messages = run_protoc(list(found.files), [*found.includes, *builtin_includes()]).message_files
        assert "google/api/__init__.py" not in messages
        protobuf = messages["google/protobuf/__init__.py"]
        assert "class Timestamp(" in protobuf
        assert "class FileDescriptorProto(" not in protobuf


def test_an_enum_default_is_its_member(tmp_path: Path) -> None:
    """A model left at an enum field's default holds the member its type declares (not the raw
    value), so it compares as the enum and serializes without pydantic's warning (an error here)."""
    spec = tmp_path / "defaults.yaml"
    spec.write_text(
        textwrap.dedent(
            """
            openapi: 3.1.0
            info: {title: defaults, version: "1"}
            paths: {}
            components:
              schemas:
                Depth: {type: integer, enum: [10, 25]}
                Subscribe:
                  type: object
                  properties:
                    depth: {$ref: "#/components/schemas/Depth", default: 10}
                    kind: {type: string, enum: [book, trade], default: book}
            """
        )
    )
    with generated_package(spec, tmp_path, "enum_defaults_gen") as package:
        models = importlib.import_module(f"{package.__name__}.models")
        subscribe = models.Subscribe()
        assert subscribe.depth is models.Depth.INTEGER_10
        assert type(subscribe.kind).__name__ == "Kind"
        assert subscribe.model_dump_json() == '{"depth":10,"kind":"book"}'
