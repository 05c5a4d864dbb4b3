"""Counts and rates of a cohort, exactly as the spec defines them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from statistics import median

from metrics.model import ActionKind, Lead, Outcome
from metrics.outcomes import first_action, outcome


@dataclass(frozen=True)
class Counts:
    """A cohort's tallies. Rates are percentages, None when nothing is counted."""

    handed_off: int = 0
    excluded: int = 0
    pending: int = 0
    ignored: int = 0
    on_time: int = 0
    late: int = 0
    rejected: int = 0
    median_first_action_seconds: float | None = None

    @property
    def actioned(self) -> int:
        return self.on_time + self.late

    @property
    def counted(self) -> int:
        return self.handed_off - self.excluded - self.pending

    def _rate(self, part: int) -> float | None:
        return part / self.counted * 100 if self.counted else None

    @property
    def ignore_rate(self) -> float | None:
        return self._rate(self.ignored)

    @property
    def sal_rate(self) -> float | None:
        return self._rate(self.actioned)

    @property
    def sla_breach_rate(self) -> float | None:
        return self._rate(self.ignored + self.late)

    @property
    def median_first_action_minutes(self) -> float | None:
        s = self.median_first_action_seconds
        return None if s is None else s / 60

    def as_dict(self) -> dict[str, int | float | None]:
        """The report's key order (the JSON contract)."""
        return {
            "handed_off": self.handed_off,
            "excluded": self.excluded,
            "pending": self.pending,
            "counted": self.counted,
            "ignored": self.ignored,
            "actioned": self.actioned,
            "on_time": self.on_time,
            "late": self.late,
            "rejected": self.rejected,
            "ignore_rate": self.ignore_rate,
            "sal_rate": self.sal_rate,
            "sla_breach_rate": self.sla_breach_rate,
            "median_first_action_minutes": self.median_first_action_minutes,
        }


def tally(leads: Iterable[Lead], as_of: datetime) -> Counts:
    """Counts of the leads given (the caller chooses the cohort), as of `as_of`."""
    by_outcome = dict.fromkeys(Outcome, 0)
    handed_off = rejected = 0
    response_seconds: list[float] = []
    for lead in leads:
        handed_off += 1
        result = outcome(lead, as_of)
        by_outcome[result] += 1
        if result in (Outcome.ON_TIME, Outcome.LATE):
            first = first_action(lead, as_of)
            assert first is not None  # an actioned outcome always has a first action
            rejected += first.kind is ActionKind.REJECTED
            response_seconds.append((first.at - lead.handed_off_at).total_seconds())
    return Counts(
        handed_off=handed_off,
        excluded=by_outcome[Outcome.EXCLUDED],
        pending=by_outcome[Outcome.PENDING],
        ignored=by_outcome[Outcome.IGNORED],
        on_time=by_outcome[Outcome.ON_TIME],
        late=by_outcome[Outcome.LATE],
        rejected=rejected,
        median_first_action_seconds=median(response_seconds) if response_seconds else None,
    )
