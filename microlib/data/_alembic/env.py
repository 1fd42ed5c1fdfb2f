"""Alembic environment: migrate on the connection microlib hands over.

microlib opens the connection itself (async engine, advisory lock), so this
file never reads a URL nor starts an event loop.
"""

from __future__ import annotations

from alembic import context

_config = context.config


def _include_name(name: str | None, type_: str, parent_names: object) -> bool:
    # microlib's own tables (microlib_outbox) come from its branches, not from the models:
    # autogenerate must not drop them.
    return not (type_ == "table" and name is not None and name.startswith("microlib_"))


_connection = _config.attributes["connection"]
context.configure(
    connection=_connection,
    target_metadata=_config.attributes.get("metadata"),
    # SQLite cannot ALTER most things: batch mode copies the table instead.
    render_as_batch=_connection.dialect.name == "sqlite",
    # Each revision commits on its own, so a failure leaves the last good one.
    transaction_per_migration=True,
    # microlib makes SQLite begin real transactions, so its DDL rolls back too.
    transactional_ddl=True,
    compare_type=True,
    include_name=_include_name,
    on_version_apply=_config.attributes.get("on_version_apply"),
)
with context.begin_transaction():
    context.run_migrations()
