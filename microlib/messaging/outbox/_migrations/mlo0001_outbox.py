"""microlib outbox: the table and its indexes

Revision ID: mlo0001
Revises:
Create Date: 2026-12-05

A branch of its own (``microlib_outbox``), applied by ``microlib db upgrade``
next to the application's revisions when ``messaging.outbox.enabled``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "mlo0001"
down_revision = None
branch_labels = ("microlib_outbox",)
depends_on = None

_UNSENT = sa.text("sent_at IS NULL")
_SENT = sa.text("sent_at IS NOT NULL")


def upgrade() -> None:
    op.create_table(
        "microlib_outbox",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
        sa.Column("message_id", sa.String(200), nullable=False, unique=True),
        sa.Column("lane", sa.String(500), nullable=False),
        sa.Column("key", sa.String(500)),
        sa.Column("operation", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(200), nullable=False),
        sa.Column("address", sa.String(500), nullable=False),
        sa.Column("bindings", sa.Text, nullable=False),
        sa.Column("headers", sa.Text, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("content_type", sa.String(200), nullable=False),
        sa.Column("correlation_id", sa.String(200)),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("last_error", sa.Text),
        sa.Column("sent_at", sa.Float),
    )
    op.create_index(
        "microlib_outbox_unsent", "microlib_outbox", ["id"], postgresql_where=_UNSENT, sqlite_where=_UNSENT
    )
    op.create_index(
        "microlib_outbox_lanes",
        "microlib_outbox",
        ["lane", "id"],
        postgresql_where=_UNSENT,
        sqlite_where=_UNSENT,
    )
    op.create_index(
        "microlib_outbox_sent", "microlib_outbox", ["sent_at"], postgresql_where=_SENT, sqlite_where=_SENT
    )


def downgrade() -> None:
    op.drop_table("microlib_outbox")
