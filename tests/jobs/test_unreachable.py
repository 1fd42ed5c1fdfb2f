"""A jobs store that does not answer fails the start naming the setting that points at it."""

from __future__ import annotations

import pytest

from microlib.core.errors import Unavailable
from microlib.jobs import JobsSettings
from microlib.jobs.feature import open_queue


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        (
            JobsSettings(url="redis://app:s3cret@127.0.0.1:1/0"),
            "the jobs store at redis://app:**********@127.0.0.1:1/0 (jobs.url): ConnectionError: ",
        ),
        (
            JobsSettings(url="postgresql://app:s3cret@127.0.0.1:1/jobs"),
            "the jobs store at postgresql://app:**********@127.0.0.1:1/jobs (jobs.url): ",
        ),
        (
            JobsSettings(url="amqp://guest:guest@127.0.0.1:1/", store="redis://127.0.0.1:1/0"),
            "the jobs store at redis://127.0.0.1:1/0 (jobs.store): ConnectionError: ",
        ),
    ],
    ids=["redis", "postgresql", "amqp-store"],
)
async def test_a_store_that_does_not_answer_names_its_setting(settings: JobsSettings, named: str) -> None:
    """Before, the driver's own error alone (`Error 111 connecting to 127.0.0.1:1`) named no setting."""
    queue = open_queue(settings, "unreachable")
    with pytest.raises(Unavailable) as raised:
        await queue.start()
    assert str(raised.value).startswith(named), str(raised.value)
    assert "s3cret" not in str(raised.value)
