"""`ignorerate demo`'s database: built from nothing, three teams over three months, and a
story for "why it moved" to find in the last four weeks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bot.app.demo import DEMO_PEOPLE, build
from bot.app.reports import report
from metrics.rates import Counts
from storage.engine import make_engine

NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)


def _range(end: date, days: int) -> str:
    return f"{end - timedelta(days=days)}..{end - timedelta(days=1)}"


def _mean(counts: list[Counts]) -> float:
    return sum(c.handed_off for c in counts) / len(counts)


def test_the_demo_builds_three_teams_and_its_story(tmp_path: Path) -> None:
    settings = build(tmp_path, NOW, leads=3000)
    assert (tmp_path / "demo.db").exists()
    assert [t.name for t in settings.teams] == ["enterprise", "emea", "smb"]
    engine = make_engine(settings.database_url)
    try:
        today = NOW.astimezone(settings.timezone).date()
        recent = report(engine, settings, _range(today, 28), NOW)
        before = report(engine, settings, _range(today - timedelta(days=28), 28), NOW)
        for name in ("enterprise", "emea", "smb"):
            assert report(engine, settings, "last-90-days", NOW, name).totals.handed_off > 100
        now_by, then_by = dict(recent.by_source), dict(before.by_source)
        webinar_now, webinar_then = now_by.pop("webinar"), then_by.pop("webinar")
        others_now = list(now_by.values())
        # about twice as many as each other source now, level with them before
        assert webinar_now.handed_off > 1.6 * _mean(others_now)
        assert webinar_then.handed_off < 1.4 * _mean(list(then_by.values()))
        assert webinar_now.ignore_rate is not None
        assert webinar_then.ignore_rate is not None
        ignored_elsewhere = max(c.ignore_rate or 0 for c in others_now)
        assert webinar_now.ignore_rate > ignored_elsewhere
        assert webinar_now.ignore_rate > webinar_then.ignore_rate + 10
    finally:
        engine.dispose()
    # the demo's sign-in offers an admin, a manager and a rep of the configuration
    assert DEMO_PEOPLE[0] in settings.admins
    assert any(DEMO_PEOPLE[1] in t.managers for t in settings.teams)
    assert any(DEMO_PEOPLE[2] in t.reps for t in settings.teams)


def test_a_second_build_replaces_the_first(tmp_path: Path) -> None:
    build(tmp_path, NOW, leads=300)
    settings = build(tmp_path, NOW + timedelta(days=1), leads=300)
    engine = make_engine(settings.database_url)
    try:
        totals = report(engine, settings, "last-90-days", NOW + timedelta(days=1)).totals
        assert 0 < totals.handed_off <= 300
    finally:
        engine.dispose()
