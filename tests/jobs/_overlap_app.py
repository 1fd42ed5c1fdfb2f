"""A service with a job scheduled under ``overlap: skip``, for `microlib jobs overlap` run as a process."""

from __future__ import annotations

from microlib import Service
from tests.jobs._overlap import Gate, definition, reports

service = Service("shop")
service.include(reports(definition("skip"), Gate()))
