"""A service with the test jobs contract, for `microlib jobs dlq` run as a process."""

from __future__ import annotations

from microlib import Service
from tests.jobs._contract import Handlers

service = Service("shop")
handlers = Handlers()
service.include(handlers)
