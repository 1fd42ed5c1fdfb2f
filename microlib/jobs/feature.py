"""A service's jobs: the contracts it includes, its queue, worker and scheduler.

``Service.include(handlers)`` hands the handlers here; assembling the
service builds the components from the ``jobs`` section; the generated
enqueuers call :meth:`Jobs.enqueue`. Nothing here imports taskiq: the
production queue is imported only when ``jobs.url`` names a broker.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from microlib.config.model import JobsSettings
from microlib.core.errors import ContractMismatch
from microlib.core.extras import MissingExtra
from microlib.core.propagation import Propagation, job_content
from microlib.jobs.clock import Clock, SystemClock
from microlib.jobs.definition import JobDefinition, JobsDefinition
from microlib.jobs.depth import DeadLetterDepth
from microlib.jobs.envelope import JobEnvelope
from microlib.jobs.handle import JobHandle
from microlib.jobs.handlers import check_handlers, definition_of, validate_payload
from microlib.jobs.memory import MemoryQueue
from microlib.jobs.metrics import JobMetrics
from microlib.jobs.queue import JobQueue
from microlib.jobs.worker import JobWorker, RegisteredJob
from microlib.observability.tracing import Tracing

if TYPE_CHECKING:
    from microlib.core.chain import Chain
    from microlib.core.lifecycle import Component
    from microlib.observability.metrics import Metrics

__all__ = ["Jobs", "open_queue"]

_EXTRAS = {"redis": "jobs-redis", "amqp": "jobs-rabbitmq", "postgresql": "jobs-postgres"}


def open_queue(settings: JobsSettings, namespace: str, *, clock: Clock | None = None) -> JobQueue:
    """The queue ``settings.url`` names.

    Raises:
        MissingExtra: the broker's driver is missing, naming the extra to install.
    """
    if settings.backend == "memory":
        return MemoryQueue(clock=clock, idempotency_ttl=settings.idempotency_ttl)
    extra = _EXTRAS[settings.backend]
    try:
        from microlib.jobs.taskiq import TaskiqQueue
    except ImportError as exc:
        raise MissingExtra(
            f"jobs.url {settings.backend}:// needs taskiq and its broker: "
            f"pip install 'microlib[{extra}]' ({exc})"
        ) from exc
    return TaskiqQueue(settings, namespace)


class Jobs:
    """The jobs of one service.

    Args:
        service: The service's name (the default namespace).
        propagation: Adds the enqueuing call's headers (the signed principal)
            to every job.
    """

    def __init__(self, service: str, *, propagation: Propagation | None = None) -> None:
        self._service = service
        self._propagation = propagation or Propagation()
        self._contracts: dict[str, JobsDefinition] = {}
        self._handlers: dict[str, RegisteredJob] = {}
        self._jobs: dict[str, JobDefinition] = {}
        self._queue: JobQueue | None = None
        self._metrics: JobMetrics | None = None
        self.clock: Clock = SystemClock()
        self.worker: JobWorker | None = None

    @property
    def wanted(self) -> bool:
        """Whether the service has any jobs contract."""
        return bool(self._contracts)

    @property
    def contracts(self) -> Mapping[str, JobsDefinition]:
        """The jobs contracts, by name."""
        return self._contracts

    @property
    def queues(self) -> frozenset[str]:
        """The queues the jobs this service runs (those included with handlers) travel on."""
        return frozenset(entry.job.queue for entry in self._handlers.values())

    def include(self, handlers: object) -> JobsDefinition:
        """Run the jobs of ``handlers``' contract in this service.

        Raises:
            ContractMismatch: ``handlers`` implements no generated jobs
                Protocol, or lacks jobs.
            ValueError: a job name is taken by another contract.
        """
        definition = definition_of(handlers)
        if definition is None:
            raise ContractMismatch(f"{type(handlers).__qualname__} implements no generated jobs Protocol")
        check_handlers(definition, handlers)
        self.declare(definition)
        for job in definition.jobs.values():
            self._handlers[job.name] = RegisteredJob(definition, job, getattr(handlers, job.python_name))
        return definition

    def declare(self, definition: JobsDefinition) -> None:
        """Know ``definition``'s jobs, to enqueue them, without running them here.

        Raises:
            ValueError: a job name is taken by another contract.
        """
        for job in definition.jobs.values():
            other = self._jobs.get(job.name)
            if other is not None and other.contract != job.contract:
                raise ValueError(
                    f"job {job.name!r} of {definition.name} ({job.source}) is also in "
                    f"{other.contract} ({other.source}); job names must be unique in a service"
                )
            self._jobs[job.name] = job
        self._contracts[definition.name] = definition

    def components(
        self, settings: JobsSettings, chain: Chain, metrics: Metrics, *, namespace: str | None = None
    ) -> list[Component]:
        """The queue, the worker and the scheduler, as ``settings`` asks.

        Raises:
            ValueError: an invalid schedule, naming the job and its contract line.
            MissingExtra: a broker's driver is missing, naming the extra.
        """
        from microlib.jobs.scheduler import Scheduler, open_lease

        prefix = settings.namespace or namespace or self._service
        schedules = [job for job in self._jobs.values() if job.schedule is not None]
        # Cron expressions are checked before anything connects.
        plans = Scheduler.plan(schedules)
        self._metrics = JobMetrics(metrics)
        queue = self._queue = open_queue(settings, prefix, clock=self.clock)
        components: list[Component] = [queue]
        if settings.worker and self._handlers:
            queues = settings.queues or sorted(self.queues)
            self.worker = JobWorker(
                queue,
                self._handlers,
                chain,
                self._metrics,
                queues=queues,
                concurrency=settings.concurrency,
                result_ttl=settings.result_ttl,
                clock=self.clock,
            )
            components.append(self.worker)
            components.append(
                DeadLetterDepth(
                    queue,
                    self._metrics.dead_letters.labels(self._service),
                    interval=settings.dead_letter_interval,
                )
            )
        if plans and settings.scheduler.enabled:
            lease = open_lease(settings, prefix)
            components.append(
                Scheduler(plans, self, lease, settings.scheduler, self._metrics, self._service, self.clock)
            )
        return components

    @property
    def queue(self) -> JobQueue:
        """The queue, once the service is assembled.

        Raises:
            RuntimeError: before the service is assembled.
        """
        if self._queue is None:
            raise RuntimeError("the jobs queue exists once the service is assembled (started, or .app built)")
        return self._queue

    async def enqueue(
        self,
        job: JobDefinition,
        payload: Any,
        *,
        delay: float | dt.timedelta | None = None,
        eta: dt.datetime | None = None,
        idempotency_key: str | None = None,
        fence: int | None = None,
        tick: float | None = None,
    ) -> JobHandle[Any]:
        """Queue a run of ``job`` with ``payload``.

        Args:
            job: The job (a generated definition).
            payload: Its payload model (or a mapping that validates as one).
            delay: Run no sooner than this from now.
            eta: Run no sooner than this moment (time-zone aware).
            idempotency_key: While remembered (``jobs.idempotency_ttl``), a
                second enqueue with the same key queues nothing and returns
                the first job's id.
            fence: The scheduler's fencing token (scheduled ticks only).
            tick: The tick's Unix time (scheduled ticks only).

        Raises:
            microlib.core.errors.InvalidArgument: the payload is invalid,
                naming each field.
            ValueError: both ``delay`` and ``eta``, or a naive ``eta``.
        """
        model = validate_payload(job, payload)
        queue = self.queue
        not_before: float | None = None
        if delay is not None and eta is not None:
            raise ValueError("give delay or eta, not both")
        if delay is not None:
            seconds = delay.total_seconds() if isinstance(delay, dt.timedelta) else float(delay)
            not_before = self.clock.time() + seconds
        elif eta is not None:
            if eta.tzinfo is None:
                raise ValueError("eta must be time-zone aware (datetime.now(UTC) + ...)")
            not_before = eta.timestamp()
        dumped = _dump(model)
        headers: dict[str, str] = {}
        Tracing.inject(headers)
        if self._propagation.active:
            self._propagation.inject(headers, job_content(job.name, dumped))
        envelope = JobEnvelope(
            job=job.name,
            payload=dumped,
            queue=job.queue,
            priority=job.priority,
            enqueued_at=self.clock.time(),
            headers=headers,
            idempotency_key=idempotency_key,
            fence=fence,
            tick=tick,
        )
        job_id = await queue.enqueue(envelope, not_before=not_before)
        queued = job_id == envelope.id
        if queued and self._metrics is not None:
            self._metrics.queued.labels(job.contract, job.name, job.queue).inc()
        return JobHandle(job_id, queued, job, queue)


def _dump(model: Any) -> dict[str, Any]:
    dump = getattr(model, "model_dump", None)
    if dump is not None:
        value: dict[str, Any] = dump(mode="json")
        return value
    return dict(model)
