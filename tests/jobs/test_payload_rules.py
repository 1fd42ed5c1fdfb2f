"""A job's payload is held to its JSON Schema as an HTTP body and a message's payload are:
at enqueue and again when a worker takes it from the queue."""

from __future__ import annotations

import datetime
import json
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, Field

from microlib.core.errors import InvalidArgument
from microlib.jobs import JobDefinition
from microlib.jobs.handlers import validate_payload


class Booking(BaseModel):
    """A payload with the JSON types and string formats an HTTP body is held to."""

    seats: int
    day: datetime.date
    contact: Annotated[str, Field(json_schema_extra={"format": "email"})]  # as generated
    tags: list[str] = []


JOB = JobDefinition(name="book", python_name="book", payload_type=Booking, contract="shop.jobs")
GOOD = {"seats": 2, "day": "2024-02-29", "contact": "bob@b.test"}


@pytest.mark.parametrize(
    ("change", "field", "rule"),
    [
        # Strict JSON types: no text for a number, no number for text.
        ({"seats": "2"}, "payload.seats", "int_type"),
        ({"tags": [1]}, "payload.tags[0]", "string_type"),
        # String formats as written, not as pydantic would convert them.
        ({"day": "86400"}, "payload.day", "format.date"),
        ({"day": 86400}, "payload.day", "date_type"),
        ({"contact": "Bob <bob@b.example>"}, "payload.contact", "format.email"),
        ({"contact": "not an address"}, "payload.contact", "format.email"),
    ],
)
def test_a_mapping_is_held_to_the_json_schema(change: dict[str, Any], field: str, rule: str) -> None:
    """A mapping (enqueued as JSON, or read back from the queue) is checked by the rules
    of an HTTP body: tests/messaging/test_codec.py holds a message's payload to the same."""
    with pytest.raises(InvalidArgument) as caught:
        validate_payload(JOB, {**GOOD, **change})
    assert [(v.field, v.rule) for v in caught.value.violations] == [(field, rule)]
    # The field and what is wrong with it: it was the field alone.
    violation = caught.value.violations[0]
    assert str(caught.value) == f"invalid payload for job book: {field}: {violation.description}"
    booking = validate_payload(JOB, {**GOOD, "seats": 2.0})  # 4.0 is an integer, as JSON Schema says
    assert (booking.seats, booking.day, booking.contact) == (2, datetime.date(2024, 2, 29), "bob@b.test")


def test_a_model_instance_is_held_to_its_formats() -> None:
    """A model built in Python passes pydantic with any string for an email: its formats
    are checked before it is queued."""
    with pytest.raises(InvalidArgument) as caught:
        validate_payload(JOB, Booking(seats=1, day=datetime.date(2024, 1, 2), contact="nobody"))
    assert [(v.field, v.rule) for v in caught.value.violations] == [("payload.contact", "format.email")]
    good = Booking(seats=1, day=datetime.date(2024, 1, 2), contact="bob@b.test")
    assert validate_payload(JOB, good) is good


def test_a_mapping_of_python_values_is_read_as_pydantic_writes_them() -> None:
    """A date object has no JSON type: it is read as pydantic writes it (ISO 8601), and
    the mapping's formats are checked all the same; an object pydantic cannot write is
    validated as Python, and refused naming its field."""
    booking = validate_payload(JOB, {**GOOD, "day": datetime.date(2024, 3, 1)})
    assert booking.day == datetime.date(2024, 3, 1)
    with pytest.raises(InvalidArgument) as caught:
        validate_payload(JOB, {**GOOD, "day": datetime.date(2024, 3, 1), "contact": "x@"})
    assert [v.field for v in caught.value.violations] == ["payload.contact"]
    with pytest.raises(InvalidArgument) as caught:
        validate_payload(JOB, {**GOOD, "seats": object()})
    assert [v.field for v in caught.value.violations] == ["payload.seats"]


def test_pydantic_and_format_refusals_are_reported_together() -> None:
    """Each bad field once, pydantic's and the formats' in one answer."""
    bad = {"seats": "2", "day": "86400", "contact": "Bob <bob@b.example>"}
    with pytest.raises(InvalidArgument) as caught:
        validate_payload(JOB, json.loads(json.dumps(bad)))
    assert [(v.field, v.rule) for v in caught.value.violations] == [
        ("payload.seats", "int_type"),
        ("payload.day", "format.date"),
        ("payload.contact", "format.email"),
    ]
