"""The AsyncAPI specification's own examples (tests/messaging/asyncapi_examples/, README.md there
names their source), as a newcomer would bring them: generated in one `microlib codegen` run,
type-checked as the user's code is, and each served on the memory broker."""

from __future__ import annotations

import importlib
import keyword
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from microlib import Service
from microlib.testing import TestService
from tests.codegen.conftest import ROOT, Generated, generated_with_stubs

EXAMPLES = Path(__file__).resolve().parent / "asyncapi_examples"
# Each document's package: not.yaml generates `not_`.
NAMES = sorted(
    f"{n}_" if keyword.iskeyword(n) else n
    for n in (p.stem.replace("-", "_") for p in EXAMPLES.glob("*.yaml"))
)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Generated]:
    """Every example generated once into ``gen_examples``, with its stubs in ``stubs_examples``."""
    root = tmp_path_factory.mktemp("asyncapi_examples")
    with generated_with_stubs(root, EXAMPLES, ("gen_examples", "stubs_examples")) as done:
        yield done


def test_every_warning_names_its_file_and_line(generated: Generated) -> None:
    """operation-security's `deprecated: {type: boolean, default: 'false'}` was reported as
    `operation-security.yaml: MetaData.properties...`, a path in microlib's models with no line;
    it is the schema's line and its path in the document, as every other warning."""
    warnings = [line for line in generated.stderr.splitlines() if line.startswith("warning: ")]
    unlocated = [
        w
        for w in warnings
        if not re.match(r"warning: tests/messaging/asyncapi_examples/[\w-]+\.yaml:\d+: ", w)
    ]
    assert unlocated == []
    assert (
        "warning: tests/messaging/asyncapi_examples/operation-security.yaml:69: "
        "components.schemas.MetaData.properties.deprecated.default: default 'false' is not of its type "
        "boolean: left out of the model"
    ) in warnings
    # mqtt, https, mercure and wss servers: reported at their line, their operations generated.
    assert set(re.findall(r"no microlib broker speaks (\w+) ", generated.stderr)) == {
        "mqtt",
        "https",
        "mercure",
        "wss",
    }


def test_the_generated_code_and_stubs_pass_mypy_strict(generated: Generated, mypy_cache: Path) -> None:
    """kraken's `ratecounter: {$ref: ratecounter}`, a `{type: boolean, default: false}`, was the
    field `Annotated[Ratecounter | None, Field(validate_default=True)] = False`: pydantic made the
    False a Ratecounter, but mypy --strict refused the package."""
    proc = subprocess.run(
        [
            sys.executable, "-m", "mypy", "--strict", "--config-file", str(ROOT / "pyproject.toml"),
            f"--cache-dir={mypy_cache / 'pyproject'}", "gen_examples", "stubs_examples",
        ],
        cwd=generated.root, capture_output=True, text=True, timeout=600, check=False,
        env={"PYTHONPATH": f"{ROOT}:{generated.root}", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # The subscription left at its defaults holds the models its fields declare, as it did.
    models = importlib.import_module("gen_examples.kraken_websocket_request_reply_multiple_channels.models")
    subscription = models.Subscription(name=models.Name("book"))
    assert (subscription.ratecounter, subscription.snapshot) == (
        models.Ratecounter(False),
        models.Snapshot(True),
    )
    assert subscription.model_dump(mode="json", exclude_unset=True) == {"name": "book"}


@pytest.mark.parametrize("name", NAMES)
async def test_each_starts_on_the_memory_broker_with_its_stubs_and_publishers(
    generated: Generated, name: str
) -> None:
    """Its untouched stubs included and its publishers made, the service is ready; a server of a
    protocol no broker speaks does not stop it (its operations run on messaging.url's broker)."""
    package = importlib.import_module(f"gen_examples.{name}")
    service = Service("examples")
    handlers = generated.root / "stubs_examples" / f"{name}_handlers.py"
    if handlers.exists():
        stubs = importlib.import_module(f"stubs_examples.{name}_handlers")
        (implementation,) = [getattr(stubs, n) for n in stubs.__all__]
        service.include(implementation())
    publishers = [getattr(package, n) for n in package.__all__ if n.endswith("Publisher")]
    made = [publisher(service.publisher) for publisher in publishers]
    assert made or handlers.exists()
    async with TestService(service) as t:
        assert (await t.http.get("/health/ready")).status_code == 200
