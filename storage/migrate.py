"""Schema migrations (Alembic), run from code so that `ignorerate db upgrade` needs no ini file."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from storage.engine import make_engine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def is_up_to_date(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()


class DatabaseNotReadyError(RuntimeError):
    pass


def ready_engine(url: str, *, require_current_schema: bool = True) -> Engine:
    """An engine on `url`, whose schema is at the head revision unless told otherwise."""
    engine = make_engine(url)
    if require_current_schema:
        current, head = current_revision(engine), head_revision()
        if current != head:
            engine.dispose()
            state = "has no schema yet" if current is None else f"is at revision {current}"
            raise DatabaseNotReadyError(
                f"the database {state}; run `ignorerate db upgrade` (head is {head})"
            )
    return engine
