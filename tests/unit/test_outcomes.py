from __future__ import annotations

from metrics.model import Action, ActionKind, Outcome, OwnerSpan
from metrics.outcomes import attributed_rep, first_action, outcome
from tests.builders import at, contacted, excluded, lead, rejected, snoozed


def test_lead_touched_before_deadline_is_on_time() -> None:
    assert outcome(lead(actions=(contacted(1),)), at(10)) is Outcome.ON_TIME


def test_lead_touched_exactly_at_deadline_is_on_time() -> None:
    assert outcome(lead(due=4, actions=(contacted(4),)), at(10)) is Outcome.ON_TIME


def test_lead_touched_after_deadline_is_late() -> None:
    assert outcome(lead(due=4, actions=(contacted(5),)), at(10)) is Outcome.LATE


def test_untouched_lead_inside_its_sla_is_pending() -> None:
    assert outcome(lead(due=4), at(3)) is Outcome.PENDING


def test_untouched_lead_at_its_deadline_is_ignored() -> None:
    assert outcome(lead(due=4), at(4)) is Outcome.IGNORED


def test_action_after_as_of_does_not_count_yet() -> None:
    touched_later = lead(due=4, actions=(contacted(6),))
    assert outcome(touched_later, at(5)) is Outcome.IGNORED
    assert outcome(touched_later, at(3)) is Outcome.PENDING
    assert outcome(touched_later, at(6)) is Outcome.LATE


def test_exclusion_wins_over_an_earlier_contact() -> None:
    assert outcome(lead(actions=(contacted(1), excluded(2))), at(10)) is Outcome.EXCLUDED


def test_exclusion_after_as_of_is_not_seen() -> None:
    assert outcome(lead(actions=(contacted(1), excluded(20))), at(10)) is Outcome.ON_TIME


def test_rejection_counts_as_an_action() -> None:
    assert outcome(lead(actions=(rejected(2),)), at(10)) is Outcome.ON_TIME


def test_rejection_for_an_excluding_reason_excludes() -> None:
    assert outcome(lead(actions=(rejected(2, excludes=True),)), at(10)) is Outcome.EXCLUDED


def test_snooze_reassign_and_comment_are_not_actions() -> None:
    not_touches = (
        snoozed(1),
        Action(at(1), ActionKind.REASSIGNED, new_owner="b@example.com"),
        Action(at(2), ActionKind.COMMENT),
    )
    assert outcome(lead(due=4, actions=not_touches), at(10)) is Outcome.IGNORED


def test_first_action_is_the_earliest_whatever_the_order_given() -> None:
    first = first_action(lead(actions=(contacted(3), rejected(2))), at(10))
    assert first is not None
    assert first.kind is ActionKind.REJECTED


def test_first_action_tie_goes_to_the_one_recorded_first() -> None:
    a, b = contacted(2, seq=2), rejected(2, seq=1)
    first = first_action(lead(actions=(a, b)), at(10))
    assert first is b


def _reassigned_lead(*actions: Action) -> object:
    owners = (OwnerSpan(at(0), "a@example.com", 1), OwnerSpan(at(2), "b@example.com", 2))
    return lead(due=4, owners=owners, actions=actions)


def test_on_time_lead_is_charged_to_the_rep_who_acted() -> None:
    owners = (OwnerSpan(at(0), "a@example.com", 1), OwnerSpan(at(2), "b@example.com", 2))
    assert (
        attributed_rep(lead(due=4, owners=owners, actions=(contacted(1),)), at(10))
        == "a@example.com"
    )
    assert (
        attributed_rep(lead(due=4, owners=owners, actions=(contacted(3),)), at(10))
        == "b@example.com"
    )


def test_ignored_lead_is_charged_to_the_holder_when_the_sla_ran_out() -> None:
    owners = (OwnerSpan(at(0), "a@example.com", 1), OwnerSpan(at(5), "b@example.com", 2))
    assert attributed_rep(lead(due=4, owners=owners), at(10)) == "a@example.com"


def test_late_lead_is_charged_to_the_holder_at_the_deadline_not_the_late_actor() -> None:
    owners = (OwnerSpan(at(0), "a@example.com", 1), OwnerSpan(at(5), "b@example.com", 2))
    assert (
        attributed_rep(lead(due=4, owners=owners, actions=(contacted(6),)), at(10))
        == "a@example.com"
    )


def test_pending_lead_is_charged_to_the_holder_now() -> None:
    owners = (OwnerSpan(at(0), "a@example.com", 1), OwnerSpan(at(1), "b@example.com", 2))
    assert attributed_rep(lead(due=4, owners=owners), at(2)) == "b@example.com"


def test_reassignment_at_the_moment_of_contact_charges_the_new_owner() -> None:
    owners = (OwnerSpan(at(0), "a@example.com", 1), OwnerSpan(at(1), "b@example.com", 2))
    assert (
        attributed_rep(lead(due=4, owners=owners, actions=(contacted(1),)), at(10))
        == "b@example.com"
    )


def test_unassigned_lead_is_charged_to_nobody() -> None:
    assert attributed_rep(lead(owner=None), at(10)) is None
