"""The composition root: builds engines and clients from Settings. Nothing at import time."""

from __future__ import annotations

from sqlalchemy import Engine

from bot.config import Settings
from storage.engine import make_engine
from storage.migrate import current_revision, head_revision


class DatabaseNotReadyError(RuntimeError):
    pass


def engine_for(settings: Settings, *, require_current_schema: bool = True) -> Engine:
    engine = make_engine(settings.database_url)
    if require_current_schema:
        current, head = current_revision(engine), head_revision()
        if current != head:
            engine.dispose()
            state = "has no schema yet" if current is None else f"is at revision {current}"
            raise DatabaseNotReadyError(
                f"the database {state}; run `ignorerate db upgrade` (head is {head})"
            )
    return engine
