"""The user's job handlers: finding their contract, checking them, calling them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticSerializationError, to_json

from microlib.core._formats import FormatPlan, format_plan
from microlib.core._strict_json import contract_json
from microlib.core._violations import document_violations
from microlib.core.context import CallContext
from microlib.core.errors import ContractMismatch, FieldViolation, InvalidArgument
from microlib.core.handler_shape import handler_methods, payload_problem
from microlib.jobs.definition import JobDefinition, JobsDefinition

__all__ = ["JobContext", "check_handlers", "definition_of", "validate_payload"]


@dataclass(frozen=True, slots=True)
class JobContext:
    """One run of a job, as its handler sees it (the payload is the first argument).

    Args:
        job: The job's definition.
        id: The job's id: the same across retries and replays.
        attempt: 1 for the first run.
        enqueued_at: Unix time of the first enqueue.
        tick: For a scheduled run, the Unix time of its tick.
        call: The chain's context of this run.
    """

    job: JobDefinition
    id: str
    attempt: int
    enqueued_at: float
    tick: float | None
    call: CallContext


def definition_of(handlers: object) -> JobsDefinition | None:
    """The jobs contract ``handlers`` implements, if it implements one."""
    found = getattr(type(handlers), "__microlib_jobs__", None)
    return found if isinstance(found, JobsDefinition) else None


def check_handlers(definition: JobsDefinition, handlers: object) -> None:
    """Refuse a handler class that drifted from its contract, at start rather than at the first run.

    Raises:
        ContractMismatch: naming the class and each problem: a job it lacks
            (with where the contract declares it), a handler whose payload
            is annotated with other types than the job's model, a handler of
            a job the contract no longer has.
    """
    cls = type(handlers)
    protocol = definition.handler_protocol
    missing, problems = [], []
    for job in definition.jobs.values():
        method = getattr(handlers, job.python_name, None)
        named = f"{job.python_name} (job {job.name}, {job.source or definition.source})"
        # The Protocol's own method only raises Unimplemented: inheriting it
        # means the implementation forgot the job.
        inherited = getattr(cls, job.python_name, None) is getattr(protocol, job.python_name, None)
        if not callable(method) or inherited:
            missing.append(named)
            continue
        wrong = payload_problem(method, {job.payload_type})
        if wrong:
            problems.append(f"{named}: {wrong}")
    if missing:
        problems.insert(0, f"lack method(s): {', '.join(missing)}")
    expected = {job.python_name for job in definition.jobs.values()}
    for name in sorted(handler_methods(cls, protocol) - expected):
        problems.append(
            f"{name} runs no job of {definition.name} any more (removed or renamed in the contract)"
        )
    if problems:
        raise ContractMismatch(
            f"job handlers {cls.__qualname__} for {definition.name}: {'; '.join(problems)}"
        )


def validate_payload(job: JobDefinition, payload: Any) -> Any:
    """``payload`` as an instance of the job's payload model, held to the rules of a
    contract's JSON on every door: strict JSON types (``"4"`` is not an integer) and
    string formats as JSON Schema writes them (``format: email``, ``date``).

    A mapping holding Python values JSON has no type for (a ``datetime``) is
    read as pydantic writes them in JSON (an ISO 8601 string).

    Raises:
        InvalidArgument: naming every bad field (``payload.lines[0].qty``).
    """
    model = job.payload_type
    if not issubclass(model, BaseModel):
        return payload if isinstance(payload, model) else model(**payload)
    plan = format_plan(model)
    if isinstance(payload, model):
        value, violations = payload, []
        if plan is not None:
            violations = plan.violations(payload.model_dump(mode="json", by_alias=True), "payload")
    else:
        value, violations = _validated(model, payload, plan)
    if violations:
        raise _invalid(job, violations)
    return value


def _validated(
    model: type[BaseModel], payload: Any, plan: FormatPlan | None
) -> tuple[Any, list[FieldViolation]]:
    try:
        # pydantic-core writes it in a fifth of json.dumps's time (a job's whole budget is ~30 µs).
        raw = to_json(payload)
    except PydanticSerializationError:
        # Values pydantic cannot write: validated as Python.
        try:
            value = model.model_validate(payload)
        except ValidationError as exc:
            return None, document_violations(exc, payload, "payload")
        return value, [] if plan is None else plan.violations(payload, "payload")
    return contract_json(model.__pydantic_validator__, plan, raw, "payload", document=payload)


def _invalid(job: JobDefinition, violations: list[FieldViolation]) -> InvalidArgument:
    # Every field with what is wrong with it: a dead letter keeps only this text.
    fields = "; ".join(f"{v.field}: {v.description}" for v in violations)
    return InvalidArgument(f"invalid payload for job {job.name}: {fields}", violations=violations)


Handler = Callable[[Any, JobContext], Awaitable[Any]]
"""A bound handler method: ``await handler(payload, ctx)``."""
