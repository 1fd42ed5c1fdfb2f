# Generated from examples/bookshop/contracts/events.yaml by microlib-codegen 0.1.0. DO NOT EDIT.
# source sha256: 4f170d7ed9d72d33a86f70927867af4d2a9665db830fe80bb74f804006b5c90b
"""Generated code of examples/bookshop/contracts/events.yaml: the definition, the interfaces and the models."""

from __future__ import annotations

from . import models
from .application import DEFINITION, EventsConsumer, EventsPublisher

__all__ = ["DEFINITION", "EventsConsumer", "EventsPublisher", "models"]
