"""The dashboard's numbers are the report's: on generated data (repeats, reassignments,
exclusions, rejections, late and pending leads, three teams in three time zones), for
several periods and teams, every tile, table, lead list and trend point equals what
`report` (`ignorerate report --format json`, `/ignorerate`) and the weekly summary say for
the same period, team and moment. On SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from bench.generate import Shape, write
from bot.app import dashboard
from bot.app.actions import record_actions
from bot.app.dashboard import NONE_KEY, Cursor, CursorError, LeadFilter, LeadRow, Outcome
from bot.app.fields import ActionInput, LeadInput, parse_instant
from bot.app.handoffs import ingest_leads
from bot.app.reports import report
from bot.app.summaries import build_summary
from bot.app.teams import UnknownTeamError
from bot.cli import main
from bot.config import Settings, load_settings, parse_settings
from metrics.errors import PeriodError
from metrics.model import ActionKind
from metrics.outcomes import first_action, outcome
from metrics.periods import parse_period
from metrics.summary import IsoWeek
from storage import reports, summaries
from storage.nudges import record_nudges
from storage.repository import ensure_reps, find_leads
from tests.builders import read_csv
from tests.integration.summary_data import settings_for
from tests.integration.test_generated_dataset import _expected_leads
from tests.integration.test_report_matches_pure import (
    Scenario,
    _minutes,
    _store_and_model,
    scenario,
)

AS_OF = parse_instant("2026-11-20T15:00:00+09:00")
TEAMS = ("enterprise", "emea", "smb")
PERIODS = ("last-4-weeks", "last-month", "2026-10-01..2026-10-15", "this-month")


def _without_some_campaigns(leads_csv: Path) -> None:
    """One lead in seven loses its campaign (each repeat of it too): "no campaign" is a
    group of its own."""
    with leads_csv.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    column, key = rows[0].index("campaign"), rows[0].index("external_id")
    for row in rows[1:]:
        if int(row[key].rsplit("-", 1)[1]) % 7 == 0:
            row[column] = ""
    with leads_csv.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)


@pytest.fixture
def generated(tmp_path: Path, database_url: str, engine: Engine) -> tuple[Settings, Path, Path]:
    leads_csv, actions_csv, config = write(Shape(leads=1200, days=100), tmp_path)
    _without_some_campaigns(leads_csv)
    env = {"DATABASE_URL": database_url, "IGNORERATE_CONFIG": str(config)}
    runner = CliRunner()
    for kind, path in (("leads", leads_csv), ("actions", actions_csv)):
        result = runner.invoke(main, ["import", kind, str(path)], env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
    return load_settings(config, env={"DATABASE_URL": database_url}), leads_csv, actions_csv


def _all(
    engine: Engine, settings: Settings, wanted: LeadFilter, limit: int = 97
) -> Iterator[LeadRow]:
    """Every page of the list, cursor to cursor (the cursor through its text form)."""
    after: Cursor | None = None
    while True:
        page = dashboard.leads(engine, settings, wanted, AS_OF, limit=limit, after=after)
        assert len(page.rows) <= limit
        yield from page.rows
        if page.next is None:
            return
        assert len(page.rows) == limit
        after = Cursor.parse(page.next.token())


def _previous_text(settings: Settings, team: str, period: str) -> str:
    tz = settings.team(team).timezone  # type: ignore[union-attr]
    p = parse_period(period, AS_OF.astimezone(tz).date())
    first = p.first_day - timedelta(days=p.days)
    return f"{first}..{p.first_day - timedelta(days=1)}"


@pytest.mark.slow
def test_tiles_tables_and_why_equal_the_report(
    engine: Engine, generated: tuple[Settings, Path, Path]
) -> None:
    settings, _, _ = generated
    for period in PERIODS:
        tiles = dashboard.overview(engine, settings, period, AS_OF, list(reversed(TEAMS)))
        assert [t.team for t in tiles] == list(reversed(TEAMS))  # the order asked for
        for tile in tiles:
            now = report(engine, settings, period, AS_OF, tile.team)
            before_text = _previous_text(settings, tile.team, period)
            before = report(engine, settings, before_text, AS_OF, tile.team)
            assert tile.current == now.totals
            assert tile.previous == before.totals
            assert (tile.period.first_day, tile.period.end_day) == (
                now.period.first_day,
                now.period.end_day,
            )
            assert tile.previous_period.end_day == tile.period.first_day
            assert tile.previous_period.days == tile.period.days
            if tile.current.ignore_rate is not None and tile.previous.ignore_rate is not None:
                assert tile.change_ignore == pytest.approx(
                    tile.current.ignore_rate - tile.previous.ignore_rate
                )

            page = dashboard.team_page(engine, settings, tile.team, period, AS_OF)
            assert page.tile == tile
            assert page.by_rep == list(now.by_rep)
            assert page.by_source == list(now.by_source)
            campaigns = dict(page.by_campaign)
            assert sum(c.handed_off for c in campaigns.values()) == tile.current.handed_off
            for field in ("excluded", "pending", "ignored", "on_time", "late", "rejected"):
                assert sum(getattr(c, field) for c in campaigns.values()) == getattr(
                    tile.current, field
                ), field
            assert sum(n for _, n in page.reasons) == tile.current.rejected

            for group in ("source", "rep", "campaign"):
                why = page.why[group]
                assert why.counted_before == tile.previous.counted
                assert why.counted_after == tile.current.counted
                assert why.ignored_after == tile.current.ignored
                if why.change is None:
                    assert tile.change_ignore is None
                    continue
                assert why.change == Fraction(tile.current.ignored, tile.current.counted) * 100 - (
                    Fraction(tile.previous.ignored, tile.previous.counted) * 100
                )
                assert tile.change_ignore == pytest.approx(float(why.change))
                parts = why.contribution
                assert parts is not None
                assert parts.mix + parts.rate == why.change
    # the data set has something in every group kind the pages show
    page = dashboard.team_page(engine, settings, "smb", "last-4-weeks", AS_OF)
    assert None in dict(page.by_campaign)
    assert len(page.by_campaign) > 10
    assert page.reasons
    assert page.why["source"].change is not None


@pytest.mark.slow
def test_the_cli_json_says_what_the_tiles_say(
    engine: Engine, database_url: str, generated: tuple[Settings, Path, Path]
) -> None:
    settings, _, _ = generated
    config = settings.source
    env = {"DATABASE_URL": database_url, "IGNORERATE_CONFIG": config}
    tiles = dashboard.overview(engine, settings, "last-4-weeks", AS_OF, TEAMS)
    for tile in tiles:
        result = CliRunner().invoke(
            main,
            [
                "report",
                "last-4-weeks",
                "--team",
                tile.team,
                "--as-of",
                AS_OF.isoformat(),
                "--format",
                "json",
            ],
            env=env,
            catch_exceptions=False,
        )
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["totals"] == tile.current.as_dict()


@pytest.mark.slow
def test_rejection_reasons_are_those_of_each_lead_s_first_action(
    engine: Engine, generated: tuple[Settings, Path, Path]
) -> None:
    settings, leads_csv, actions_csv = generated
    model = _expected_leads(leads_csv, actions_csv, Path(settings.source))
    reasons = {seq: row["reason"] for seq, row in enumerate(read_csv(actions_csv), start=1)}
    team_of = {(row["source"], row["external_id"]): row["team"] for row in read_csv(leads_csv)}
    for team in TEAMS:
        tz = settings.team(team).timezone  # type: ignore[union-attr]
        start, end = parse_period("last-month", AS_OF.astimezone(tz).date()).bounds(tz)
        expected: Counter[str] = Counter()
        for lead in model:
            if team_of[(lead.source, lead.external_id)] != team:
                continue
            if not start <= lead.handed_off_at < end or lead.handed_off_at > AS_OF:
                continue
            if outcome(lead, AS_OF) in (Outcome.ON_TIME, Outcome.LATE):
                first = first_action(lead, AS_OF)
                assert first is not None
                if first.kind is ActionKind.REJECTED:
                    expected[reasons[first.seq]] += 1
        page = dashboard.team_page(engine, settings, team, "last-month", AS_OF)
        assert dict(page.reasons) == expected
        assert [n for _, n in page.reasons] == sorted(expected.values(), reverse=True)


@pytest.mark.slow
def test_the_lead_list_lists_exactly_what_the_report_counts(
    engine: Engine, generated: tuple[Settings, Path, Path]
) -> None:
    settings, _, _ = generated
    seen: Counter[Outcome] = Counter()
    for team in TEAMS:
        now = report(engine, settings, "last-4-weeks", AS_OF, team)
        everything = LeadFilter(teams=(team,))
        listed = list(_all(engine, settings, everything))
        # keyset paging: every lead once, newest handoff first then highest id
        assert len({r.id for r in listed}) == len(listed) == now.totals.handed_off
        order = [(r.handed_off_at, r.id) for r in listed]
        assert order == sorted(order, reverse=True)
        assert list(dashboard.leads_csv_rows(engine, settings, everything, AS_OF)) == listed
        assert all(r.team == team for r in listed)

        for wanted in Outcome:
            rows = list(_all(engine, settings, replace(everything, outcome=wanted)))
            assert len(rows) == getattr(now.totals, wanted.value), wanted
            assert {r.outcome for r in rows} <= {wanted}
            seen[wanted] += len(rows)
            assert all(
                (r.first_action_at is not None) == (wanted in (Outcome.ON_TIME, Outcome.LATE))
                for r in rows
            )

        for rep, counts in now.by_rep:
            key = NONE_KEY if rep is None else rep
            rows = list(_all(engine, settings, replace(everything, rep=key), limit=500))
            assert len(rows) == counts.handed_off
            assert {r.charged_to for r in rows} == {rep}
            ignored = replace(everything, rep=key, outcome=Outcome.IGNORED)
            assert len(list(_all(engine, settings, ignored, limit=500))) == counts.ignored

        owners = Counter(r.owner_email for r in listed)
        some_rep = max((e for e in owners if e is not None), key=lambda e: (owners[e], e))
        mine = list(_all(engine, settings, replace(everything, owner_email=some_rep.upper())))
        assert len(mine) == owners[some_rep]
        assert {r.owner_email for r in mine} == {some_rep}
        nobody = list(_all(engine, settings, replace(everything, owner_email=NONE_KEY)))
        assert len(nobody) == owners[None]

        for source, counts in now.by_source:
            rows = list(_all(engine, settings, replace(everything, source=source), limit=500))
            assert len(rows) == counts.handed_off
        page = dashboard.team_page(engine, settings, team, "last-4-weeks", AS_OF)
        for campaign, counts in page.by_campaign:
            key = NONE_KEY if campaign is None else campaign
            rows = list(_all(engine, settings, replace(everything, campaign=key), limit=500))
            assert len(rows) == counts.handed_off
            assert {r.campaign for r in rows} == {campaign}

    assert all(seen[o] > 0 for o in Outcome), seen  # the data has leads of every outcome
    # several teams at once: each read in its own time zone, together in one list
    both = list(_all(engine, settings, LeadFilter(teams=("enterprise", "smb"))))
    assert len(both) == sum(
        report(engine, settings, "last-4-weeks", AS_OF, t).totals.handed_off
        for t in ("enterprise", "smb")
    )
    assert list(_all(engine, settings, LeadFilter(teams=()))) == []


@pytest.mark.slow
def test_the_trend_is_the_weekly_summary_s(
    engine: Engine, generated: tuple[Settings, Path, Path]
) -> None:
    settings, _, _ = generated
    for team in TEAMS:
        points = dashboard.trend(engine, settings, team, AS_OF)
        assert len(points) == 12
        tz = settings.team(team).timezone  # type: ignore[union-attr]
        week = IsoWeek.of(AS_OF.astimezone(tz).date())
        assert points[-1].week == str(week)
        with engine.connect() as conn:
            summary = build_summary(conn, settings, team, str(week), AS_OF)
        assert points[-len(summary.trend) :] == list(summary.trend)
        for point in points[:4]:  # weeks the summary's trend does not reach
            weekly = report(engine, settings, point.week, AS_OF, team).totals
            assert (point.ignore_rate, point.sal_rate) == (weekly.ignore_rate, weekly.sal_rate)
        assert any(p.ignore_rate is not None for p in points[:4])


@pytest.mark.slow
def test_the_overview_read_in_one_statement_is_its_tiles_and_trends(
    engine: Engine, generated: tuple[Settings, Path, Path]
) -> None:
    """What the overview page reads at once equals each tile and each trend read alone,
    and every window's totals equal the report's totals of that window's cohort, windows
    overlapping or empty, of a team the database has never seen too."""
    settings, _, _ = generated
    for period in ("last-4-weeks", "last-month", "2026-10-01..2026-10-15"):
        tiles, trends = dashboard.overview_with_trends(engine, settings, period, AS_OF, TEAMS)
        assert tiles == dashboard.overview(engine, settings, period, AS_OF, TEAMS)
        assert trends == [(team, dashboard.trend(engine, settings, team, AS_OF)) for team in TEAMS]
    with engine.connect() as conn:
        ids = summaries.team_ids(conn)
        day = timedelta(days=1)
        start = AS_OF - 40 * day
        windows = [
            reports.Window(ids["smb"], start, AS_OF),
            reports.Window(ids["smb"], start + 10 * day, start + 17 * day),  # inside the first
            reports.Window(ids["emea"], start, start + 17 * day),
            reports.Window(dashboard.NO_TEAM, start, AS_OF),  # no such team: nothing
            reports.Window(ids["emea"], start, start),  # empty
            reports.Window(ids["enterprise"], start - 60 * day, AS_OF + 9 * day),
        ]
        found = reports.totals_by_window(conn, windows, AS_OF)
        cohorts = [reports.Cohort(w.start, w.end, AS_OF, w.team_id) for w in windows]
        expected = [reports.breakdown(conn, cohort).totals for cohort in cohorts]
        assert [reports.total(conn, cohort) for cohort in cohorts] == expected
        assert reports.totals_by_window(conn, windows[:1], AS_OF) == expected[:1]
    assert found == expected
    assert found[1].handed_off > 0
    assert found[3].handed_off == found[4].handed_off == 0


def test_bad_periods_teams_and_cursors_are_refused_as_the_report_refuses_them(
    engine: Engine, tmp_path: Path, database_url: str
) -> None:
    _, _, config = write(Shape(leads=1), tmp_path)
    settings = load_settings(config, env={"DATABASE_URL": database_url})
    with pytest.raises(PeriodError):
        dashboard.overview(engine, settings, "fortnight", AS_OF, ["smb"])
    with pytest.raises(PeriodError):
        dashboard.team_page(engine, settings, "smb", "2026-13", AS_OF)
    with pytest.raises(UnknownTeamError):
        dashboard.overview(engine, settings, "last-4-weeks", AS_OF, ["smb", "nope"])
    with pytest.raises(UnknownTeamError):
        dashboard.trend(engine, settings, "nope", AS_OF)
    with pytest.raises(UnknownTeamError):
        dashboard.leads(engine, settings, LeadFilter(teams=("nope",)), AS_OF, limit=10)
    for token in ("", "12", "a.b", "1.-2", "99999999999999999999.1"):
        with pytest.raises(CursorError):
            Cursor.parse(token)
    moment = datetime(2026, 11, 3, 4, 5, 6, tzinfo=UTC)
    assert Cursor.parse(Cursor(moment, 42).token()) == Cursor(moment, 42)
    # a configured team without a lead yet: empty counts, no rate, nothing written
    (tile,) = dashboard.overview(engine, settings, "last-4-weeks", AS_OF, ["emea"])
    assert tile.current.handed_off == 0
    assert tile.current.ignore_rate is None
    assert tile.change_ignore is None
    page = dashboard.team_page(engine, settings, "emea", "last-4-weeks", AS_OF)
    assert page.by_rep == page.by_campaign == []
    assert page.reasons == []
    assert page.why["source"].change is None


def test_a_lead_s_timeline_is_complete_and_in_order(engine: Engine, database_url: str) -> None:
    settings = settings_for(database_url)
    tz = ZoneInfo("America/New_York")
    handed = datetime(2026, 11, 3, 10, 0, tzinfo=tz)
    recorded = handed + timedelta(days=3)

    def act(minutes: int, kind: ActionKind, **fields: str | None) -> ActionInput:
        return ActionInput(
            "web",
            "L1",
            handed + timedelta(minutes=minutes),
            kind,
            fields.get("channel"),
            fields.get("actor"),
            fields.get("reason"),
            fields.get("new_owner"),
        )

    with engine.begin() as conn:
        ingest_leads(
            conn,
            settings,
            [LeadInput("web", "L1", handed, "east", "a@example.com", "Ann", "Acme", None, "fall")],
            recorded,
        )
        lead_id = find_leads(conn, [("web", "L1")])[("web", "L1")].id
        slack = [
            act(30, ActionKind.REASSIGNED, actor="a@example.com", new_owner="b@example.com"),
            act(240, ActionKind.COMMENT, actor="b@example.com"),
        ]
        assert not record_actions(conn, settings, slack, recorded, "slack").errors
        webhook = [
            act(90, ActionKind.CONTACTED, channel="call", actor="b@example.com"),
            act(24 * 60, ActionKind.CONTACTED, channel="email", actor="b@example.com"),
        ]
        assert not record_actions(conn, settings, webhook, recorded, "webhook").errors
        reps = ensure_reps(conn, ["a@example.com"], recorded)
    with engine.begin() as conn:
        record_nudges(
            conn, [(lead_id, "reminder", 0, reps["a@example.com"])], handed + timedelta(minutes=20)
        )

    found = dashboard.lead_timeline(engine, settings, lead_id, recorded)
    assert found is not None
    row, events = found
    assert (row.id, row.name, row.company, row.campaign, row.team) == (
        lead_id,
        "Ann",
        "Acme",
        "fall",
        "east",
    )
    assert row.owner_email == "b@example.com"
    assert row.charged_to == "b@example.com"  # held it when it was first touched
    assert row.outcome is Outcome.LATE  # 90 minutes, with an SLA of 60
    assert row.first_action_at == handed + timedelta(minutes=90)
    assert [(e.at - handed, e.kind, e.action_kind, e.via) for e in events] == [
        (timedelta(0), "handoff", None, None),
        (timedelta(minutes=20), "nudge", None, None),
        (timedelta(minutes=30), "owner", "reassigned", "slack"),
        (timedelta(minutes=90), "action", "contacted", "webhook"),
        (timedelta(minutes=240), "action", "comment", "slack"),
        (timedelta(days=1), "action", "contacted", "webhook"),
    ]
    handoff, nudge, owner, call, _, email = events
    assert handoff.new_owner_email == "a@example.com"
    assert (nudge.nudge_kind, nudge.nudge_cycle, nudge.nudged_email) == (
        "reminder",
        0,
        "a@example.com",
    )
    assert (owner.actor_email, owner.new_owner_email) == ("a@example.com", "b@example.com")
    assert (call.channel, call.actor_email) == ("call", "b@example.com")
    assert email.channel == "email"

    # as of an earlier moment: what had happened by then, and the outcome then
    earlier = dashboard.lead_timeline(engine, settings, lead_id, handed + timedelta(minutes=75))
    assert earlier is not None
    row, events = earlier
    assert [e.kind for e in events] == ["handoff", "nudge", "owner"]
    assert row.outcome is Outcome.IGNORED  # due after 60 minutes, untouched at 75
    assert row.first_action_at is None
    assert dashboard.lead_timeline(engine, settings, lead_id + 1, recorded) is None


@settings(max_examples=40)
@given(scenario(), st.integers(1, 6))
def test_on_random_leads_the_list_pages_and_filters_as_the_report_counts(
    engine: Engine, database_url: str, case: Scenario, limit: int
) -> None:
    """Handoffs on an hourly grid, so that many leads share a handoff time: keyset paging
    must still give each lead once, and every filter the report's count."""
    leads, actions, _, _, as_of_min, batches = case
    _store_and_model(engine, leads, actions, batches)
    config = parse_settings(
        {
            "timezone": "UTC",
            "teams": [{"name": "t", "timezone": "UTC", "sla": {"minutes": 60}}],
        },
        "test.yml",
        {"DATABASE_URL": database_url},
    )
    as_of = _minutes(as_of_min)
    period = "2026-10-01..2026-10-02"  # the grid's last hour, 2026-10-03T00:00, is outside
    now = report(engine, config, period, as_of, "t")
    (tile,) = dashboard.overview(engine, config, period, as_of, ["t"])
    assert tile.current == now.totals
    assert tile.previous == report(engine, config, "2026-09-29..2026-09-30", as_of, "t").totals

    def listed(**narrow: Any) -> list[LeadRow]:
        wanted = replace(LeadFilter(teams=("t",), period_text=period), **narrow)
        rows: list[LeadRow] = []
        after: Cursor | None = None
        while True:
            page = dashboard.leads(engine, config, wanted, as_of, limit=limit, after=after)
            rows += page.rows
            if page.next is None:
                return rows
            after = page.next

    everything = listed()
    assert len({r.id for r in everything}) == len(everything) == now.totals.handed_off
    order = [(r.handed_off_at, r.id) for r in everything]
    assert order == sorted(order, reverse=True)
    for wanted in Outcome:
        assert len(listed(outcome=wanted)) == getattr(now.totals, wanted.value)
    for rep, counts in now.by_rep:
        rows = listed(rep=NONE_KEY if rep is None else rep)
        assert len(rows) == counts.handed_off
        assert {r.charged_to for r in rows} == {rep}
