from __future__ import annotations

from metrics.rates import Counts, tally
from tests.builders import at, contacted, excluded, lead, rejected


def test_seed_article_example_seventy_touched_of_a_hundred() -> None:
    leads = [
        lead(external_id=str(i), due=4, actions=(contacted(1),) if i < 70 else ())
        for i in range(100)
    ]
    counts = tally(leads, at(24 * 40))
    assert counts.counted == 100
    assert counts.sal_rate == 70.0
    assert counts.ignore_rate == 30.0


def test_excluded_and_pending_leave_the_denominator() -> None:
    leads = [
        lead(external_id="1", actions=(contacted(1),)),
        lead(external_id="2", actions=(excluded(1),)),
        lead(external_id="3", due=100),  # pending as of hour 10
        lead(external_id="4"),  # ignored
    ]
    counts = tally(leads, at(10))
    assert (counts.handed_off, counts.excluded, counts.pending, counts.counted) == (4, 1, 1, 2)
    assert counts.ignore_rate == 50.0
    assert counts.sal_rate == 50.0


def test_breach_rate_counts_late_and_ignored() -> None:
    leads = [
        lead(external_id="1", actions=(contacted(1),)),
        lead(external_id="2", actions=(contacted(9),)),
        lead(external_id="3"),
        lead(external_id="4", actions=(rejected(2),)),
    ]
    counts = tally(leads, at(10))
    assert (counts.on_time, counts.late, counts.ignored, counts.rejected) == (2, 1, 1, 1)
    assert counts.sla_breach_rate == 50.0


def test_nothing_counted_means_no_rate_rather_than_zero() -> None:
    counts = tally([lead(due=100)], at(1))
    assert counts.counted == 0
    assert counts.ignore_rate is None
    assert counts.sal_rate is None
    assert counts.sla_breach_rate is None
    assert counts.as_dict()["ignore_rate"] is None


def test_median_first_action_is_over_actioned_leads_in_minutes() -> None:
    leads = [
        lead(external_id="1", actions=(contacted(1),)),
        lead(external_id="2", actions=(contacted(2),)),
        lead(external_id="3"),
    ]
    assert tally(leads, at(10)).median_first_action_minutes == 90.0


def test_median_is_none_without_an_actioned_lead() -> None:
    assert tally([lead()], at(10)).median_first_action_minutes is None


def test_ignore_rate_and_sal_rate_add_to_a_hundred() -> None:
    leads = [lead(external_id=str(i), actions=(contacted(9),) if i % 3 else ()) for i in range(7)]
    counts = tally(leads, at(10))
    assert counts.ignore_rate is not None
    assert counts.sal_rate is not None
    assert abs(counts.ignore_rate + counts.sal_rate - 100) < 1e-9


def test_as_dict_has_the_report_keys_in_order() -> None:
    assert list(Counts().as_dict()) == [
        "handed_off",
        "excluded",
        "pending",
        "counted",
        "ignored",
        "actioned",
        "on_time",
        "late",
        "rejected",
        "ignore_rate",
        "sal_rate",
        "sla_breach_rate",
        "median_first_action_minutes",
    ]
