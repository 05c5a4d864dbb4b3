"""The database handle the adapters hold and hand to the use cases. Adapters never open
it themselves (they import no storage and no SQLAlchemy); `serve` builds it."""

from __future__ import annotations

from storage.engine import DatabaseError, Engine, is_unavailable, ping

__all__ = ["DatabaseError", "Engine", "is_unavailable", "ping"]
