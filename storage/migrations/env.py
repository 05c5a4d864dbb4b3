"""Alembic environment. `storage.migrate.upgrade` hands in a live connection; the
`alembic` command line (for writing new revisions) builds one from DATABASE_URL."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection

from storage.engine import DEFAULT_URL, make_engine
from storage.tables import Base, on_this_database

config = context.config


def _run(connection: Connection) -> None:
    dialect = connection.dialect.name

    def include(_object: object, name: str | None, kind: str, *_: object) -> bool:
        return on_this_database(dialect, kind, name)

    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        user_module_prefix="storage.types.",
        compare_type=True,
        include_object=include,
    )
    with context.begin_transaction():
        context.run_migrations()


given = config.attributes.get("connection")
if given is not None:
    _run(given)
else:
    engine = make_engine(os.environ.get("DATABASE_URL", DEFAULT_URL))
    with engine.connect() as conn:
        _run(conn)
