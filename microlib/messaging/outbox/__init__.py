"""microlib.messaging.outbox: publish in the database transaction, relay at least once.

A publish inside ``db.transaction()`` writes the message into the
``microlib_outbox`` table on the transaction's own connection; the
:class:`Relay` sends committed rows to the broker, in commit order per key.
docs/outbox.md states the guarantee; ADR 0011 the relay's locking.
"""

from __future__ import annotations

from microlib.messaging.outbox.feature import Outbox
from microlib.messaging.outbox.relay import Relay
from microlib.messaging.outbox.store import Batch, OutboxRow, OutboxStore
from microlib.messaging.outbox.table import MIGRATIONS, NOTIFY_CHANNEL, outbox
from microlib.messaging.outbox.writer import TransactionalOutbox

__all__ = [
    "MIGRATIONS",
    "NOTIFY_CHANNEL",
    "Batch",
    "Outbox",
    "OutboxRow",
    "OutboxStore",
    "Relay",
    "TransactionalOutbox",
    "outbox",
]
