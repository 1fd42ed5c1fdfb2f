"""microlib's pytest plugin: fixtures that start the service under test in-process.

Installed with microlib, it is registered through the ``pytest11`` entry
point, so a project's tests use the fixtures without importing anything::

    async def test_ready(http_client):
        assert (await http_client.get("/health/ready")).status_code == 200

The service under test is found the way ``microlib run`` finds it: the
``microlib_service`` ini option (``module:attribute``), else
``[tool.microlib] service`` in ``pyproject.toml``. The attribute may be a
function returning a new ``Service`` (the projects ``microlib new`` writes
have ``create_service``); when the target's module has ``create_service``
it is used, so every test starts a service of its own. Override the
``microlib_service`` fixture to build it yourself (swapping a component
for a fake), and mark a test ``@pytest.mark.microlib(...)`` to pass
:class:`~microlib.testing.TestService` options (``overrides``, ``files``,
``frozen_time``, ``with_real``, ``listen``, ``environ``).

Only ``pytest`` is imported when the plugin loads: microlib's own modules
are imported by the fixtures, when a test uses one.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import tomllib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

if TYPE_CHECKING:
    import grpc
    import httpx

    from microlib.service import Service
    from microlib.testing.jobs import JobsHarness
    from microlib.testing.messages import Messages
    from microlib.testing.service import TestService
    from microlib.testing.spans import Spans

try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - pytest-asyncio is in microlib's dev and testing extras
    pytest_asyncio = None  # type: ignore[assignment]

__all__ = [
    "grpc_channel",
    "http_client",
    "jobs",
    "logs",
    "messages",
    "microlib_service",
    "running_service",
    "spans",
]

FACTORY = "create_service"
"""The function a target's module may define to build a new Service for each test."""


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "microlib_service",
        "the service under test, module:attribute (a Service or a function returning one); "
        "default: [tool.microlib] service in pyproject.toml",
    )
    parser.addini("microlib_config", "config files the service under test loads", type="paths")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "microlib(**options): TestService options for this test's running_service "
        "(overrides=[...], files=[...], frozen_time=True, with_real=True, listen=True, environ={...})",
    )


@pytest.fixture
def microlib_service(request: pytest.FixtureRequest) -> Service:
    """The Service under test, new for each test (override this fixture to build it yourself)."""
    from microlib.service import Service

    target, source = _target(request.config)
    named = f"{target!r} ({source})"
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        _usage_error(f"{named} must look like 'package.module:attribute'")
    root = str(request.config.rootpath)
    if root not in sys.path:
        sys.path.insert(0, root)
    module = importlib.import_module(module_name)
    if not hasattr(module, attribute):
        _usage_error(f"{named}: module {module_name!r} has no attribute {attribute!r}")
    found = getattr(module, attribute)
    factory = getattr(module, FACTORY, None) if isinstance(found, Service) else found
    if callable(factory):
        found = factory()
    if not isinstance(found, Service):
        _usage_error(f"{named} gives a {type(found).__name__}, not a Service")
    if found in _handed_out:
        _usage_error(
            f"{named} is one Service object, and a Service runs once: name a function "
            f"that builds one (define {FACTORY}() in {module_name}) or override the microlib_service fixture"
        )
    _handed_out.append(found)
    return found


_handed_out: list[Any] = []


def _usage_error(message: str) -> NoReturn:
    """Fail the test with ``message`` alone: pytest reports a UsageError raised in a fixture
    as any other exception, with the plugin's traceback around the message."""
    pytest.fail(message, pytrace=False)


def _target(config: pytest.Config) -> tuple[str, str]:
    """The service under test and where it is named."""
    given = config.getini("microlib_service")
    if isinstance(given, str) and given:
        return given, "the microlib_service ini option"
    pyproject = config.rootpath / "pyproject.toml"
    if pyproject.is_file():
        with pyproject.open("rb") as f:
            target = tomllib.load(f).get("tool", {}).get("microlib", {}).get("service")
        if isinstance(target, str):
            return target, "[tool.microlib] service in pyproject.toml"
    _usage_error(
        "no service under test: set microlib_service = 'module:attribute' in the pytest ini options, "
        "or [tool.microlib] service in pyproject.toml, or override the microlib_service fixture"
    )


def _test_service(request: pytest.FixtureRequest, service: Service) -> TestService:
    from microlib.testing.service import TestService

    marker = request.node.get_closest_marker("microlib")
    options: dict[str, Any] = dict(marker.kwargs) if marker is not None else {}
    configured: list[Path] = list(request.config.getini("microlib_config"))
    options["files"] = [*configured, *options.get("files", ())]
    try:
        return TestService(service, **options)
    except TypeError as exc:
        _usage_error(f"@pytest.mark.microlib: {exc}")


if pytest_asyncio is not None:

    @pytest_asyncio.fixture
    async def running_service(
        request: pytest.FixtureRequest, microlib_service: Service
    ) -> AsyncIterator[TestService]:
        """The service under test, started in-process; stopped after the test."""
        from microlib.config import ConfigError

        async with contextlib.AsyncExitStack() as stack:
            try:
                started = await stack.enter_async_context(_test_service(request, microlib_service))
            except ConfigError as exc:  # the settings' report names each file and line
                _usage_error(str(exc))
            yield started

else:  # pragma: no cover

    @pytest.fixture
    def running_service() -> TestService:
        _usage_error("microlib's fixtures need pytest-asyncio: pip install pytest-asyncio")


@pytest.fixture
def http_client(running_service: TestService) -> httpx.AsyncClient:
    """An httpx client of the running service's HTTP app, in memory (no socket)."""
    return running_service.http


@pytest.fixture
def grpc_channel(running_service: TestService) -> grpc.aio.Channel:
    """A grpc.aio channel to the running service's gRPC server on loopback."""
    return running_service.grpc


@pytest.fixture
def messages(running_service: TestService) -> Messages:
    """Publish to the running service's consumers (in-memory broker); what it published."""
    return running_service.messages


@pytest.fixture
def jobs(running_service: TestService) -> JobsHarness:
    """Run the running service's jobs; with ``@pytest.mark.microlib(frozen_time=True)``, move its clock."""
    return running_service.jobs


@pytest.fixture
def logs(running_service: TestService) -> list[dict[str, Any]]:
    """The log events the running service wrote, as dicts, in order."""
    return running_service.logs


@pytest.fixture
def spans(running_service: TestService) -> Spans:
    """The spans the running service finished."""
    return running_service.spans
