"""The shared broker cases on the in-memory broker."""

from __future__ import annotations

import uuid

import pytest

from tests.messaging.cases import BrokerCases


class TestMemoryBroker(BrokerCases):
    """Every case, on ``memory://``: a hub of the test's own."""

    @pytest.fixture
    def broker_url(self) -> str:
        """A memory hub no other test shares."""
        return f"memory://{uuid.uuid4().hex[:8]}"
