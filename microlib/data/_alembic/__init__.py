"""Alembic's environment and revision template, used by microlib.data.migrations."""
