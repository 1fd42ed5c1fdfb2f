"""Every user mistake the CLI meets is one line naming what and where, a non-zero exit, no traceback."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cli.conftest import ROOT, microlib


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The single line a failed command printed, after checking it is one and the exit is not 0."""
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output, output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, output
    return lines[0]


def run_importing(root: Path, module: str, source: str) -> str:
    """The one line `microlib run` printed for an app importing ``module`` (its file holding
    ``source``) of the package ``shop``, which has a package ``shop.gen`` microlib codegen wrote."""
    generated = root / "shop" / "gen"
    generated.mkdir(parents=True)
    (generated / "_manifest.json").write_text("{}")
    path = root.joinpath(*module.split(".")).with_suffix(".py")
    path.parent.mkdir(parents=True, exist_ok=True)
    for package in {generated.relative_to(root), *path.relative_to(root).parents}:
        if package != Path("."):
            (root / package / "__init__.py").write_text("")
    path.write_text(source)
    (root / "app.py").write_text(f"import {module}\nfrom microlib import Service\n\nservice = Service('x')\n")
    return one_line_error(microlib("run", "app:service", cwd=root))


class TestRun:
    def test_a_module_outside_the_working_directory_is_named_by_its_path(self, tmp_path: Path) -> None:
        """The file:line is absolute when the module is not below the working directory."""
        elsewhere, here = tmp_path / "lib", tmp_path / "here"
        elsewhere.mkdir()
        here.mkdir()
        (elsewhere / "far.py").write_text(
            "from examples.bookshop.gen.bookshop.v1 import BookshopService\n"
            "from microlib import Service\n"
            "service = Service('far')\n"
            "service.include(type('Empty', (BookshopService,), {})())\n"
        )
        path = f"{elsewhere}:{ROOT}:{ROOT / 'codegen'}"
        line = one_line_error(microlib("run", "far:service", cwd=here, env={"PYTHONPATH": path}))
        assert line.startswith(f"microlib run: {elsewhere / 'far.py'}:4: servicer Empty for ")

    def test_a_servicer_missing_methods_names_them_and_the_line_that_included_it(
        self, tmp_path: Path
    ) -> None:
        """The servicer check runs while the module is imported: no import traceback around it."""
        (tmp_path / "broken.py").write_text(
            "from examples.bookshop.gen.bookshop.v1 import BookshopService\n"
            "from microlib import Service\n"
            "\n"
            "class Empty(BookshopService):\n"
            "    pass\n"
            "\n"
            "service = Service('broken')\n"
            "service.include(Empty())\n"
        )
        line = one_line_error(microlib("run", "broken:service", cwd=tmp_path))
        assert line.startswith("microlib run: broken.py:8: servicer Empty for bookshop.v1.BookshopService ")
        assert "lacks method(s): get_book (rpc GetBook)" in line

    def test_an_import_of_a_generated_module_no_longer_written_names_the_line_and_why(
        self, tmp_path: Path
    ) -> None:
        """A stub whose contract was removed still imports its generated package: the line
        that imports it, and what happened, instead of the import machinery's traceback."""
        line = run_importing(
            tmp_path, "shop.jobs", '"""A stub."""\n\nfrom shop.gen.shop_jobs import models\n'
        )
        assert line == (
            "microlib run: shop/jobs.py:3: No module named 'shop.gen.shop_jobs': shop.gen is written by "
            "`microlib codegen`, which writes no shop.gen.shop_jobs any more (its contract was removed or "
            "renamed): update or remove the code that imports it"
        )

    def test_generated_code_importing_a_microlib_module_this_microlib_lacks_says_to_regenerate(
        self, tmp_path: Path
    ) -> None:
        """microlib upgraded under code generated for the one before (a module moved): what to run."""
        line = run_importing(
            tmp_path, "shop.gen.shop_api.handlers", "from microlib.http.moved_away import Reply\n"
        )
        assert line == (
            "microlib run: shop/gen/shop_api/handlers.py:1: No module named 'microlib.http.moved_away': "
            "shop/gen was written by `microlib codegen` for another version of microlib: run `microlib "
            "codegen` to write it for this one"
        )

    def test_code_importing_what_an_edited_contract_generates_before_codegen_says_to_run_it(
        self, tmp_path: Path
    ) -> None:
        """A message renamed in the proto and in the implementation, codegen not run again: the
        implementation's import fails on the old generated package, which is why, not a traceback."""
        assert microlib("new", "shop", cwd=tmp_path).returncode == 0
        project = tmp_path / "shop"
        for file in ("contracts/shop/v1/greeter.proto", "shop/services/greeter_service.py"):
            path = project / file
            path.write_text(path.read_text().replace("SayHelloResponse", "HelloReply"))
        line = one_line_error(microlib("run", cwd=project))
        assert line == (
            "microlib run: shop/services/greeter_service.py:10: cannot import name 'HelloReply' from "
            f"'shop.gen.shop.v1' ({project}/shop/gen/shop/v1/__init__.py): contracts/shop/v1/greeter.proto "
            "changed since `microlib codegen` wrote shop/gen: run `microlib codegen` to generate it again"
        )

    def test_a_generated_package_never_written_here_says_to_run_codegen(self, tmp_path: Path) -> None:
        """A fresh checkout of a project that does not commit its generated package: the import
        that needs it, and the command that writes it."""
        assert microlib("new", "shop", cwd=tmp_path).returncode == 0
        project = tmp_path / "shop"
        shutil.rmtree(project / "shop" / "gen")
        line = one_line_error(microlib("run", cwd=project))
        assert line == (
            "microlib run: shop/services/greeter_service.py:10: No module named 'shop.gen': shop.gen is "
            "written by `microlib codegen` ([tool.microlib.codegen] in pyproject.toml), which has not "
            "written it here: run `microlib codegen`"
        )

    def test_a_generated_file_edited_so_it_no_longer_imports_is_named_with_what_to_run(
        self, tmp_path: Path
    ) -> None:
        """An edit of the generated package (a message renamed there) breaks its imports: the
        edited file, and that codegen writes it again."""
        assert microlib("new", "shop", cwd=tmp_path).returncode == 0
        project = tmp_path / "shop"
        generated = project / "shop/gen/shop/v1/_greeter_service.py"
        generated.write_text(generated.read_text().replace("SayHelloRequest", "HelloRequest"))
        line = one_line_error(microlib("run", cwd=project))
        assert line.startswith(
            "microlib run: shop/gen/shop/v1/_greeter_service.py:16: cannot import name 'HelloRequest' from "
        ), line
        assert line.endswith(
            ": shop/gen/shop/v1/_greeter_service.py edited by hand since `microlib codegen` wrote shop/gen, "
            "which it replaces whole: run `microlib codegen`, and edit the contract instead"
        ), line

    @pytest.mark.parametrize(
        ("call", "refusal"),
        [
            ("Service('order_book')", "invalid service identity: name: String should match pattern"),
            (
                "Service('shop', version=3)",
                "invalid service identity: version: Input should be a valid string",
            ),
            (
                "Service('shop', sections={'app': dict})",
                "section 'app' must be a pydantic BaseModel subclass, got <class 'dict'>",
            ),
            (
                "Service('shop', sections={'http': __import__('pydantic').BaseModel})",
                "section key 'http' is microlib's own section: name yours differently",
            ),
        ],
        ids=["name", "version", "section-not-a-model", "section-of-microlib"],
    )
    def test_a_call_microlib_refuses_while_the_service_is_wired_names_its_line(
        self, tmp_path: Path, call: str, refusal: str
    ) -> None:
        """A Service given a package's name (underscores), a version that is no text, a section
        that is no pydantic model or is named as one of microlib's: the line that called microlib
        and its words, as for a servicer that does not match its contract."""
        (tmp_path / "app.py").write_text(f"from microlib import Service\n\nservice = {call}\n")
        line = one_line_error(microlib("run", "app:service", cwd=tmp_path))
        assert line.startswith(f"microlib run: app.py:3: {refusal}"), line

    @pytest.mark.parametrize(
        ("statement", "error"),
        [
            ("service = int('x')", "ValueError: invalid literal for int() with base 10: 'x'"),
            ("from json import no_such_name", "ImportError: cannot import name 'no_such_name' from 'json'"),
        ],
        ids=["value", "import-of-code-not-generated"],
    )
    def test_an_error_of_the_services_own_code_keeps_its_traceback(
        self, tmp_path: Path, statement: str, error: str
    ) -> None:
        """Raised by the service's code, not refused by microlib (an import too, from a module
        codegen did not write): the traceback is what tells where."""
        (tmp_path / "app.py").write_text(f"from microlib import Service\n\n{statement}\n")
        result = microlib("run", "app:service", cwd=tmp_path)
        assert result.returncode != 0
        assert "Traceback" in result.stderr
        assert error in result.stderr

    @pytest.mark.parametrize(
        ("setting", "problem"),
        [
            (
                "health.groups.readiness=[dbb]",
                "health.groups.readiness = [dbb] (--set health.groups.readiness=...): names unknown "
                "component(s) ['dbb']; known: ['config', 'http', 'messaging', 'observability'] "
                "[unknown_component]",
            ),
            (
                "messaging.outbox.enabled=true",
                "messaging.outbox.enabled = true (--set messaging.outbox.enabled=...): needs the service's "
                "database: Service(..., database=True) [needs_database]",
            ),
        ],
    )
    def test_a_setting_the_service_cannot_serve_is_a_configuration_problem(
        self, tmp_path: Path, setting: str, problem: str
    ) -> None:
        """Valid on its own, refused once the service is assembled: named with its source, as the
        settings' other problems are, not as a traceback."""
        # A publisher gives the service messaging, which the outbox would divert.
        app = "from microlib import Service\n\nservice = Service('shop')\npublisher = service.publisher\n"
        (tmp_path / "app.py").write_text(app)
        result = microlib("run", "app:service", "--set", setting, "--set", "http.port=0", cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert result.stderr == f"microlib run: invalid configuration (1 problem):\n  - {problem}\n"

    def test_a_module_the_service_imports_that_does_not_exist_names_the_line(self, tmp_path: Path) -> None:
        """Not installed, or misspelt: the line and Python's words, no traceback."""
        (tmp_path / "app.py").write_text("from microlib import Service\nimport pricing_rules\n")
        line = one_line_error(microlib("run", "app:service", cwd=tmp_path))
        assert line == "microlib run: app.py:2: No module named 'pricing_rules'"

    def test_a_syntax_error_in_the_services_code_names_its_file_and_line(self, tmp_path: Path) -> None:
        """Python's own file, line and words; the import machinery's frames are noise."""
        (tmp_path / "shop").mkdir()
        (tmp_path / "shop" / "__init__.py").write_text("")
        (tmp_path / "shop" / "handlers.py").write_text("def handle(\n    return 1\n")
        (tmp_path / "app.py").write_text("from microlib import Service\nimport shop.handlers\n")
        line = one_line_error(microlib("run", "app:service", cwd=tmp_path))
        assert line == "microlib run: shop/handlers.py:1: SyntaxError: '(' was never closed"

    @pytest.mark.parametrize(
        ("schedule", "reason"),
        [
            (
                "cron='61 3 * * *'",
                "invalid cron expression '61 3 * * *': the minute field '61' is out of range or not a "
                "cron value",
            ),
            (
                "cron='0 0 25 * * *'",
                "invalid cron expression '0 0 25 * * *': the hour field '25' is out of range or not a "
                "cron value",
            ),
            ("cron='0 3 * * *', timezone='Mars/Olympus'", "unknown time zone 'Mars/Olympus'"),
        ],
    )
    def test_an_invalid_schedule_in_a_jobs_contract_is_one_line(
        self, tmp_path: Path, schedule: str, reason: str
    ) -> None:
        """A cron expression or time zone croniter refuses names the contract line, the job and,
        for the expression, which field (six fields: seconds first)."""
        (tmp_path / "cron.py").write_text(
            "from microlib.jobs import Schedule\n"
            "from tests.jobs.test_scheduler import _service, _with_schedule\n"
            f"service, _ = _service(_with_schedule(Schedule({schedule}, source='contracts/jobs.yaml:35')))\n"
        )
        line = one_line_error(microlib("run", "cron:service", cwd=tmp_path))
        assert line == f"microlib run: contracts/jobs.yaml:35: job heartbeat: {reason}"

    def test_an_openapi_handler_inherited_from_the_protocol_fails_the_start(self, tmp_path: Path) -> None:
        """The Protocol's `...` body is not an implementation: the start fails naming the operation."""
        (tmp_path / "broken.py").write_text(
            "from examples.bookshop.gen.orders import operations\n"
            "from examples.bookshop.gen.orders.handlers import OrdersApi\n"
            "from microlib import Service\n"
            "from microlib.http import OpenAPIApp\n"
            "\n"
            "class Orders(OrdersApi):\n"
            "    async def list_orders(self, **kwargs: object) -> None: ...\n"
            "    async def create_order(self, **kwargs: object) -> None: ...\n"
            "\n"
            "service = Service('broken')\n"
            "api = OpenAPIApp(operations.OPERATIONS, Orders(), title=operations.TITLE)\n"
        )
        line = one_line_error(microlib("run", "broken:service", cwd=tmp_path))
        assert line == (
            "microlib run: broken.py:11: Bookshop orders: handlers missing for 1 operation(s): "
            "orders.get_order (getOrder); implement them (`microlib codegen --check` lists each with its "
            "signature)"
        )

    def test_run_inside_the_project_says_where_the_project_is(self, tmp_path: Path) -> None:
        """From its tests/ folder: the project's pyproject.toml names the service, and the
        imports and microlib.yaml are read from the project folder, so the line says to run there."""
        (tmp_path / "pyproject.toml").write_text('[tool.microlib]\nservice = "shop.main:service"\n')
        (tmp_path / "tests").mkdir()
        line = one_line_error(microlib("run", cwd=tmp_path / "tests"))
        assert line == (
            "microlib run: no TARGET given and no [tool.microlib] service = 'module:attribute' in "
            f"./pyproject.toml; {tmp_path / 'pyproject.toml'} names one: run from {tmp_path}"
        )

    def test_a_misspelt_service_key_is_pointed_at(self, tmp_path: Path) -> None:
        """`servce = ...` was read as no service at all, the line naming only the key it wanted."""
        (tmp_path / "pyproject.toml").write_text('[tool.microlib]\nservce = "shop.main:service"\n')
        line = one_line_error(microlib("run", cwd=tmp_path))
        assert line == (
            "microlib run: no TARGET given and no [tool.microlib] service = 'module:attribute' in "
            "./pyproject.toml ([tool.microlib] servce is there: a typo?)"
        )

    def test_a_pyproject_that_is_not_toml_is_one_line(self, tmp_path: Path) -> None:
        """It was tomllib's traceback."""
        (tmp_path / "pyproject.toml").write_text('[tool.microlib]\nservice = "shop.main:service\n')
        line = one_line_error(microlib("run", cwd=tmp_path))
        assert line == (
            "microlib run: ./pyproject.toml: invalid TOML: Illegal character '\\n' (at line 2, column 29)"
        )

    def test_a_rule_that_does_not_fit_its_message_is_one_line(self, tmp_path: Path) -> None:
        """Generated code older than codegen's rule check: the start fails naming the RPC and the field."""
        (tmp_path / "stale.py").write_text(
            "import dataclasses\n"
            "from examples.bookshop.catalog import Catalog\n"
            "from examples.bookshop.services.bookshop_service import BookshopServiceServicer\n"
            "from microlib import Service\n"
            "\n"
            "contract = BookshopServiceServicer.__microlib_service__\n"
            "get_book = contract.methods['GetBook']\n"
            "rule = dataclasses.replace(get_book.http_rules[0], path='/v1/books/{isbn}')\n"
            "methods = {**contract.methods, 'GetBook': dataclasses.replace(get_book, http_rules=(rule,))}\n"
            "\n"
            "class Stale(BookshopServiceServicer):\n"
            "    __microlib_service__ = dataclasses.replace(contract, methods=methods)\n"
            "\n"
            "service = Service('stale')\n"
            "service.include(Stale(Catalog()))\n"
        )
        result = microlib(
            "run", "stale:service", "--set", "http.port=0", "--set", "grpc.port=0", cwd=tmp_path
        )
        assert result.returncode == 1, result.stdout + result.stderr
        assert "Traceback" not in result.stdout + result.stderr
        assert result.stderr.strip() == (
            "microlib run: bookshop.v1.BookshopService: GetBook: path '/v1/books/{isbn}' binds 'isbn', not a "
            "singular field of bookshop.v1.GetBookRequest; regenerate with `microlib codegen`, which checks "
            "each rule"
        )


PETS = """\
openapi: 3.1.0
info: {title: Pets, version: "1.0"}
paths:
  /pets:
    get:
      operationId: listPets
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {type: object, properties: {n: {type: integer}}}
"""

EVENTS = """\
asyncapi: 3.0.0
info: {title: Events, version: "1.0"}
channels:
  placed:
    address: orders.placed
    messages:
      placed: {payload: {type: object}}
operations:
  onPlaced:
    action: recieve
    channel: {$ref: '#/channels/placed'}
"""


class TestCodegen:
    def test_a_ref_to_nowhere_names_file_line_and_json_path(self, tmp_path: Path) -> None:
        """Not a traceback ending in a dump of the whole document."""
        (tmp_path / "pets.yaml").write_text(
            PETS.replace(
                "{type: object, properties: {n: {type: integer}}}", "{$ref: '#/components/schemas/Pet'}"
            )
        )
        line = one_line_error(microlib("codegen", "pets.yaml", "--out", "gen", cwd=tmp_path))
        assert line == (
            "microlib codegen: pets.yaml:12: $ref '#/components/schemas/Pet' does not resolve: "
            "no 'components' in pets.yaml "
            "(at paths./pets.get.responses.200.content.application/json.schema.$ref)"
        )

    def test_an_unknown_schema_type_names_its_line_and_the_types_there_are(self, tmp_path: Path) -> None:
        """`type: bool` is reported where it is written, with the JSON path from the root."""
        (tmp_path / "pets.yaml").write_text(PETS.replace("{n: {type: integer}}", "{n: {type: bool}}"))
        line = one_line_error(microlib("codegen", "pets.yaml", "--out", "gen", cwd=tmp_path))
        assert line == (
            "microlib codegen: pets.yaml:12: invalid OpenAPI document at "
            "paths./pets.get.responses.200.content.application/json.schema.properties.n.type: 'bool' is not "
            "one of ['array', 'boolean', 'integer', 'null', 'number', 'object', 'string']"
        )

    def test_a_path_parameter_no_parameter_declares_names_its_path_item(self, tmp_path: Path) -> None:
        """The validator's error carries no JSON path: the path item it quotes is named, at its
        line, not the document's root."""
        (tmp_path / "pets.yaml").write_text(PETS.replace("  /pets:\n", "  /pets/{petId}:\n"))
        line = one_line_error(microlib("codegen", "pets.yaml", "--out", "gen", cwd=tmp_path))
        assert line == (
            "microlib codegen: pets.yaml:4: invalid OpenAPI document at paths./pets/{petId}: "
            "Path parameter 'petId' for 'get' operation in '/pets/{petId}' was not resolved"
        )

    def test_an_invalid_asyncapi_document_is_named_as_its_problems_are(self, tmp_path: Path) -> None:
        """The project's contracts come from pyproject.toml as absolute paths: the heading names
        the document relative to the working folder, as each problem's line does."""
        (tmp_path / "node_modules").symlink_to(ROOT / "node_modules")
        (tmp_path / "contracts").mkdir()
        (tmp_path / "contracts" / "events.yaml").write_text(EVENTS)
        (tmp_path / "pyproject.toml").write_text(
            '[tool.microlib.codegen]\ncontracts = ["contracts/events.yaml"]\nout = "gen"\n'
        )
        result = microlib("codegen", cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert result.stderr.splitlines() == [
            "microlib codegen: contracts/events.yaml: not a valid AsyncAPI 3.0.0 document (1 problem(s)):",
            "contracts/events.yaml:10: operations.onPlaced.action: "
            "'recieve' is not one of ['send', 'receive']",
        ]

    def test_misspelt_codegen_settings_are_pointed_at(self, tmp_path: Path) -> None:
        """A key of [tool.microlib.codegen] that looks like a known one, and the section itself
        misspelt, say which was meant, as a settings file's unknown key does."""
        pyproject = tmp_path / "pyproject.toml"
        pyproject.write_text('[tool.microlib.codegen]\nout = "gen"\nstub = "services"\ncolour = 1\n')
        assert one_line_error(microlib("codegen", cwd=tmp_path)) == (
            "microlib codegen: pyproject.toml [tool.microlib.codegen]: unknown key(s) colour, "
            "stub (did you mean 'stubs'?)"
        )
        pyproject.write_text('[tool.microlib.codgen]\nout = "gen"\n')
        assert one_line_error(microlib("codegen", cwd=tmp_path)) == (
            "microlib codegen: pyproject.toml has no [tool.microlib.codegen] section "
            "([tool.microlib.codgen] is there: a typo?); add one or pass CONTRACT... --out DIR"
        )

    @pytest.mark.parametrize(
        "flag", [["--out", "elsewhere"], ["--package", "x.gen"], ["--stubs", "s"], ["-I", "i"]]
    )
    def test_a_flag_of_contracts_given_without_contracts_is_refused(
        self, tmp_path: Path, flag: list[str]
    ) -> None:
        """Without CONTRACT... the project's [tool.microlib.codegen] says where: a flag that would
        say otherwise is refused, not ignored while the project's package is written."""
        (tmp_path / "pyproject.toml").write_text('[tool.microlib.codegen]\nout = "gen"\n')
        (tmp_path / "pets.yaml").write_text(PETS)
        line = one_line_error(microlib("codegen", *flag, cwd=tmp_path))
        assert line == (
            f"microlib codegen: {flag[0]} goes with CONTRACT... (microlib codegen CONTRACT... --out DIR); "
            "without them, [tool.microlib.codegen] in pyproject.toml says what to generate and where"
        )
        assert sorted(p.name for p in tmp_path.iterdir()) == ["pets.yaml", "pyproject.toml"]

    @pytest.mark.parametrize(
        ("args", "expected"),
        [
            (
                ("--lint",),
                "buf not found: install it in the project (npm install --save-dev @bufbuild/buf) "
                "or put it on PATH",
            ),
            (
                ("widgets.tsp", "--out", "gen"),
                "tsp not found: install the TypeSpec compiler in the project (npm install --save-dev "
                "@typespec/compiler @typespec/http @typespec/openapi @typespec/openapi3) or put it on PATH",
            ),
        ],
    )
    def test_a_missing_npm_tool_says_how_to_install_it_in_a_project(
        self, tmp_path: Path, args: tuple[str, ...], expected: str
    ) -> None:
        """A project's package.json (if it has one) pins neither buf nor tsp: `npm install` alone
        would not add them, as microlib's own package.json does."""
        (tmp_path / "pyproject.toml").write_text(
            '[tool.microlib.codegen]\ncontracts = ["pets.yaml"]\nout = "gen"\n'
        )
        (tmp_path / "pets.yaml").write_text(PETS)
        (tmp_path / "widgets.tsp").write_text('import "@typespec/http";\n')
        line = one_line_error(microlib("codegen", *args, cwd=tmp_path, env={"PATH": "/usr/bin:/bin"}))
        assert line == f"microlib codegen: {expected}"

    def test_codegen_inside_the_project_says_where_the_project_is(self, tmp_path: Path) -> None:
        """From the project's package folder, as `microlib run` says: the folder whose
        pyproject.toml configures codegen is named (one with an invalid pyproject.toml between is
        passed over)."""
        (tmp_path / "pyproject.toml").write_text('[tool.microlib.codegen]\nout = "shop/gen"\n')
        (tmp_path / "shop" / "services").mkdir(parents=True)
        (tmp_path / "shop" / "pyproject.toml").write_text("[tool.microlib\n")
        for args in (("codegen",), ("codegen", "--check")):
            line = one_line_error(microlib(*args, cwd=tmp_path / "shop" / "services"))
            assert line == (
                "microlib codegen: pyproject.toml not found: run from the project folder, or pass "
                f"CONTRACT... --out DIR; {tmp_path / 'pyproject.toml'} has [tool.microlib.codegen]: "
                f"run from {tmp_path}"
            )


SERVICE = "from microlib import Service\n\nservice = Service('shop', database=True)\n"
POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432"


class TestDb:
    """`microlib db` names database.url and where it came from, never a driver's traceback."""

    def _project(self, tmp_path: Path) -> Path:
        (tmp_path / "shop.py").write_text(SERVICE)
        return tmp_path

    def test_an_unparsable_url_names_the_setting_and_its_source(self, tmp_path: Path) -> None:
        """The URL is not repeated (it may hold a password); --set is named as its source."""
        result = microlib(
            "db", "current", "shop:service", "--set", "database.url=not a url:pw", cwd=self._project(tmp_path)
        )
        assert one_line_error(result) == (
            "microlib db: database.url (from --set database.url=...): not a database URL "
            "(e.g. postgresql+asyncpg://user@host/db or sqlite+aiosqlite:///file.db)"
        )

    def test_an_unknown_scheme_from_the_environment(self, tmp_path: Path) -> None:
        """No service: the URL comes from the environment, which the line names."""
        result = microlib("db", "current", cwd=tmp_path, env={"MICROLIB__DATABASE__URL": "mysqlx://a@b/c"})
        assert one_line_error(result) == (
            "microlib db: database.url (from env MICROLIB__DATABASE__URL): unknown scheme 'mysqlx' in "
            "mysqlx://a@b/c: use postgresql+asyncpg://... or sqlite+aiosqlite:///..."
        )

    @pytest.mark.parametrize("action", ["upgrade", "downgrade base"])
    def test_migrating_without_revision_scripts_names_the_directory_and_creates_no_database(
        self, tmp_path: Path, action: str
    ) -> None:
        """Checked before the database is opened: opening a SQLite URL creates its file."""
        result = microlib("db", *action.split(), "--url", "sqlite+aiosqlite:///./var/app.db", cwd=tmp_path)
        assert one_line_error(result) == "microlib db: migrations directory 'migrations' does not exist"
        assert list(tmp_path.iterdir()) == []

    @pytest.mark.parametrize(
        "command", ["db current", "outbox status", "outbox skip m-1 --yes", "db seed --seed shop:seed"]
    )
    def test_reading_a_sqlite_database_that_does_not_exist_creates_none(
        self, tmp_path: Path, command: str
    ) -> None:
        """A project without a database has the embedded default URL: a command that only reads
        what is in the database, or writes rows into its tables (a seed), says there is none, and
        leaves no ./var/app.db behind."""
        (tmp_path / "pyproject.toml").write_text("[tool.microlib]\nservice = 'shop:service'\n")
        (tmp_path / "shop.py").write_text(
            "from microlib import Service\n\nservice = Service('shop')\n\n\n"
            "async def seed(session):\n    pass\n"
        )
        line = one_line_error(microlib(*command.split(), cwd=tmp_path))
        assert line == (
            f"microlib {command.split()[0]}: no database: var/app.db does not exist (database.url from "
            "default); `microlib db upgrade` creates it"
        )
        assert not (tmp_path / "var").exists()

    @pytest.mark.connected
    def test_a_database_that_does_not_exist(self, tmp_path: Path) -> None:
        """The server's own words, after the masked URL."""
        (tmp_path / "migrations").mkdir()
        result = microlib("db", "upgrade", "--url", f"{POSTGRES}/microlib_no_such_db", cwd=tmp_path)
        assert one_line_error(result) == (
            f"microlib db: database.url (from --url): {POSTGRES}/microlib_no_such_db: "
            'database "microlib_no_such_db" does not exist'
        )

    @pytest.mark.connected
    def test_a_role_that_does_not_exist_with_its_password_masked(self, tmp_path: Path) -> None:
        """The password never reaches the terminal."""
        url = "postgresql+asyncpg://microlib_no_such_role:s3cret@127.0.0.1:5432/test"
        line = one_line_error(microlib("db", "current", "--url", url, cwd=tmp_path))
        assert line == (
            "microlib db: database.url (from --url): postgresql+asyncpg://microlib_no_such_role:***@"
            '127.0.0.1:5432/test: role "microlib_no_such_role" does not exist'
        )

    def test_an_unreachable_server_names_the_setting_after_the_retries(self, tmp_path: Path) -> None:
        """Nothing listens on port 1: the last attempt's cause, after the URL's source."""
        result = microlib(
            "db", "current", "shop:service", "--set", "database.url=postgresql+asyncpg://u@127.0.0.1:1/x",
            "--set", "database.connect_retries=1", cwd=self._project(tmp_path),
        )  # fmt: skip
        line = one_line_error(result)
        assert line.startswith(
            "microlib db: database.url (from --set database.url=...): database at "
            "postgresql+asyncpg://u@127.0.0.1:1/x unreachable after 1 attempt(s): connect: "
        )

    def test_downgrade_with_a_target_and_no_revision_asks_for_the_revision(self, tmp_path: Path) -> None:
        """The target is not taken for the revision (which then reported no database URL)."""
        url = f"database.url=sqlite+aiosqlite:///{tmp_path}/app.db"
        result = microlib("db", "downgrade", "shop:service", "--set", url, cwd=self._project(tmp_path))
        assert one_line_error(result) == (
            "microlib db: downgrade needs REV, the revision to go to ('base': all, '-1': one step)"
        )

    def test_target_and_revision_are_read_in_either_order(self, tmp_path: Path) -> None:
        """`downgrade base shop:service` and `upgrade shop:service head` act on the service's database."""
        project = self._project(tmp_path)
        (project / "migrations").mkdir()
        url = f"database.url=sqlite+aiosqlite:///{tmp_path}/app.db"
        for args in (("downgrade", "base", "shop:service"), ("upgrade", "shop:service", "head")):
            result = microlib("db", *args, "--set", url, "--migrations", "migrations", cwd=project)
            assert result.returncode == 0, result.stderr
        result = microlib("db", "upgrade", "a:b", "c:d", cwd=project)
        assert one_line_error(result) == "microlib db: expected [TARGET] REV, got 'a:b c:d'"


class TestFlags:
    @pytest.mark.parametrize(
        ("args", "error"),
        [
            (
                ("run", "--port", "8081"),
                "microlib run: error: unrecognized arguments: --port; "
                "a setting is given with --set SECTION.KEY=VALUE (--set http.port=8081)",
            ),
            (("codegen", "--chek"), "microlib codegen: error: unrecognized arguments: --chek"),
        ],
    )
    def test_an_unknown_flag_is_refused_by_its_command(
        self, tmp_path: Path, args: tuple[str, ...], error: str
    ) -> None:
        """With the command's usage and name, not `microlib [-h] [--version] COMMAND ...`."""
        result = microlib(*args, cwd=tmp_path)
        assert result.returncode == 2
        usage, *_, last = result.stderr.strip().splitlines()
        assert usage.startswith(f"usage: microlib {args[0]} ")
        assert last == error
