"""A lead stays inside its team: it can be given only to a rep or manager of its team, or
by an admin to a rep of another team (recorded as such); and a snooze lasts one of the
lengths the card offers, or nothing is recorded. Over real HTTP to the running bot."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select

from storage.tables import Action, Lead, LeadOwner, Rep
from tests.e2e.conftest import Bot
from tests.e2e.test_clicks import new_lead, owner_of
from tests.security.conftest import census

REFUSED = "is not a rep or manager of team enterprise"


def reassign(bot: Bot, user: str, lead_id: int, to: str) -> dict[str, Any]:
    return bot.click_payload(
        user,
        "lead.reassign",
        value=str(lead_id),
        extra={"type": "users_select", "selected_user": to, "block_id": f"lead:{lead_id}:more"},
    )


def snooze(bot: Bot, user: str, value: str) -> dict[str, Any]:
    return bot.click_payload(
        user,
        "lead.snooze",
        extra={"type": "static_select", "selected_option": {"value": value}},
    )


def owner_history(bot: Bot, lead_id: int) -> list[tuple[str | None, str | None, bool]]:
    """(new owner, who moved it, across teams) for each move of the lead."""
    o = LeadOwner.__table__.c
    a = Action.__table__.c
    owner = Rep.__table__.alias("owner")
    actor = Rep.__table__.alias("actor")
    with bot.engine.connect() as conn:
        rows = conn.execute(
            select(owner.c.email, actor.c.email, o.cross_team)
            .select_from(LeadOwner.__table__)
            .outerjoin(owner, owner.c.id == o.rep_id)
            .join(Action.__table__, a.id == o.action_id)
            .outerjoin(actor, actor.c.id == a.actor_id)
            .where(o.lead_id == lead_id)
            .order_by(o.id)
        )
        return [(new, by, bool(cross)) for new, by, cross in rows]


def test_nobody_but_an_admin_gives_a_lead_outside_its_team_and_a_refusal_records_nothing(
    bot: Bot,
) -> None:
    lead_id = new_lead(bot, "OWN-1")
    before = census(bot.engine)
    refused = [
        ("UA", "USTRANGER"),  # the owner, to a Slack user on no team
        ("UB", "UC"),  # a teammate, to a rep of another team
        ("UBOSS", "UC"),  # the team's manager, to a rep of another team
        ("UBOSS", "USTRANGER"),
        ("UADMIN", "USTRANGER"),  # not even an admin: a person on no team
        ("UADMIN", "UADMIN"),  # an admin is on no team either
    ]
    for n, (user, to) in enumerate(refused, start=1):
        assert bot.interact(reassign(bot, user, lead_id, to)).status_code == 200
        told = bot.slack.wait_for("chat.postEphemeral", count=n)[-1]
        assert told["user"] == user, (user, to)
        assert REFUSED in told["text"], (user, to, told["text"])
        assert "nothing was recorded" in told["text"]
        assert census(bot.engine) == before, (user, to)
        assert owner_of(bot, lead_id) == "a@example.com"
    assert owner_history(bot, lead_id) == []


def test_a_stranger_cannot_take_an_unassigned_lead_and_an_admin_on_no_team_neither(
    bot: Bot,
) -> None:
    lead_id = new_lead(bot, "OWN-2", owner=None)
    before = census(bot.engine)
    click = bot.click_payload("UADMIN", "lead.take", value=str(lead_id), channel="CTEAM")
    assert bot.interact(click).status_code == 200
    (told,) = bot.slack.wait_for("chat.postEphemeral")
    assert REFUSED in told["text"]
    assert census(bot.engine) == before
    assert owner_of(bot, lead_id) is None


def test_a_reassignment_inside_the_team_is_recorded_with_who_made_it(bot: Bot) -> None:
    lead_id = new_lead(bot, "OWN-3")
    bot.interact(reassign(bot, "UBOSS", lead_id, "UB"))
    bot.slack.wait_for("chat.update")
    assert owner_of(bot, lead_id) == "b@example.com"
    assert owner_history(bot, lead_id) == [("b@example.com", "boss@example.com", False)]


def test_an_admin_gives_a_lead_to_another_teams_rep_on_the_record_who_then_owns_it(
    bot: Bot,
) -> None:
    lead_id = new_lead(bot, "OWN-4")
    bot.interact(reassign(bot, "UADMIN", lead_id, "UC"))
    bot.slack.wait_for("chat.update")
    assert owner_of(bot, lead_id) == "c@example.com"
    assert owner_history(bot, lead_id) == [("c@example.com", "revops@example.com", True)]
    # the new owner may act on it as its owner
    bot.interact(bot.click_payload("UC", "lead.contacted.call", value=str(lead_id)))
    kind = None
    deadline = time.monotonic() + 10  # the click is answered first, recorded just after
    while kind is None and time.monotonic() < deadline:
        time.sleep(0.02)
        with bot.engine.connect() as conn:
            kind = conn.execute(
                select(Lead.__table__.c.first_action_kind).where(Lead.__table__.c.id == lead_id)
            ).scalar()
    assert kind == "contacted"


def test_only_the_offered_snooze_lengths_are_taken_and_a_refusal_records_nothing(
    bot: Bot,
) -> None:
    lead_id = new_lead(bot, "SNZ-1")
    before = census(bot.engine)
    bad = [
        "30",  # a length no card offers
        "-60",  # ends in the past
        "0",
        "99999999999999999999999",  # past any calendar
        "abc",
        "",
        "60.5",
        "６０",  # full-width digits: 60 to the eye, not to us
        "60:60",
    ]
    for n, minutes in enumerate(bad, start=1):
        assert bot.interact(snooze(bot, "UA", f"{lead_id}:{minutes}")).status_code == 200
        told = bot.slack.wait_for("chat.postEphemeral", count=n)[-1]
        assert told["user"] == "UA"
        assert "can be snoozed for 1 h, 4 h, 1 d only" in told["text"], (
            minutes,
            told["text"],
        )
        assert "nothing was recorded" in told["text"]
        assert census(bot.engine) == before, minutes
    with bot.engine.connect() as conn:
        snoozed = conn.execute(
            select(Lead.__table__.c.snoozed_until).where(Lead.__table__.c.id == lead_id)
        ).scalar()
    assert snoozed is None
    # an offered length still works
    bot.interact(snooze(bot, "UA", f"{lead_id}:1440"))
    told = bot.slack.wait_for("chat.postEphemeral", count=len(bad) + 1)[-1]
    assert "Reminders snoozed until" in told["text"]
    assert census(bot.engine).actions == before.actions + 1
