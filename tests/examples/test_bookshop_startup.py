"""What a service has loaded once it is ready (issue 19's start-to-ready target).

The processes are ``bench/startup/to_ready.py``'s, the ones ``instructions.py``
counts: ``microlib run examples.bookshop.main:service`` (``microlib``) and the
one-route HTTP service (``microlib-http``), stopped the moment they are ready.
Each assertion pins work that was taken off the start, or a concern the
configuration selects that must still load, and be checked, before ready.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# to_ready.py leaves through os._exit at ready: report there what the process holds.
_AT_READY = """
import json, os, sys
sys.path.insert(0, "bench/startup")
import to_ready
exit_now = os._exit
def report(code):
    protobuf = sys.modules.get("examples.bookshop.gen._messages.google.protobuf")
    messages = sorted(protobuf.__all__) if protobuf else []
    print(json.dumps({"modules": sorted(sys.modules), "protobuf_messages": messages}))
    sys.stdout.flush()
    exit_now(code)
os._exit = report
sys.argv = ["to_ready.py", sys.argv[1]]
to_ready.main()
"""

# Modules of concerns neither process configures: broker adapters and drivers, data,
# OTLP exporters, protovalidate, authentication, PyYAML (no YAML file is read), Prometheus'
# multi-process mode (no directory set), difflib (no configuration error to suggest a key for),
# pydantic's URL types (only codegen checks a URI default), anyio's backend (no document
# rendered in a worker thread before its first request), the secret stores (no
# ${secret:...} reference in the configuration), the config file watcher (no file to watch),
# the TLS and JWKS file checks (no certificate, key or key set file configured),
# Starlette's CORS middleware (no allowed origin), the log-level endpoint (logging.admin off)
# and the multipart reader (the orders API takes JSON; a multipart body loads it at the first).
_UNCONFIGURED = (
    "aio_pika",
    "aiokafka",
    "redis",
    "microlib.messaging.rabbit",
    "microlib.messaging.kafka",
    "microlib.messaging.redis",
    "microlib.messaging.outbox",
    "taskiq",
    "sqlalchemy",
    "asyncpg",
    "microlib.data.database",
    "microlib.data.redis_cache",
    "opentelemetry.exporter",
    "protovalidate",
    "jwt",
    "microlib.security.authn",
    "yaml",
    "h11",
    "prometheus_client.multiprocess",
    "difflib",
    "pydantic.networks",
    "anyio._backends._asyncio",
    "microlib.security.secrets",
    "microlib.config._watch",
    "microlib.config._tls",
    "microlib.config.jwks",
    "starlette.middleware.cors",
    "microlib.http.log_levels",
    "microlib.http._multipart",
)


@functools.cache
def _at_ready(name: str) -> dict[str, list[str]]:
    command = [sys.executable, "-c", _AT_READY, name]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    report: dict[str, list[str]] = json.loads(result.stdout.strip().splitlines()[-1])
    return report


def _loaded(name: str, modules: tuple[str, ...]) -> list[str]:
    """Which of ``modules`` (or a submodule of one) ``name`` has loaded at ready."""
    at_ready = _at_ready(name)["modules"]
    return [m for m in modules if any(n == m or n.startswith(m + ".") for n in at_ready)]


def test_ready_without_unreached_messages() -> None:
    """The messages of `google/protobuf/descriptor.proto` and `google/api`, imported by the
    contract for its options only, are not generated, so not built at start."""
    report = _at_ready("microlib")
    assert report["protobuf_messages"] == ["Timestamp"]
    assert "examples.bookshop.gen._messages.google.api" not in report["modules"]


@pytest.mark.parametrize("name", ["microlib", "microlib-http"])
def test_unconfigured_concerns_are_not_imported(name: str) -> None:
    assert _loaded(name, _UNCONFIGURED) == []


def test_http_service_imports_no_other_concern() -> None:
    """One route and the default chain: no gRPC, messaging, jobs or data, no OpenAPI
    operation, so neither its error shapes nor the check of its security; nothing included,
    so neither the OpenAPI documents' registry nor the generated code's manifest check."""
    concerns = (
        "grpc",
        "google.protobuf",
        "betterproto2",
        "croniter",
        "email_validator",
        "microlib.grpc.server",
        "microlib.messaging.runtime",
        "microlib.jobs.feature",
        "microlib.data",
        "microlib.http.openapi",
        "microlib.http._error_shapes",
        "microlib.http.docs",
        "microlib.http.transcoding",
        "microlib.security.enforcement",
        "microlib.http.included",
        "microlib.core._manifest",
    )
    assert _loaded("microlib-http", concerns) == []


def test_example_configures_its_concerns_before_ready() -> None:
    """What the example's configuration selects is imported, and so checked, before ready:
    the gRPC server with reflection and health, the embedded broker, the jobs' scheduler and
    its cron parser, the OpenAPI app and the check of its security."""
    configured = (
        "microlib.grpc.server",
        "grpc_reflection",
        "grpc_health",
        "microlib.messaging.memory",
        "microlib.jobs.scheduler",
        "croniter",
        "microlib.http.openapi",
        "microlib.security.enforcement",
    )
    assert _loaded("microlib", configured) == list(configured)


def test_example_checks_emails_without_email_validator() -> None:
    """The orders model's ``format: email`` is a ``str`` that the format plan checks: neither
    email-validator (its regular expressions, 243M instructions) nor idna loads before ready."""
    assert _loaded("microlib", ("email_validator", "idna")) == []


def test_disabled_security_loads_no_access_rules() -> None:
    """The example installs security and disables it (``security.enabled: false``), and no
    contract it serves declares access rules: the authorizer, the requirements and their
    schemes are never needed, so not loaded before ready (the check that no served operation's
    security goes unenforced still is)."""
    unneeded = ("microlib.security.authz", "microlib.security.requirements", "microlib.security.schemes")
    assert _loaded("microlib", unneeded) == []
    assert _loaded("microlib", ("microlib.security.feature", "microlib.security.enforcement")) == [
        "microlib.security.feature",
        "microlib.security.enforcement",
    ]


def test_problem_json_errors_load_no_error_shapes() -> None:
    """Every error response of the orders API is problem+json, microlib's own format: no
    operation declares an error schema of its own, so the shapes' planner is not loaded."""
    assert _loaded("microlib", ("microlib.http._error_shapes",)) == []


def test_a_configured_broker_fails_the_start() -> None:
    """A broker the configuration selects is imported and connected at start: one that does not
    answer fails the start, it does not wait for the first publish."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "microlib.cli",
            "run",
            "examples.bookshop.main:service",
            *("--set", "http.port=0", "--set", "grpc.port=0", "--set", "messaging.url=amqp://127.0.0.1:1/"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "component 'messaging' failed to start" in result.stderr
