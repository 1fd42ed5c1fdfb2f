"""microlib outbox: the ids of messages consumers handled, for deduplication

Revision ID: mlo0002
Revises: mlo0001
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "mlo0002"
down_revision = "mlo0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "microlib_processed",
        sa.Column("scope", sa.String(300), primary_key=True),
        sa.Column("message_id", sa.String(200), primary_key=True),
        sa.Column("processed_at", sa.Float, nullable=False),
    )
    op.create_index("microlib_processed_age", "microlib_processed", ["processed_at"])


def downgrade() -> None:
    op.drop_table("microlib_processed")
