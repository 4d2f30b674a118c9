"""Alembic's environment: always run on a connection handed over by `db.migrations`."""

from __future__ import annotations

from alembic import context

from db.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Run migrations through db.migrations, which passes a connection.")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
