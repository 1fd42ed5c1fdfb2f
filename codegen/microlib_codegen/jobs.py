"""A jobs contract (``jobs.yaml``, docs/jobs.md) -> payload models, handler Protocol, enqueuer.

``render`` returns the DO-NOT-EDIT package of one contract (``models.py``
from datamodel-code-generator, as for OpenAPI; ``jobs.py`` with the
``JobsDefinition``, the handler Protocol and the typed enqueuer);
``render_stub`` the user's handler module, written once (``drift.jobs_drift``
says how an existing one no longer matches). The same contract always
gives the same bytes.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from microlib_codegen._bundle import Bundled, BundleError, Path_, read_alone, walk_nodes
from microlib_codegen._openapi_ops import pascal, snake
from microlib_codegen._pydantic_models import generated_header, note_lines, schema_models
from microlib_codegen._pyfmt import docstring, ruff_format
from microlib_codegen._schema_keywords import misspelt_in_schemas
from microlib_codegen.errors import CodegenError, meant

__all__ = [
    "JobSpec",
    "JobsContract",
    "handler_signature",
    "load",
    "payload_type",
    "render",
    "render_stub",
    "result_type",
]

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_RETRY_KEYS = ("max_attempts", "initial_backoff", "max_backoff", "multiplier", "jitter")
_JOB_KEYS = ("description", "payload", "result", "queue", "priority", "retry", "timeout", "schedule")
_DEFAULT_KEYS = ("queue", "priority", "retry", "timeout")  # what every job may share
_SCHEDULE_KEYS = ("cron", "timezone", "interval", "payload", "overlap")
_OVERLAPS = ("allow", "skip")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# What each number of a job must be, as microlib.jobs checks it when the generated code is
# imported: here a mistake is named with its line, before any code is written.
_NUMBERS: dict[str, tuple[str, Any]] = {
    "priority": ("an integer from 0 to 9", lambda v: _is_integer(v) and 0 <= v <= 9),
    "timeout": ("a number of seconds above 0", lambda v: _is_number(v) and v > 0),
    "retry.max_attempts": ("an integer of at least 1", lambda v: _is_integer(v) and v >= 1),
    "retry.initial_backoff": ("a number of seconds, 0 or more", lambda v: _is_number(v) and v >= 0),
    "retry.max_backoff": ("a number of seconds, 0 or more", lambda v: _is_number(v) and v >= 0),
    "retry.multiplier": ("a number of at least 1", lambda v: _is_number(v) and v >= 1),
    "retry.jitter": ("a number from 0 to 1", lambda v: _is_number(v) and 0 <= v <= 1),
    "schedule.interval": ("a number of seconds above 0", lambda v: _is_number(v) and v > 0),
}


@dataclass(frozen=True, slots=True)
class JobSpec:
    """One job as the contract declares it, with where."""

    name: str
    description: str
    payload: dict[str, Any]
    result: dict[str, Any] | None
    queue: str
    priority: int
    retry: dict[str, float]
    timeout: float | None
    schedule: dict[str, Any] | None
    line: int
    schedule_line: int


@dataclass(frozen=True, slots=True)
class JobsContract:
    """A jobs contract: its name, version and jobs in order."""

    name: str
    version: str
    jobs: tuple[JobSpec, ...]
    source: str

    @property
    def stem(self) -> str:
        """The protocol's name stem: ``bookshop.jobs`` -> ``BookshopJobs``."""
        return pascal(self.name.replace(".", "_")) or "Jobs"


def load(path: Path, source: str) -> JobsContract:
    """Read and check a jobs contract.

    Raises:
        CodegenError: naming the file, line and path in the document of the first mistake found.
    """
    return _read(path, source)[0]


def _read(path: Path, source: str) -> tuple[JobsContract, Bundled]:
    try:
        doc = read_alone(path)
    except BundleError as exc:
        raise CodegenError(str(exc)) from None
    data = doc.document
    if not isinstance(data, dict):
        raise CodegenError(doc.located((), "a jobs contract is a mapping"))
    _known_keys(doc, (), data, ("microlib-jobs", "name", "version", "defaults", "jobs"))
    name, version = data.get("name"), str(data.get("version", "0.0.0"))
    if not isinstance(name, str) or not re.match(r"^[a-z][a-z0-9_.-]*$", name):
        raise CodegenError(doc.located(("name",), "required, lower case (e.g. bookshop.jobs)"))
    defaults = data.get("defaults") or {}
    _known_keys(doc, ("defaults",), defaults, _DEFAULT_KEYS)
    jobs_data = data.get("jobs")
    if not isinstance(jobs_data, dict) or not jobs_data:
        raise CodegenError(doc.located(("jobs",), "required, a mapping of job names"))
    specs = [_job(doc, job, spec, defaults) for job, spec in jobs_data.items()]
    return JobsContract(name, version, tuple(specs), source), doc


def _known_keys(doc: Bundled, at: Path_, value: Any, known: tuple[str, ...]) -> None:
    """Fail unless ``value``, at ``at``, is a mapping of ``known`` keys only."""
    if not isinstance(value, dict):
        raise CodegenError(doc.located(at, f"a mapping, of the keys {', '.join(known)}"))
    unknown = [key for key in value if key not in known]  # in the document's order
    if unknown:
        others = f" (and {', '.join(unknown[1:])})" if unknown[1:] else ""
        wrong = f"unknown key{meant(unknown[0], known)}{others}; the keys are {', '.join(known)}"
        raise CodegenError(doc.located((*at, unknown[0]), wrong))


def _job(doc: Bundled, name: str, spec: Any, defaults: dict[str, Any]) -> JobSpec:
    at: Path_ = ("jobs", name)
    if not _NAME.match(name):
        raise CodegenError(doc.located(at, "a job's name is lower case letters, digits and underscores"))
    if not isinstance(spec, dict):
        raise CodegenError(doc.located(at, "a job is a mapping of its keys"))
    _known_keys(doc, at, spec, _JOB_KEYS)
    for key in ("payload", "result"):
        # The models are generated from the schemas alone, away from the contract's folder: a
        # ``$ref`` failed there naming a temporary file.
        for where, node in walk_nodes(spec.get(key), (*at, key)):
            if isinstance(node, dict) and isinstance(node.get("$ref"), str):
                wrong = f"$ref {node['$ref']!r} is not supported in a jobs contract: write the schema here"
                raise CodegenError(doc.located(where, wrong))
    payload = spec.get("payload", {"type": "object"})
    if not isinstance(payload, dict) or payload.get("type", "object") != "object":
        raise CodegenError(doc.located((*at, "payload"), "must be an object schema"))

    def number(key: str, value: Any, where: Path_) -> Any:
        wanted, fits = _NUMBERS[key]
        if not fits(value):
            raise CodegenError(doc.located(where, f"{wanted}, not {value!r}"))
        return value

    def setting(key: str, default: Any) -> tuple[Any, Path_]:
        """The job's value of ``key``, else the contract's default, with where it is written."""
        for values, where in ((spec, at), (defaults, ("defaults",))):
            if key in values:
                return values[key], (*where, key)
        return default, at

    retry: dict[str, Any] = {}
    for values, where in ((defaults, ("defaults", "retry")), (spec, (*at, "retry"))):
        given = values.get("retry") or {}
        _known_keys(doc, where, given, _RETRY_KEYS)
        retry.update({key: number(f"retry.{key}", value, (*where, key)) for key, value in given.items()})
    schedule = spec.get("schedule")
    scheduled: Path_ = (*at, "schedule")
    if schedule is not None:
        _known_keys(doc, scheduled, schedule, _SCHEDULE_KEYS)
        if ("cron" in schedule) == ("interval" in schedule):
            raise CodegenError(doc.located(scheduled, "needs exactly one of cron and interval"))
        cron = schedule.get("cron")
        if cron is not None and len(str(cron).split()) not in (5, 6):
            raise CodegenError(doc.located((*scheduled, "cron"), f"{cron!r} needs 5 fields (6 with seconds)"))
        if "interval" in schedule:
            number("schedule.interval", schedule["interval"], (*scheduled, "interval"))
        overlap = schedule.get("overlap", "allow")
        if overlap not in _OVERLAPS:
            raise CodegenError(doc.located((*scheduled, "overlap"), f"allow or skip, not {overlap!r}"))
    timeout, timeout_at = setting("timeout", None)
    if timeout is not None:  # null: no limit, over a default
        number("timeout", timeout, timeout_at)
    return JobSpec(
        name=name,
        description=str(spec.get("description", "")).strip(),
        payload=payload,
        result=spec.get("result"),
        queue=str(spec.get("queue", defaults.get("queue", "default"))),
        priority=number("priority", *setting("priority", 0)),
        retry={k: float(v) if k != "max_attempts" else int(v) for k, v in sorted(retry.items())},
        timeout=None if timeout is None else float(timeout),
        schedule=schedule,
        line=doc.where(at)[1],
        schedule_line=doc.where(scheduled)[1],
    )


def handler_signature(job: JobSpec) -> str:
    """The ``async def`` line of ``job``'s handler, as the stub has it."""
    payload = payload_type(job)
    return f"async def {snake(job.name)}(self, payload: {payload}, ctx: JobContext) -> {result_type(job)}:"


def payload_type(job: JobSpec) -> str:
    """The annotation of ``job``'s payload in the stub."""
    return f"models.{pascal(job.name)}Payload"


def _schemas(contract: JobsContract) -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for job in contract.jobs:
        schemas[f"{pascal(job.name)}Payload"] = job.payload
        if job.result is not None:
            schemas[f"{pascal(job.name)}Result"] = job.result
    return schemas


def _origins(contract: JobsContract) -> dict[str, Path_]:
    """Where in the contract each model of :func:`_schemas` is written."""
    origins: dict[str, Path_] = {}
    for job in contract.jobs:
        origins[f"{pascal(job.name)}Payload"] = ("jobs", job.name, "payload")
        origins[f"{pascal(job.name)}Result"] = ("jobs", job.name, "result")
    return origins


def result_type(job: JobSpec) -> str:
    """The return annotation of ``job``'s handler in the stub."""
    return f"models.{pascal(job.name)}Result" if job.result is not None else "None"


def render(path: Path, *, source_name: str, warnings: list[str] | None = None) -> dict[str, str]:
    """The generated package of the contract at ``path``: file name -> text.

    ``warnings`` receives ``file:line: path.in.contract: what`` for what the
    payload and result models leave out.

    Raises:
        CodegenError: the contract is invalid, naming file and line.
    """
    contract, doc = _read(path, source_name)
    header = generated_header(source_name, hashlib.sha256(path.read_bytes()).hexdigest())
    schemas, origins = _schemas(contract), _origins(contract)
    models, notes = schema_models(schemas, title=contract.name, version=contract.version, source=source_name)
    if warnings is not None:
        warnings.extend(note_lines(notes, source_name, doc, origins, ("jobs",)))
        warnings.extend(misspelt_in_schemas(schemas, origins, doc))
    models = f"{header}\n{models}"
    files = {
        "__init__.py": f'{header}\n"""Generated code of {source_name}."""\n',
        "models.py": models,
        "jobs.py": _jobs_module(contract, header),
    }
    return ruff_format(files)


def _jobs_module(contract: JobsContract, header: str) -> str:
    protocol, enqueuer = f"{contract.stem}Handlers", f"{contract.stem}Enqueuer"
    out = [
        header,
        docstring(
            f"The jobs of {contract.name} {contract.version}: definition, handler Protocol, enqueuer.\n\n"
            f"Implement ``{protocol}`` (``microlib codegen`` writes a stub once) and pass it to "
            f"``service.include``; enqueue through ``{enqueuer}(service.jobs)``.",
            0,
        ),
        "",
        "from __future__ import annotations",
        "",
        "import datetime",
        "from dataclasses import replace",
        "from typing import Any, Protocol",
        "",
        "from microlib.core.errors import Unimplemented",
        "from microlib.jobs import (",
        "    JOB_RETRY, JobContext, JobDefinition, JobHandle, JobsDefinition, Schedule,",
        ")",
        "",
        "from . import models",
        "",
        f'__all__ = ["DEFINITION", {enqueuer!r}, {protocol!r}]'.replace("'", '"'),
        "",
        "",
        f"class {protocol}(Protocol):",
        f'    """Handlers of {contract.name}: one method per job."""',
    ]
    for job in contract.jobs:
        out += [
            "",
            f"    {handler_signature(job)}",
            f"        {docstring(job.description or f'Run job {job.name}.', 8)}",
            f'        raise Unimplemented("job {job.name} is not implemented")',
        ]
    out += [
        "",
        "",
        "DEFINITION = JobsDefinition(",
        f"    name={contract.name!r},",
        f"    version={contract.version!r},",
    ]
    out += [f"    handler_protocol={protocol},", f"    source={contract.source!r},", "    jobs={"]
    for job in contract.jobs:
        where = f"{contract.source}:{job.line}"
        out += [
            f"        {job.name!r}: JobDefinition(",
            f"            name={job.name!r},",
            f"            python_name={snake(job.name)!r},",
            f"            payload_type=models.{pascal(job.name)}Payload,",
            f"            result_type={result_type(job)},",
            f"            queue={job.queue!r},",
            f"            retry={_retry(job.retry)},",
            f"            timeout={job.timeout!r},",
            f"            priority={job.priority!r},",
            f"            schedule={_schedule(contract, job)},",
            f"            source={where!r},",
            f"            contract={contract.name!r},",
            "        ),",
        ]
    out += ["    },", ")", f"{protocol}.__microlib_jobs__ = DEFINITION  # type: ignore[attr-defined]", "", ""]
    out += [
        f"class {enqueuer}:",
        f'    """Typed enqueues of {contract.name}\'s jobs.',
        "",
        "    Args:",
        "        jobs: The service's jobs (``service.jobs``).",
        '    """',
        "",
        "    def __init__(self, jobs: Any) -> None:",
        "        self._jobs = jobs",
    ]
    for job in contract.jobs:
        result = f"models.{pascal(job.name)}Result" if job.result is not None else "None"
        out += [
            "",
            f"    async def {snake(job.name)}(",
            "        self,",
            f"        payload: models.{pascal(job.name)}Payload,",
            "        *,",
            "        delay: float | datetime.timedelta | None = None,",
            "        eta: datetime.datetime | None = None,",
            "        idempotency_key: str | None = None,",
            f"    ) -> JobHandle[{result}]:",
            f'        """Queue job ``{job.name}`` (queue ``{job.queue}``)."""',
            "        handle: JobHandle[" + result + "] = await self._jobs.enqueue(",
            f"            DEFINITION.jobs[{job.name!r}],",
            "            payload,",
            "            delay=delay,",
            "            eta=eta,",
            "            idempotency_key=idempotency_key,",
            "        )",
            "        return handle",
        ]
    return "\n".join(out) + "\n"


def _schedule(contract: JobsContract, job: JobSpec) -> str:
    if job.schedule is None:
        return "None"
    s = job.schedule
    where = f"{contract.source}:{job.schedule_line}"
    parts = [f"cron={s['cron']!r}" if "cron" in s else f"interval={float(s['interval'])!r}"]
    parts.append(f"timezone={str(s.get('timezone', 'UTC'))!r}")
    parts.append(f"payload={dict(s.get('payload') or {})!r}")
    if s.get("overlap", "allow") != "allow":  # the default left out: earlier contracts' code is unchanged
        parts.append(f"overlap={s['overlap']!r}")
    parts.append(f"source={where!r}")
    return f"Schedule({', '.join(parts)})"


def stub_name(contract: JobsContract) -> str:
    """The user's module for ``contract``: ``bookshop_jobs.py``."""
    return f"{snake(contract.name.replace('.', '_'))}.py"


def render_stub(path: Path, *, source_name: str, gen_package: str) -> tuple[str, str]:
    """The user's handler module (name, text), written once."""
    contract = load(path, source_name)
    protocol = f"{contract.stem}Handlers"
    lines = [
        docstring(
            f"Handlers of the {contract.name} jobs.\n\n"
            "Written once by ``microlib codegen``; this file is yours, it is never overwritten.",
            0,
        ),
        "",
        "from __future__ import annotations",
        "",
        "from microlib.core.errors import Unimplemented",
        "from microlib.jobs import JobContext",
        "",
        f"from {gen_package} import models",
        f"from {gen_package}.jobs import {protocol}",
        "",
        "",
        f"class {contract.stem}({protocol}):",
        f'    """Runs the {contract.name} jobs."""',
    ]
    for job in contract.jobs:
        lines += [
            "",
            f"    {handler_signature(job)}",
            f'        raise Unimplemented("job {job.name} is not implemented yet")',
        ]
    text = "\n".join(lines) + "\n"
    return stub_name(contract), ruff_format({"stub.py": text})["stub.py"]


def _retry(given: dict[str, float]) -> str:
    """The job's policy: the contract's keys over ``JOB_RETRY``'s."""
    if not given:
        return "JOB_RETRY"
    return f"replace(JOB_RETRY, {', '.join(f'{k}={v!r}' for k, v in given.items())})"
