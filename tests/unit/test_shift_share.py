"""Why the ignore rate moved: the exact mix and rate split of its change, by group."""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metrics.rates import Counts
from metrics.shift_share import CountsError, Effect, GroupShift, ShiftShare, decompose

DOC = Path(__file__).resolve().parents[2] / "docs" / "why-it-moved.md"


def counts(counted: int, ignored: int, *, pending: int = 0, excluded: int = 0) -> Counts:
    """Counts as the report tallies them: the counted leads are ignored or actioned."""
    return Counts(
        handed_off=counted + pending + excluded,
        excluded=excluded,
        pending=pending,
        ignored=ignored,
        on_time=counted - ignored,
    )


def group(result: ShiftShare, key: str) -> GroupShift:
    (found,) = (g for g in result.groups if g.key == key)
    return found


# The worked example of docs/why-it-moved.md ("Worked example"): the same numbers as the
# doc's two tables, which test_the_docs_tables_are_what_the_code_computes reads.
BEFORE = {"webinar": counts(50, 20), "paid search": counts(100, 20), "referral": counts(50, 5)}
AFTER = {
    "webinar": counts(100, 48),
    "paid search": counts(100, 18),
    "referral": counts(40, 4),
    "trade show": counts(10, 5),
}


def test_worked_example_by_hand() -> None:
    result = decompose(BEFORE, AFTER)
    # team: 45/200 = 22.5 % before, 75/250 = 30 % after, up 7.5 points
    assert result.rate_before == Fraction(45, 2)
    assert result.rate_after == 30
    assert result.change == Fraction(15, 2)
    # shares before 50/200, 100/200, 50/200 = .25, .5, .25; after 100/250, 100/250,
    # 40/250, 10/250 = .4, .4, .16, .04
    # webinar: mix (.4 - .25)·(40 + 48)/2 = .15·44 = 6.6; rate (48 - 40)·(.25 + .4)/2 = 2.6
    # paid search: mix (.4 - .5)·(20 + 18)/2 = -1.9; rate (18 - 20)·(.5 + .4)/2 = -.9
    # referral: mix (.16 - .25)·(10 + 10)/2 = -.9; rate 0 (10 % both times)
    # trade show: absent before, its rate then taken as 50: mix (.04 - 0)·50 = 2; rate 0
    expected = {
        "webinar": (Fraction("6.6"), Fraction("2.6")),
        "paid search": (Fraction("-1.9"), Fraction("-0.9")),
        "referral": (Fraction("-0.9"), Fraction(0)),
        "trade show": (Fraction(2), Fraction(0)),
    }
    for key, (mix, rate) in expected.items():
        contribution = group(result, key).contribution
        assert contribution is not None
        assert (contribution.mix, contribution.rate) == (mix, rate), key
    # mix 6.6 - 1.9 - .9 + 2 = 5.8, rate 2.6 - .9 = 1.7, together 7.5
    total = result.contribution
    assert total is not None
    assert (total.mix, total.rate, total.total) == (
        Fraction("5.8"),
        Fraction("1.7"),
        Fraction("7.5"),
    )
    # the trade show has 10 counted leads: small, listed last, not ranked
    assert [g.key for g in result.groups] == ["webinar", "paid search", "referral", "trade show"]
    assert [g.small for g in result.groups] == [False, False, False, True]
    # the leader: webinar, 9.2 points, mostly mix; its leads doubled and 48 % are ignored
    leader = result.leader
    assert leader is not None
    assert leader.key == "webinar"
    assert leader.contribution is not None
    assert leader.contribution.total == Fraction("9.2")
    assert leader.contribution.mostly is Effect.MIX
    assert (leader.before.counted, leader.after.counted, leader.rate_after) == (
        50,
        100,
        Fraction(48),
    )
    trade_show = group(result, "trade show")
    assert trade_show.rate_before is None
    assert trade_show.interval_before is None
    assert trade_show.interval_after is not None
    assert round(trade_show.interval_after.low, 1) == 23.7
    assert round(trade_show.interval_after.high, 1) == 76.3


def _tables(text: str) -> list[list[list[str]]]:
    """The markdown tables of the text, each a list of rows of cells, header included."""
    tables: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if not all(re.fullmatch(r":?-+:?", cell) for cell in cells):
                current.append(cells)
        elif current:
            tables.append(current)
            current = []
    return tables


def _number(cell: str) -> Fraction | None:
    return None if cell in {"", "-"} else Fraction(cell)


def test_the_docs_tables_are_what_the_code_computes() -> None:
    section = DOC.read_text(encoding="utf-8").split("## Worked example", 1)[1]
    counts_table, result_table = _tables(section)
    assert counts_table[0] == [
        "source",
        "counted before",
        "ignored before",
        "counted after",
        "ignored after",
    ]
    assert result_table[0] == [
        "source",
        "share before",
        "share after",
        "rate before",
        "rate after",
        "mix",
        "rate effect",
        "total",
        "small",
    ]
    rows = {row[0]: [int(cell) for cell in row[1:]] for row in counts_table[1:]}
    team = rows.pop("team")
    before = {key: counts(c0, i0) for key, (c0, i0, _, _) in rows.items() if c0}
    after = {key: counts(c1, i1) for key, (_, _, c1, i1) in rows.items() if c1}
    # the doc's counts are the test's (the test above works them by hand)
    assert before == BEFORE
    assert after == AFTER
    result = decompose(before, after)
    assert [
        result.counted_before,
        result.ignored_before,
        result.counted_after,
        result.ignored_after,
    ] == team
    assert [row[0] for row in result_table[1:-1]] == [g.key for g in result.groups]
    for row in result_table[1:-1]:
        shown = group(result, row[0])
        assert shown.contribution is not None
        numbers = [_number(cell) for cell in row[1:8]]
        assert numbers == [
            shown.share_before,
            shown.share_after,
            shown.rate_before,
            shown.rate_after,
            shown.contribution.mix,
            shown.contribution.rate,
            shown.contribution.total,
        ], row[0]
        assert row[8] == ("yes" if shown.small else "no")
    team_row = result_table[-1]
    assert team_row[0] == "team"
    total = result.contribution
    assert total is not None
    assert [_number(cell) for cell in team_row[3:8]] == [
        result.rate_before,
        result.rate_after,
        total.mix,
        total.rate,
        result.change,
    ]


# --- the invariant: mix + rate over the groups is the change, exactly -------------------

KEYS = st.sampled_from(["a", "b", "c", "d", "e", "f"])


@st.composite
def group_counts(draw: st.DrawFn) -> Counts:
    counted = draw(st.integers(0, 300))
    return counts(
        counted,
        draw(st.integers(0, counted)),
        pending=draw(st.integers(0, 20)),
        excluded=draw(st.integers(0, 5)),
    )


PERIOD = st.dictionaries(KEYS, group_counts(), max_size=6)


@given(PERIOD, PERIOD)
def test_mix_and_rate_add_up_to_the_change_exactly(
    before: dict[str, Counts], after: dict[str, Counts]
) -> None:
    result = decompose(before, after)
    assert {g.key for g in result.groups} == before.keys() | after.keys()
    counted0 = sum(c.counted for c in before.values())
    counted1 = sum(c.counted for c in after.values())
    if not (counted0 and counted1):
        assert result.change is None
        assert result.contribution is None
        assert result.leader is None
        assert all(g.contribution is None for g in result.groups)
        return
    r0 = Fraction(sum(c.ignored for c in before.values()), counted0) * 100
    r1 = Fraction(sum(c.ignored for c in after.values()), counted1) * 100
    assert result.change == r1 - r0
    mix = rate = Fraction(0)
    for shown in result.groups:
        assert shown.contribution is not None
        mix += shown.contribution.mix
        rate += shown.contribution.rate
        # each group's part is its own w1·r1 - w0·r0, however the parts are split
        w0, w1 = shown.share_before / 100, shown.share_after / 100
        part = w1 * (shown.rate_after or 0) - w0 * (shown.rate_before or 0)
        assert shown.contribution.total == part
        if shown.rate_before is None or shown.rate_after is None:
            assert shown.contribution.rate == 0  # a group without a rate in a period: all mix
    assert mix + rate == r1 - r0
    assert result.contribution is not None
    assert (result.contribution.mix, result.contribution.rate) == (mix, rate)


@given(PERIOD, PERIOD)
def test_the_leader_is_the_largest_group_that_is_not_small(
    before: dict[str, Counts], after: dict[str, Counts]
) -> None:
    result = decompose(before, after)
    ranked = [g for g in result.groups if not g.small and g.contribution is not None]
    sizes = [abs(g.contribution.total) for g in ranked if g.contribution is not None]
    if not sizes or max(sizes) == 0:
        assert result.leader is None
        return
    leader = result.leader
    assert leader is not None
    assert not leader.small
    assert leader.contribution is not None
    assert abs(leader.contribution.total) == max(sizes)
    assert result.groups[0] is leader


# --- edge cases ----------------------------------------------------------------------


def test_an_empty_previous_period_has_no_change_to_explain() -> None:
    result = decompose({}, {"webinar": counts(30, 12), "referral": counts(5, 1)})
    assert result.rate_before is None
    assert result.rate_after == Fraction(13, 35) * 100
    assert result.change is None
    assert result.contribution is None
    assert result.leader is None
    # the groups are still there, with their counts, shares, intervals and small flags
    webinar, referral = result.groups
    assert (webinar.key, webinar.after.counted, webinar.share_after) == (
        "webinar",
        30,
        Fraction(30, 35) * 100,
    )
    assert webinar.contribution is None
    assert webinar.interval_after is not None
    assert (referral.key, referral.small) == ("referral", True)


def test_a_current_period_all_pending_has_no_rate() -> None:
    result = decompose(
        {"webinar": counts(40, 10)},
        {"webinar": counts(0, 0, pending=25), "ads": counts(0, 0, pending=3)},
    )
    assert result.rate_before == 25
    assert result.rate_after is None
    assert result.change is None
    assert result.leader is None
    webinar = group(result, "webinar")
    assert (webinar.after.handed_off, webinar.after.pending, webinar.after.counted) == (25, 25, 0)
    assert webinar.rate_after is None
    assert webinar.interval_after is None


def test_a_single_group_moves_by_rate_alone() -> None:
    result = decompose({"webinar": counts(40, 10)}, {"webinar": counts(80, 30)})
    # 25 % -> 37.5 %: the share is 100 % both times, so no mix
    (only,) = result.groups
    assert only.contribution is not None
    assert only.contribution.mix == 0
    assert only.contribution.rate == Fraction("12.5")
    assert result.change == Fraction("12.5")
    assert result.leader is only
    assert only.contribution.mostly is Effect.RATE


def test_a_group_that_left_contributes_minus_its_old_part_all_mix() -> None:
    # before: a 20 of 40 (50 %), b 5 of 60; after: b only, 6 of 60
    result = decompose({"a": counts(40, 20), "b": counts(60, 5)}, {"b": counts(60, 6)})
    gone = group(result, "a")
    assert gone.contribution is not None
    # -w0·r0 = -(40/100)·50 = -20
    assert (gone.contribution.mix, gone.contribution.rate) == (Fraction(-20), Fraction(0))
    assert gone.rate_after is None
    assert result.change == 10 - 25


def test_a_group_with_nothing_counted_in_either_period_is_listed_and_contributes_nothing() -> None:
    result = decompose(
        {"a": counts(50, 10), "b": counts(0, 0, excluded=4)},
        {"a": counts(50, 20), "b": counts(0, 0, pending=2)},
    )
    b = group(result, "b")
    assert b.small
    assert b.contribution is not None
    assert (b.contribution.mix, b.contribution.rate) == (Fraction(0), Fraction(0))
    assert (b.before.excluded, b.after.pending) == (4, 2)
    assert result.groups[-1] is b
    assert result.leader is group(result, "a")


def test_when_every_group_is_small_nobody_leads() -> None:
    result = decompose(
        {"a": counts(10, 1), "b": counts(10, 2)}, {"a": counts(5, 4), "b": counts(12, 2)}
    )
    assert result.change is not None
    assert result.change != 0
    assert result.leader is None
    assert [g.key for g in result.groups] == ["a", "b"]


def test_nothing_moved_means_no_leader() -> None:
    result = decompose({"a": counts(40, 10)}, {"a": counts(80, 20)})
    assert result.change == 0
    assert result.leader is None


def test_the_small_threshold_is_a_parameter() -> None:
    result = decompose({"a": counts(10, 1)}, {"a": counts(10, 5)}, min_counted=10)
    assert result.leader is group(result, "a")


@pytest.mark.parametrize(
    "bad",
    [
        Counts(handed_off=5, ignored=6),  # more ignored than counted
        Counts(handed_off=5, pending=4, ignored=2),
        Counts(handed_off=2, excluded=3),  # a negative count of counted leads
        Counts(handed_off=-1),
    ],
)
def test_counts_that_describe_no_cohort_are_refused(bad: Counts) -> None:
    with pytest.raises(CountsError):
        decompose({"a": bad}, {})
