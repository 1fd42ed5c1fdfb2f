"""Hand-written revision scripts for the migration tests."""

from __future__ import annotations

from pathlib import Path

_HEADER = '''"""{doc}"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "{rev}"
down_revision = {down!r}
branch_labels = None
depends_on = None
'''

CREATE_ITEMS = """
def upgrade() -> None:
    op.create_table("items", sa.Column("id", sa.Integer, primary_key=True), sa.Column("name", sa.String(50)))


def downgrade() -> None:
    op.drop_table("items")
"""

ADD_PRICE = """
def upgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("price", sa.Integer, nullable=False, server_default="0"))
    op.create_index("ix_items_name", "items", ["name"])


def downgrade() -> None:
    op.drop_index("ix_items_name", "items")
    with op.batch_alter_table("items") as batch:
        batch.drop_column("price")
"""

BROKEN = """
def upgrade() -> None:
    op.create_table("half_done", sa.Column("id", sa.Integer, primary_key=True))
    op.execute("INSERT INTO no_such_table VALUES (1)")


def downgrade() -> None:
    op.drop_table("half_done")
"""

SLOW_ONCE = """
def upgrade() -> None:
    op.create_table("runs", sa.Column("pid", sa.Integer))
    op.execute("SELECT pg_sleep(1)")
    op.execute("INSERT INTO runs SELECT pg_backend_pid()")


def downgrade() -> None:
    op.drop_table("runs")
"""


def write(directory: Path, rev: str, down: str | None, doc: str, body: str) -> None:
    """Write revision ``rev`` following ``down`` into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{rev}_{doc.replace(' ', '_')}.py").write_text(
        _HEADER.format(doc=doc, rev=rev, down=down) + body
    )
