"""One job on the wire: its id, payload and labels, in taskiq's message shape.

The JSON document is the one taskiq's own JSON formatter writes for a
``TaskiqMessage`` (``task_id``, ``task_name``, ``labels``, ``labels_types``,
``args``, ``kwargs``): the payload travels as the ``payload`` keyword
argument and everything microlib adds is a label, so a plain taskiq worker
reading the same queue sees an ordinary task (``tests/jobs/test_envelope.py``
checks the shape against taskiq's model).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

__all__ = ["JobEnvelope"]

# Labels that are the envelope's own fields, not propagated headers.
_FIELDS = ("queue_name", "attempt", "priority", "enqueued_at", "idempotency_key", "fence", "tick")


@dataclass(frozen=True, slots=True)
class JobEnvelope:
    """A job as queued.

    Args:
        job: The job's name in its contract.
        payload: The payload, JSON-ready (a dumped model).
        queue: The queue it travels on.
        id: Unique per enqueue; kept across retries and replays.
        attempt: 1 for the first run, incremented by each retry.
        priority: 0 to 9.
        enqueued_at: Unix time of the first enqueue.
        headers: Propagated context: ``traceparent``, ``tracestate``,
            ``baggage``, ``x-request-id``.
        idempotency_key: The key the enqueuer gave, if any; kept across
            retries, it deduplicates the first enqueue only.
        fence: The scheduler's fencing token, for a fired tick.
        tick: The Unix time of the tick that fired it.
    """

    job: str
    payload: dict[str, Any]
    queue: str = "default"
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    attempt: int = 1
    priority: int = 0
    enqueued_at: float = field(default_factory=time.time)
    headers: dict[str, str] = field(default_factory=dict)
    idempotency_key: str | None = None
    fence: int | None = None
    tick: float | None = None

    def labels(self) -> dict[str, Any]:
        """The taskiq labels: the fields above and the headers."""
        labels: dict[str, Any] = {
            "queue_name": self.queue,
            "attempt": self.attempt,
            "priority": self.priority,
            "enqueued_at": self.enqueued_at,
        }
        for name in ("idempotency_key", "fence", "tick"):
            value = getattr(self, name)
            if value is not None:
                labels[name] = value
        labels.update(self.headers)
        return labels

    def encode(self) -> bytes:
        """The wire form: taskiq's JSON message."""
        return orjson.dumps(
            {
                "task_id": self.id,
                "task_name": self.job,
                "labels": self.labels(),
                "labels_types": None,
                "args": [],
                "kwargs": {"payload": self.payload},
            }
        )

    @classmethod
    def decode(cls, data: bytes | str) -> JobEnvelope:
        """Read the wire form.

        Raises:
            ValueError: ``data`` is not a job message, naming what is wrong.
        """
        try:
            message = orjson.loads(data)
            labels: dict[str, Any] = dict(message["labels"])
            payload = message["kwargs"]["payload"]
            envelope = cls(
                job=str(message["task_name"]),
                payload=payload,
                queue=str(labels.get("queue_name", "default")),
                id=str(message["task_id"]),
                attempt=int(labels.get("attempt", 1)),
                priority=int(labels.get("priority", 0)),
                enqueued_at=float(labels.get("enqueued_at", 0.0)),
                headers={k: str(v) for k, v in labels.items() if k not in _FIELDS},
                idempotency_key=labels.get("idempotency_key"),
                fence=None if labels.get("fence") is None else int(labels["fence"]),
                tick=None if labels.get("tick") is None else float(labels["tick"]),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a job message: {type(exc).__name__}: {exc}") from None
        if not isinstance(payload, dict):
            raise ValueError("not a job message: kwargs.payload is not an object")
        return envelope

    def retried(self) -> JobEnvelope:
        """The same job, for its next attempt (with its idempotency key, which a
        queue reads for a first attempt only: a retry is always queued)."""
        return replace(self, attempt=self.attempt + 1)
