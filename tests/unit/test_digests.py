"""How one sweep's new nudges are grouped into digests, decided without a database."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from metrics.digests import REMINDING, Audience, Digest, Due, TeamsDigest, group, stamp
from metrics.nudges import Stage

NOW = datetime(2026, 11, 24, 3, 7, 30, tzinfo=UTC)
AUDIENCES = {
    "ent": Audience(slack_channel="C-ENT", managers=("boss@example.com", "vp@example.com")),
    "smb": Audience(slack_channel="C-SMB", escalate_channel="C-SMB", managers=()),
    "lone": Audience(),  # Slack DMs only: no channel, no manager
    "msft": Audience(slack=False, teams=True),
    "both": Audience(teams=True, managers=("boss@example.com",)),
}


def test_one_digest_per_person_listing_every_team_of_theirs() -> None:
    out = group(
        [
            Due(1, Stage.REMINDER, "a@example.com", "ent"),
            Due(2, Stage.HEADS_UP, "a@example.com", "smb"),
            Due(3, Stage.ESCALATION, "a@example.com", "ent"),
            Due(4, Stage.ESCALATION, None, "both"),
            Due(5, Stage.REMINDER, None, "smb"),
            Due(6, Stage.ESCALATION, "c@example.com", "smb"),
            Due(7, Stage.REASSIGN, "a@example.com", "ent"),
        ],
        AUDIENCES,
        NOW,
    )
    assert out.slack == {
        "digest:rep:a@example.com:20261124T0307": Digest(
            "rep", "a@example.com", ("ent", "smb"), (1, 2)
        ),
        "digest:manager:boss@example.com:20261124T0307": Digest(
            "manager", "boss@example.com", ("both", "ent"), (3, 4)
        ),
        "digest:manager:vp@example.com:20261124T0307": Digest(
            "manager", "vp@example.com", ("ent",), (3,)
        ),
        "digest:channel:C-SMB:20261124T0307": Digest("channel", "C-SMB", ("smb",), (5, 6)),
    }
    assert out.teams == {"digest:teams:both:20261124T0307": TeamsDigest("both", (), (4,))}
    assert out.unreached == ()
    # reps first, then managers, then channels
    assert [d.audience for d in out.slack.values()] == ["rep", "manager", "manager", "channel"]


def test_a_teams_only_team_gets_one_card_and_no_slack_digest() -> None:
    out = group(
        [
            Due(1, Stage.REMINDER, "a@example.com", "msft"),
            Due(2, Stage.ESCALATION, "a@example.com", "msft"),
            Due(3, Stage.HEADS_UP, None, "msft"),
        ],
        AUDIENCES,
        NOW,
    )
    assert out.slack == {}
    assert out.teams == {"digest:teams:msft:20261124T0307": TeamsDigest("msft", (1, 3), (2,))}


def test_nudges_with_nowhere_to_go_are_reported() -> None:
    lost = [Due(1, Stage.REMINDER, None, "lone"), Due(2, Stage.ESCALATION, "a@x.com", "lone")]
    out = group([*lost, Due(3, Stage.REASSIGN, None, "lone")], AUDIENCES, NOW)
    assert out.slack == {}
    assert out.unreached == tuple(lost)


def test_the_stamp_is_the_same_minute_in_any_timezone() -> None:
    tokyo = NOW.astimezone(timezone(timedelta(hours=9)))
    assert stamp(tokyo) == stamp(NOW) == "20261124T0307"


DUES = st.lists(
    st.builds(
        Due,
        st.integers(1, 50),
        st.sampled_from(list(Stage)),
        st.sampled_from([None, "a@example.com", "b@example.com", "boss@example.com"]),
        st.sampled_from(sorted(AUDIENCES)),
    ),
    max_size=30,
)


def _slack_places(due: Due) -> Counter[tuple[str, str]]:
    """Where the rule says a nudge goes on Slack."""
    where = AUDIENCES[due.team]
    if not where.slack:
        return Counter()
    if due.stage in REMINDING:
        if due.owner is not None:
            return Counter({("rep", due.owner): 1})
        return Counter({("channel", where.slack_channel): 1} if where.slack_channel else {})
    if due.stage is Stage.ESCALATION:
        places = Counter(("manager", m) for m in where.managers)
        if where.escalate_channel:
            places[("channel", where.escalate_channel)] += 1
        return places
    return Counter()


@given(DUES)
def test_every_nudge_lands_once_in_each_digest_it_is_for_and_in_no_other(
    dues: list[Due],
) -> None:
    out = group(dues, AUDIENCES, NOW)
    listed: Counter[tuple[str, str, int]] = Counter()
    for key, digest in out.slack.items():
        assert key == f"digest:{digest.audience}:{digest.to}:{stamp(NOW)}"
        assert list(digest.lead_ids) == sorted(digest.lead_ids)
        assert list(digest.teams) == sorted(set(digest.teams))
        listed.update((digest.audience, digest.to, lead) for lead in digest.lead_ids)
    wanted: Counter[tuple[str, str, int]] = Counter()
    for due in dues:
        places = _slack_places(due)
        wanted.update({(audience, to, due.lead_id): n for (audience, to), n in places.items()})
        unreached = out.unreached.count(due)
        if AUDIENCES[due.team].slack and due.stage is not Stage.REASSIGN and not places:
            assert unreached >= 1
        else:
            assert unreached == 0
    assert listed == wanted
    # one digest per recipient: no (audience, to) twice
    recipients = [(d.audience, d.to) for d in out.slack.values()]
    assert len(recipients) == len(set(recipients))


@given(DUES)
def test_each_teams_team_gets_one_card_with_its_reminders_and_escalations(
    dues: list[Due],
) -> None:
    out = group(dues, AUDIENCES, NOW)
    cards = {card.team: card for card in out.teams.values()}
    assert len(cards) == len(out.teams)
    for key, card in out.teams.items():
        assert key == f"digest:teams:{card.team}:{stamp(NOW)}"
        assert AUDIENCES[card.team].teams
    for team, where in AUDIENCES.items():
        mine = [d for d in dues if d.team == team]
        reminders = sorted({d.lead_id for d in mine if d.stage in REMINDING})
        escalations = sorted({d.lead_id for d in mine if d.stage is Stage.ESCALATION})
        if where.teams and (reminders or escalations):
            assert cards[team] == TeamsDigest(team, tuple(reminders), tuple(escalations))
        else:
            assert team not in cards
