"""Which platforms hear of a team's message (metrics.routing)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from metrics.routing import MessageKind, Platform, Reach, platforms

reaches = st.builds(Reach, st.booleans(), st.booleans(), st.booleans())


def test_a_team_with_only_a_teams_webhook_gets_nothing_on_slack() -> None:
    teams_only = Reach(teams_webhook=True)
    for kind in MessageKind:
        assert platforms(teams_only, kind) == {Platform.TEAMS}


def test_a_team_with_no_place_named_is_reached_on_slack_by_dm_but_has_no_summary() -> None:
    default = Reach()
    assert platforms(default, MessageKind.LEAD_CARD) == {Platform.SLACK}
    assert platforms(default, MessageKind.DIGEST) == {Platform.SLACK}
    assert platforms(default, MessageKind.SUMMARY) == frozenset()


def test_a_team_with_a_slack_channel_and_a_teams_webhook_gets_both() -> None:
    both = Reach(slack_channel=True, teams_webhook=True)
    for kind in MessageKind:
        assert platforms(both, kind) == {Platform.SLACK, Platform.TEAMS}


@given(reaches, st.sampled_from(MessageKind))
def test_teams_hears_exactly_when_there_is_a_webhook(reach: Reach, kind: MessageKind) -> None:
    assert (Platform.TEAMS in platforms(reach, kind)) == reach.teams_webhook


@given(reaches, st.sampled_from(MessageKind))
def test_slack_hears_only_of_a_team_on_slack_and_summaries_only_in_a_channel(
    reach: Reach, kind: MessageKind
) -> None:
    to = platforms(reach, kind)
    if Platform.SLACK in to:
        assert reach.on_slack
        assert kind is not MessageKind.SUMMARY or reach.slack_channel
    if reach.teams_webhook and not (reach.slack_channel or reach.slack_handoff_channels):
        assert Platform.SLACK not in to


@given(reaches, st.sampled_from([MessageKind.LEAD_CARD, MessageKind.DIGEST]))
def test_a_card_or_digest_always_reaches_some_platform(reach: Reach, kind: MessageKind) -> None:
    assert platforms(reach, kind)
