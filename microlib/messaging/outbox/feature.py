"""The outbox of one service: its writer and its relay, built from ``messaging.outbox``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from microlib.messaging.outbox.relay import Relay
from microlib.messaging.outbox.writer import TransactionalOutbox

if TYPE_CHECKING:
    from microlib.config.model import MessagingSettings
    from microlib.data import Database
    from microlib.messaging.broker import Broker
    from microlib.messaging.publishing import BrokerPublisher
    from microlib.observability.metrics import Metrics

__all__ = ["Outbox"]


class Outbox:
    """Diverts a publisher into the outbox and relays the committed rows.

    The composition root builds it when ``messaging.outbox.enabled``; the
    relay is a component it registers after messaging (it needs the broker
    started, and stops before it).

    Args:
        database: The service's database.
        publisher: The service's publisher, diverted from now on.
        broker: Returns the started broker.
        settings: The ``messaging`` section.
        metrics: The service's metrics.
    """

    def __init__(
        self,
        database: Database,
        publisher: BrokerPublisher,
        broker: Callable[[], Broker],
        settings: MessagingSettings,
        metrics: Metrics,
    ) -> None:
        own = settings.outbox
        self.relay: Relay | None = None
        if own.relay:
            self.relay = Relay(database, broker, own, metrics, publish_timeout=settings.publish_timeout)
        self.writer = TransactionalOutbox(
            database,
            outside_transaction=own.outside_transaction,
            wake=None if self.relay is None else self.relay.wake,
        )
        publisher.outbox = self.writer
