"""The click plan: what a click records, what it must claim first, or why it is refused,
decided without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metrics.access import People, Role
from metrics.clicks import Claim, Click, LeadState, Plan, Result, plan
from metrics.model import ActionKind, ContactChannel, RejectReason

AT = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
PEOPLE = People(
    admins=frozenset({"admin@example.com"}),
    managers=frozenset({"boss@example.com"}),
    reps=frozenset({"a@example.com", "b@example.com"}),
    every_rep=frozenset({"a@example.com", "b@example.com", "c@example.com"}),
)
REASONS = {
    "not_a_fit": RejectReason("not_a_fit", excludes=False),
    "duplicate": RejectReason("duplicate", excludes=True),
}
OPEN = LeadState(excluded=False, actioned=False)
ACTIONED = LeadState(excluded=False, actioned=True)
EXCLUDED = LeadState(excluded=True, actioned=False)


def click(kind: ActionKind, **kwargs: object) -> Click:
    return Click(
        lead_id=7,
        actor_email="b@example.com",
        kind=kind,
        at=AT,
        key="k1",
        via="slack",
        **kwargs,  # type: ignore[arg-type]
    )


def plan_of(c: Click, lead: LeadState = OPEN, role: Role = Role.OWNER) -> Plan:
    reason = REASONS.get(c.reason) if c.reason else None
    return plan(c, lead=lead, role=role, people=PEOPLE, reason=reason)


def test_a_contact_claims_the_first_action_and_records_itself() -> None:
    p = plan_of(click(ActionKind.CONTACTED, channel=ContactChannel.CALL))
    assert p.refusal is None
    assert p.claim is Claim.FIRST_ACTION
    assert p.lost is Result.ALREADY_ACTIONED
    assert not p.took_over
    (record,) = p.records
    assert (record.lead_id, record.kind, record.channel, record.idempotency_key) == (
        7,
        ActionKind.CONTACTED,
        "call",
        "k1",
    )
    assert record.actor_email == "b@example.com"


def test_a_teammate_who_acts_first_takes_the_lead_over_on_the_record() -> None:
    p = plan_of(click(ActionKind.CONTACTED), role=Role.TEAMMATE)
    assert p.took_over
    takeover, contact = p.records
    assert takeover.kind is ActionKind.REASSIGNED
    assert takeover.idempotency_key == "k1:takeover"
    assert takeover.new_owner_email == "b@example.com"
    assert contact.kind is ActionKind.CONTACTED


@pytest.mark.parametrize(
    ("c", "lead", "result"),
    [
        (click(ActionKind.REJECTED), OPEN, Result.BAD_REQUEST),
        (click(ActionKind.REJECTED, reason="bogus"), OPEN, Result.BAD_REQUEST),
        (click(ActionKind.REASSIGNED), OPEN, Result.BAD_REQUEST),
        (
            click(ActionKind.REASSIGNED, new_owner_email="c@example.com"),
            OPEN,
            Result.OWNER_OUTSIDE_TEAM,
        ),
        (click(ActionKind.SNOOZED, snooze_minutes=30), OPEN, Result.SNOOZE_NOT_OFFERED),
        (click(ActionKind.SNOOZED), OPEN, Result.SNOOZE_NOT_OFFERED),
        (click(ActionKind.SNOOZED, snooze_minutes=60), ACTIONED, Result.ALREADY_ACTIONED),
        (click(ActionKind.CONTACTED), EXCLUDED, Result.ALREADY_EXCLUDED),
        # what was asked for is judged before the lead's state
        (click(ActionKind.REJECTED), EXCLUDED, Result.BAD_REQUEST),
        (click(ActionKind.SNOOZED, snooze_minutes=5), EXCLUDED, Result.SNOOZE_NOT_OFFERED),
    ],
)
def test_refusals(c: Click, lead: LeadState, result: Result) -> None:
    p = plan_of(c, lead)
    assert p.refusal is result
    assert p.records == ()


def test_a_rejection_for_an_excluding_reason_claims_the_exclusion() -> None:
    p = plan_of(click(ActionKind.REJECTED, reason="duplicate"))
    assert p.claim is Claim.EXCLUSION
    assert p.lost is Result.ALREADY_EXCLUDED
    (record,) = p.records
    assert record.excludes
    assert record.reason == "duplicate"


def test_an_admin_may_reassign_to_a_rep_of_another_team_and_it_is_recorded_so() -> None:
    c = click(ActionKind.REASSIGNED, new_owner_email="c@example.com")
    p = plan_of(c, role=Role.ADMIN)
    assert p.refusal is None
    assert p.claim is None
    (record,) = p.records
    assert record.cross_team
    assert record.new_owner_email == "c@example.com"


def test_a_snooze_records_its_end() -> None:
    p = plan_of(click(ActionKind.SNOOZED, snooze_minutes=240))
    assert p.claim is None
    assert p.records[-1].until == AT + timedelta(minutes=240)


CLICKS = st.builds(
    click,
    st.sampled_from(list(ActionKind)),
    channel=st.one_of(st.none(), st.sampled_from(list(ContactChannel))),
    reason=st.sampled_from([None, "not_a_fit", "duplicate", "bogus"]),
    new_owner_email=st.sampled_from(
        [None, "", "a@example.com", "boss@example.com", "c@example.com", "nobody@example.com"]
    ),
    snooze_minutes=st.sampled_from([None, 5, 60, 240, 1440]),
)
STATES = st.builds(LeadState, excluded=st.booleans(), actioned=st.booleans())


@given(CLICKS, STATES, st.sampled_from(list(Role)))
def test_a_refused_click_claims_and_records_nothing(c: Click, lead: LeadState, role: Role) -> None:
    p = plan_of(c, lead, role)
    if p.refusal is not None:
        assert p.refusal is not Result.RECORDED
        assert p.claim is None
        assert p.records == ()
        assert not p.took_over
    else:
        assert p.records[-1].idempotency_key == c.key
        assert p.records[-1].kind is c.kind
        assert all(r.lead_id == c.lead_id and r.at == c.at for r in p.records)
        assert p.took_over == (len(p.records) == 2)


@given(CLICKS, st.sampled_from(list(Role)))
def test_nothing_is_recorded_on_an_excluded_lead(c: Click, role: Role) -> None:
    assert plan_of(c, EXCLUDED, role).refusal is not None


@given(CLICKS, STATES, st.sampled_from([Role.OWNER, Role.MANAGER, Role.TEAMMATE]))
def test_only_an_admin_hands_a_lead_to_another_team(c: Click, lead: LeadState, role: Role) -> None:
    p = plan_of(c, lead, role)
    assert not any(r.cross_team for r in p.records)
    if c.kind is ActionKind.REASSIGNED and c.new_owner_email in {
        "c@example.com",
        "nobody@example.com",
    }:
        assert p.refusal is Result.OWNER_OUTSIDE_TEAM


@given(CLICKS, STATES, st.sampled_from(list(Role)))
def test_only_a_teammate_takes_over_and_only_by_a_first_action(
    c: Click, lead: LeadState, role: Role
) -> None:
    p = plan_of(c, lead, role)
    if p.took_over:
        assert role is Role.TEAMMATE
        assert p.claim is Claim.FIRST_ACTION
        assert p.records[0].new_owner_email == c.actor_email
