"""The Alembic migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from storage.migrate import current_revision, head_revision, is_up_to_date
from storage.tables import Base, on_this_database


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        dialect = conn.dialect.name

        def include(_object: object, name: str | None, kind: str, *_: object) -> bool:
            return on_this_database(dialect, kind, name)

        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": include}
        )
        assert compare_metadata(context, Base.metadata) == []


def test_migrated_database_is_at_head(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    assert is_up_to_date(engine)


def test_every_model_table_exists(engine: Engine) -> None:
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
