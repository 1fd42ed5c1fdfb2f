"""`microlib codegen` on a jobs contract: typed models, handler Protocol, enqueuer, stub, drift."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from microlib import Service
from microlib.testing import TestService
from tests.codegen.conftest import ROOT, codegen, tree

CONTRACT = Path(__file__).parent / "contracts" / "shop-jobs.yaml"

USER = '''
"""The user's handlers and a caller of the enqueuer."""

from __future__ import annotations

from microlib.jobs import JobContext, JobHandle

from app.gen.shop_jobs import models
from app.gen.shop_jobs.jobs import ShopJobsEnqueuer, ShopJobsHandlers


class Handlers(ShopJobsHandlers):
    def __init__(self) -> None:
        self.reports: list[tuple[int, float | None]] = []

    async def send_receipt(
        self, payload: models.SendReceiptPayload, ctx: JobContext
    ) -> models.SendReceiptResult:
        lines = payload.lines if isinstance(payload.lines, list) else []
        return models.SendReceiptResult(order_id=payload.order_id, items=sum(line.qty for line in lines))

    async def restock_report(self, payload: models.RestockReportPayload, ctx: JobContext) -> None:
        self.reports.append((payload.threshold, ctx.tick))


async def order_paid(enqueuer: ShopJobsEnqueuer, order_id: str) -> models.SendReceiptResult:
    line = models.Line(sku="b1", qty=2)
    handle: JobHandle[models.SendReceiptResult] = await enqueuer.send_receipt(
        models.SendReceiptPayload(order_id=order_id, lines=[line]), idempotency_key=f"receipt-{order_id}"
    )
    return await handle.result(timeout=5)
'''


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A project with the contract generated into app/gen and stubs in app/handlers."""
    root = tmp_path_factory.mktemp("jobsproject")
    (root / "contracts").mkdir()
    shutil.copy(CONTRACT, root / "contracts" / "shop-jobs.yaml")
    (root / "app").mkdir()
    (root / "app" / "__init__.py").write_text("", encoding="utf-8")
    result = codegen(
        "contracts", "--out", "app/gen", "--package", "app.gen", "--stubs", "app/handlers", cwd=root
    )
    assert result.returncode == 0, result.stderr
    (root / "app" / "user.py").write_text(USER, encoding="utf-8")
    sys.path.insert(0, str(root))
    yield root
    sys.path.remove(str(root))
    for name in [m for m in sys.modules if m == "app" or m.startswith("app.")]:
        del sys.modules[name]


def test_the_package_has_models_jobs_and_a_manifest(project: Path) -> None:
    """models.py, jobs.py (Protocol, DEFINITION, enqueuer), with the source and line of each job."""
    files = tree(project / "app" / "gen")
    assert {"shop_jobs/models.py", "shop_jobs/jobs.py", "shop_jobs/__init__.py", "_manifest.json"} <= set(
        files
    )
    jobs = files["shop_jobs/jobs.py"].decode()
    assert jobs.startswith("# Generated from contracts/shop-jobs.yaml by microlib-codegen")
    assert "class ShopJobsHandlers(Protocol):" in jobs
    assert 'source="contracts/shop-jobs.yaml:8"' in jobs
    assert 'cron="0 3 * * *"' in jobs
    assert 'overlap="skip"' in jobs
    assert 'source="contracts/shop-jobs.yaml:39"' in jobs
    assert (project / "app" / "handlers" / "shop_jobs.py").is_file()


def _check(cwd: Path) -> subprocess.CompletedProcess[str]:
    """``microlib codegen --check`` of the project in ``cwd``."""
    return codegen(
        "contracts", "--out", "app/gen", "--package", "app.gen", "--stubs", "app/handlers", "--check", cwd=cwd
    )


def _copy(project: Path, tmp_path: Path) -> Path:
    """A copy of the generated project, to change without touching the shared one."""
    copy = tmp_path / "p"
    shutil.copytree(project, copy, ignore=shutil.ignore_patterns("__pycache__", ".mypy_cache"))
    return copy


def test_a_second_run_is_identical_and_check_finds_no_drift(project: Path) -> None:
    """Same contract, same bytes; --check passes; the stub is not rewritten."""
    before = tree(project / "app")
    check = _check(project)
    assert check.returncode == 0, check.stderr
    assert tree(project / "app") == before


async def test_generated_code_runs_in_a_service(project: Path) -> None:
    """The generated enqueuer and the user's handler run a job and a cron tick in memory."""
    from app.gen.shop_jobs.jobs import ShopJobsEnqueuer  # type: ignore[import-not-found]
    from app.user import Handlers, order_paid  # type: ignore[import-not-found]

    service = Service("shop")
    handlers = Handlers()
    service.include(handlers)
    # 2026-12-05 01:00 UTC: 03:00 in Paris (UTC+1 in winter) is an hour away.
    async with TestService(service, frozen_time=1_796_432_400.0) as t:
        result = await order_paid(ShopJobsEnqueuer(service.jobs), "o1")
        assert (result.order_id, result.items) == ("o1", 2)
        await t.jobs.run_until_idle()
        await t.jobs.advance(3 * 3600)
        assert handlers.reports == [(5, 1_796_432_400.0 + 3600)]
    assert service.jobs.contracts["shop.jobs"].jobs["restock_report"].schedule.overlap == "skip"


def test_user_code_type_checks_under_mypy_strict(project: Path, tmp_path: Path, mypy_cache: Path) -> None:
    """The generated package, the stub and a user module calling them pass mypy --strict."""
    copy = _copy(project, tmp_path)
    # As for an installed microlib (tests/codegen/test_typing.py's project, whose options and
    # cache this run shares): the user's project sees only its typed surface.
    shutil.copytree(ROOT / "microlib", copy / "microlib", ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "mypy.ini").write_text("[mypy]\n\n[mypy-microlib.*]\nfollow_imports = silent\n")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", f"--cache-dir={mypy_cache / 'user-project'}", "app"],
        cwd=copy, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_drift_names_a_job_the_handlers_lack(project: Path, tmp_path: Path) -> None:
    """A job added to the contract is reported missing from the handlers, with its line."""
    copy = _copy(project, tmp_path)
    contract = copy / "contracts" / "shop-jobs.yaml"
    contract.write_text(
        contract.read_text(encoding="utf-8") + "  purge_carts:\n    payload: {type: object}\n",
        encoding="utf-8",
    )
    check = _check(copy)
    assert check.returncode == 1
    assert "stale: app/gen/shop_jobs/jobs.py" in check.stderr
    assert (
        "ShopJobs.purge_carts: missing, job purge_carts (contracts/shop-jobs.yaml:44) has no method here "
        "(the service refuses to start until it is written); expected: async def purge_carts(self, "
        "payload: models.PurgeCartsPayload, ctx: JobContext) -> None:"
    ) in check.stderr


def test_drift_names_changed_annotations_and_removed_jobs(project: Path, tmp_path: Path) -> None:
    """The stub's payload or result annotated with another model, a method of a job the
    contract dropped: each one line with the signature the contract expects, as for the
    other contracts' stubs."""
    copy = _copy(project, tmp_path)
    stub = copy / "app" / "handlers" / "shop_jobs.py"
    text = stub.read_text(encoding="utf-8")
    text = text.replace(
        "payload: models.SendReceiptPayload, ctx: JobContext",
        "payload: models.RestockReportPayload, ctx: JobContext",
    ).replace(") -> models.SendReceiptResult:", ") -> None:")
    text += (
        "\n    async def purge_carts(self, payload: models.RestockReportPayload, ctx: JobContext) -> None:\n"
        "        return None\n"
    )
    stub.write_text(text, encoding="utf-8")
    result = _check(copy)
    expected = (
        "expected: async def send_receipt(self, payload: models.SendReceiptPayload, ctx: JobContext) "
        "-> models.SendReceiptResult:"
    )
    payload, returns = [line for line in result.stderr.splitlines() if "ShopJobs.send_receipt" in line]
    assert "ShopJobs.send_receipt: payload is annotated models.RestockReportPayload; " in payload
    assert "ShopJobs.send_receipt: returns None; " in returns
    assert payload.endswith(expected)
    assert returns.endswith(expected)
    assert (
        "ShopJobs.purge_carts: not a job of shop.jobs any more (removed or renamed in the contract)"
        in result.stderr
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("jobs:\n  x: {}\n", "bad-jobs.yaml:1: name: required"),
        (
            "name: a.jobs\njobs:\n  Bad-Name: {}\n",
            "bad-jobs.yaml:4: jobs.Bad-Name: a job's name is lower case letters, digits and underscores",
        ),
        (
            "name: a.jobs\njobs:\n  x:\n    scheduel: {}\n",
            "yaml:5: jobs.x.scheduel: unknown key (did you mean 'schedule'?); the keys are description,",
        ),
        (
            "name: a.jobs\njobs:\n  x:\n    schedule: {cron: '* *'}\n",
            "bad-jobs.yaml:5: jobs.x.schedule.cron: '* *' needs 5 fields",
        ),
        (
            "name: a.jobs\njobs:\n  x:\n    schedule: {cron: '* * * * *', interval: 5}\n",
            "bad-jobs.yaml:5: jobs.x.schedule: needs exactly one of cron and interval",
        ),
        (
            # It was datamodel-code-generator's `$ref file not found: /tmp/tmpXXXX/schemas.yaml`.
            "name: a.jobs\njobs:\n  x:\n    payload:\n      type: object\n      properties:\n"
            "        line: {$ref: 'schemas.yaml#/Line'}\n",
            "bad-jobs.yaml:8: jobs.x.payload.properties.line: $ref 'schemas.yaml#/Line' is not supported "
            "in a jobs contract: write the schema here",
        ),
        (
            "name: a.jobs\njobs:\n  x:\n    result:\n      anyOf: [{type: string}, {$ref: '#/x'}]\n",
            "bad-jobs.yaml:6: jobs.x.result.anyOf[1]: $ref '#/x' is not supported",
        ),
        # A syntax error, and values of the wrong type or out of range: each was a traceback
        # from codegen, or from the generated code's import when the service started.
        ("name: a.jobs\njobs:\n  x\n    queue: q\n", "bad-jobs.yaml:5:10: invalid YAML/JSON: mapping values"),
        (
            "name: a.jobs\njobs:\n  x:\n    priority: high\n",
            "bad-jobs.yaml:5: jobs.x.priority: an integer from 0 to 9, not 'high'",
        ),
        (
            "name: a.jobs\njobs:\n  x:\n    priority: 12\n",
            "yaml:5: jobs.x.priority: an integer from 0 to 9, not 12",
        ),
        (
            "name: a.jobs\ndefaults:\n  timeout: soon\njobs:\n  x: {}\n",
            "bad-jobs.yaml:4: defaults.timeout: a number of seconds above 0, not 'soon'",
        ),
        (
            "name: a.jobs\njobs:\n  x:\n    retry: {max_attempts: 0}\n",
            "bad-jobs.yaml:5: jobs.x.retry.max_attempts: an integer of at least 1, not 0",
        ),
        (
            "name: a.jobs\njobs:\n  x:\n    retry: 5\n",
            "bad-jobs.yaml:5: jobs.x.retry: a mapping, of the keys max_attempts, initial_backoff,",
        ),
        # A misspelt key is named, not only the keys there are.
        (
            "name: a.jobs\ndefaults:\n  retry: {max_atempts: 2}\njobs:\n  x: {}\n",
            "bad-jobs.yaml:4: defaults.retry.max_atempts: unknown key (did you mean 'max_attempts'?);",
        ),
        (
            "name: a.jobs\njobs:\n  x:\n    schedule: {cron: '0 3 * * *', timezon: UTC}\n",
            "bad-jobs.yaml:5: jobs.x.schedule.timezon: unknown key (did you mean 'timezone'?); the keys",
        ),
        (
            "name: a.jobs\njobs:\n  x:\n    schedule: {interval: often}\n",
            "bad-jobs.yaml:5: jobs.x.schedule.interval: a number of seconds above 0, not 'often'",
        ),
        (
            "name: a.jobs\njobs:\n  x:\n    schedule: {interval: 60, overlap: skp}\n",
            "bad-jobs.yaml:5: jobs.x.schedule.overlap: allow or skip, not 'skp'",
        ),
        ("name: a.jobs\ndefaults: 3\njobs:\n  x: {}\n", "bad-jobs.yaml:3: defaults: a mapping"),
        # A key under defaults was ignored without a word: every job ran with the built-in retry.
        (
            "name: a.jobs\ndefaults:\n  retyr: {max_attempts: 9}\njobs:\n  x: {}\n",
            "bad-jobs.yaml:4: defaults.retyr: unknown key (did you mean 'retry'?); the keys are queue,",
        ),
        (
            "name: a.jobs\ndefaults:\n  schedule: {interval: 60}\njobs:\n  x: {}\n",
            "bad-jobs.yaml:4: defaults.schedule: unknown key; the keys are queue, priority, retry, timeout",
        ),
        (
            "name: a.jobs\nversoin: 1\njobs:\n  x: {}\nowner: ann\n",
            "bad-jobs.yaml:3: versoin: unknown key (did you mean 'version'?) (and owner); the keys are",
        ),
    ],
)
def test_a_contract_mistake_names_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    """Each mistake is one line: file:line: its path in the contract: what is wrong."""
    contract = tmp_path / "bad-jobs.yaml"
    contract.write_text('microlib-jobs: "1.0"\n' + text, encoding="utf-8")
    result = codegen(contract, "--out", tmp_path / "gen", cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
