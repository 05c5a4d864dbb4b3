"""How sure a rate is: the Wilson score interval, and which groups are too small to rank.

Percentages throughout, as `metrics.rates.Counts` gives its rates: an interval of
25.53 to 36.62 means 25.53 % to 36.62 %.

The Wilson score interval (Wilson 1927, "Probable inference, the law of succession, and
statistical inference", JASA 22, 209-212) is Newcombe's method 3 ("Two-sided confidence
intervals for the single proportion: comparison of seven methods", Statistics in
Medicine 17 (1998), 857-872), without continuity correction. Unlike the textbook
p ± z·sqrt(p(1-p)/n), it stays inside 0..100 % and never has zero width at 0 of n or
n of n, which are common in small groups of leads.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import sqrt

from metrics.errors import MetricsError

# the two-sided 95 % quantile of the standard normal distribution
Z95 = 1.96

# A group with fewer counted leads than this, in a period where it has any, is "small".
# Why 20: below it one lead moves the group's rate by more than 5 points, and the 95 %
# Wilson interval of any rate from 20 % to 80 % is more than 30 points wide
# (tests/unit/test_intervals.py holds both), so ranking such a group would rank noise.
# The rule counts leads rather than measuring the interval's width on purpose: the width
# shrinks towards 0 % and 100 % (0 of 10 gives 0-27.8 %, 5 of 10 gives 23.7-76.3 %), so
# a width rule would let through exactly the extreme small groups that top a ranking by
# chance.
MIN_COUNTED = 20


class IntervalError(MetricsError):
    """Arguments that describe no proportion."""


@dataclass(frozen=True)
class Interval:
    """A confidence interval of a rate, in percent, `low <= high`."""

    low: float
    high: float

    @property
    def width(self) -> float:
        return self.high - self.low


def wilson(successes: int, trials: int, z: float = Z95) -> Interval | None:
    """The Wilson score interval of `successes` out of `trials`, in percent.

    None when `trials` is 0: there is no rate, as `Counts.ignore_rate` is None then.
    """
    if trials < 0 or not 0 <= successes <= trials:
        raise IntervalError(f"{successes} successes out of {trials} trials is no proportion")
    if not z > 0:
        raise IntervalError(f"z must be positive, not {z}")
    if trials == 0:
        return None
    n, k, z2 = trials, successes, z * z
    # the roots in p of (k/n - p)^2 = z^2 p (1 - p) / n, in a form with one square root
    centre = 2 * k + z2
    spread = z * sqrt(z2 + 4 * k * (n - k) / n)
    scale = 100 / (2 * (n + z2))
    # at 0 of n the low root is 0 exactly (n of n: the high root is 100); rounding must
    # not push it outside the scale
    low = 0.0 if k == 0 else max(0.0, (centre - spread) * scale)
    high = 100.0 if k == n else min(100.0, (centre + spread) * scale)
    return Interval(low, high)


def is_small(*counted: int, min_counted: int = MIN_COUNTED) -> bool:
    """Whether a group with these counted leads (one number a period) is too small to rank.

    Small when some period where it has counted leads has fewer than `min_counted`, or
    when it has none in any period. A period where it has none does not make it small:
    a new source with 300 leads this month is not a small group, though it had none last
    month.
    """
    present = [c for c in counted if c > 0]
    return not present or min(present) < min_counted
