"""A report: one cohort's counts, in total and broken down, as the JSON contract shapes it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from metrics.periods import Period
from metrics.rates import Counts


@dataclass(frozen=True)
class Report:
    period: Period
    timezone: ZoneInfo
    as_of: datetime
    team: str | None
    totals: Counts
    by_rep: tuple[tuple[str | None, Counts], ...] = ()
    by_source: tuple[tuple[str, Counts], ...] = ()

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        return self.period.bounds(self.timezone)

    def as_dict(self) -> dict[str, Any]:
        start, end = self.bounds
        return {
            "period": {
                "name": self.period.name,
                "start": start.isoformat(),
                "end": end.isoformat(),
                "timezone": self.timezone.key,
            },
            "as_of": self.as_of.astimezone(self.timezone).isoformat(),
            "team": self.team,
            "totals": self.totals.as_dict(),
            "by_rep": [{"rep": rep, **c.as_dict()} for rep, c in self.by_rep],
            "by_source": [{"source": src, **c.as_dict()} for src, c in self.by_source],
        }
