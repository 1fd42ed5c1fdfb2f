"""The outbox table: one row per message committed with the application's data.

A row holds the message as the broker will get it (address, headers, body)
plus what a broker adapter needs from the operation (its name, channel and
bindings), so a relay sends it without importing the application's
contracts, and sends it as it was when committed.

``lane`` orders delivery: the message key, or the message id for a message
without a key (which is then ordered with nothing).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    text,
)

__all__ = ["MIGRATIONS", "NOTIFY_CHANNEL", "metadata", "outbox", "processed"]

MIGRATIONS = Path(__file__).parent / "_migrations"
"""The outbox's revision scripts: a branch of their own (label ``microlib_outbox``)."""

NOTIFY_CHANNEL = "microlib_outbox"
"""The PostgreSQL ``LISTEN`` channel relays wake on (notified by writers that run no relay)."""

metadata = MetaData()

outbox = Table(
    "microlib_outbox",
    metadata,
    # SQLite's rowid is only an alias of an INTEGER (not BIGINT) primary key.
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("message_id", String(200), nullable=False, unique=True),
    Column("lane", String(500), nullable=False),
    Column("key", String(500)),
    Column("operation", String(200), nullable=False),
    Column("channel", String(200), nullable=False),
    Column("address", String(500), nullable=False),
    Column("bindings", Text, nullable=False),
    Column("headers", Text, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("content_type", String(200), nullable=False),
    Column("correlation_id", String(200)),
    Column("created_at", Float, nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text),
    Column("sent_at", Float),
    # The relay's two questions: the unsent rows in commit order, and the head of each lane.
    Index(
        "microlib_outbox_unsent",
        "id",
        postgresql_where=text("sent_at IS NULL"),
        sqlite_where=text("sent_at IS NULL"),
    ),
    Index(
        "microlib_outbox_lanes",
        "lane",
        "id",
        postgresql_where=text("sent_at IS NULL"),
        sqlite_where=text("sent_at IS NULL"),
    ),
    # The cleanup's: sent rows by age.
    Index(
        "microlib_outbox_sent",
        "sent_at",
        postgresql_where=text("sent_at IS NOT NULL"),
        sqlite_where=text("sent_at IS NOT NULL"),
    ),
)

processed = Table(
    "microlib_processed",
    metadata,
    Column("scope", String(300), primary_key=True),
    Column("message_id", String(200), primary_key=True),
    Column("processed_at", Float, nullable=False),
    Index("microlib_processed_age", "processed_at"),
)
"""Message ids that deduplicating consumers handled (``DatabaseIdempotency``)."""
