"""Alembic environment: the connection is handed in by scheduler.store.db.migrate()."""

from alembic import context
from sqlmodel import SQLModel

import scheduler.store.tables  # noqa: F401  (registers the tables)

target_metadata = SQLModel.metadata
connection = context.config.attributes.get("connection")
if connection is None:
    raise SystemExit("Run migrations through `baocao` (scheduler.store.db.migrate), which passes the connection.")

context.configure(
    connection=connection,
    target_metadata=target_metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
