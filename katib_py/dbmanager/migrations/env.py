"""Alembic environment for the db-manager schema; run only through katib_py.dbmanager.migrate."""

from __future__ import annotations

from alembic import context

from katib_py.dbmanager.migrate import VERSION_TABLE
from katib_py.dbmanager.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, version_table=VERSION_TABLE)
with context.begin_transaction():
    context.run_migrations()
