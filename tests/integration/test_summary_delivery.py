"""The queued summary goes out through the real Slack outbox to a local server that answers
like Slack: the message with its blocks, and the chart uploaded the files_upload_v2 way."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from bot.app.summaries import enqueue_due_summaries
from bot.clock import FixedClock
from bot.slack.messenger import SlackMessenger, make_client
from bot.slack.people import Directory
from bot.slack.sender import slack_outbox
from storage.tables import OutboxMessage
from tests.fakes import BOT_TOKEN, fake_slack
from tests.integration.summary_data import seed, settings_for

OUTBOX = OutboxMessage.__table__
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)  # Monday 09:00 in New York


def test_the_summary_and_its_chart_reach_the_team_channel(engine: Engine) -> None:
    settings = settings_for(engine.url.render_as_string(hide_password=False))
    seed(engine, settings, NOW - timedelta(days=60))
    with engine.begin() as conn:
        queued = enqueue_due_summaries(conn, settings, NOW)
    assert "summary:east:2026-W47" in queued
    clock = FixedClock(NOW + timedelta(seconds=5))
    with fake_slack() as slack:
        messenger = SlackMessenger(make_client(BOT_TOKEN, f"{slack.url}/api/"))
        ticks = [0.0]  # the pace's seconds, moved by the test: none pass while it sends
        deliverer = slack_outbox(
            engine,
            settings,
            messenger,
            Directory(engine, messenger, clock),
            clock=clock,
            monotonic=lambda: ticks[0],
        )
        # a message and a chart for each of two teams; the chart waits its channel's
        # turn (about one message a second a channel)
        assert deliverer.run_once() == 2
        sent = 2
        for _ in range(10):
            wait = deliverer.pacer.soonest()
            if sent == 4 or wait is None:
                break
            assert 0 < wait <= 1
            ticks[0] += wait
            sent += deliverer.run_once()
        assert sent == 4

        posts = {p["channel"]: p for p in slack.called("chat.postMessage")}
        east = posts["CEAST"]
        assert east["text"].startswith("Weekly summary: east, 2026-W47")
        blocks = east["blocks"] if isinstance(east["blocks"], list) else json.loads(east["blocks"])
        assert blocks[0]["type"] == "header"
        assert "Weekly summary: east, 2026-W47" in blocks[0]["text"]["text"]
        assert len(blocks) <= 50

        asked = slack.called("files.getUploadURLExternal")
        completed = slack.called("files.completeUploadExternal")
        assert len(asked) == len(completed) == 2
        assert {a["filename"] for a in asked} == {"ignore-rate-2026-W47.png"}
        assert len(slack.uploads) == 2
        for ask, done in zip(asked, completed, strict=True):
            (shared,) = json.loads(done["files"])
            png = slack.uploads[shared["id"]]
            assert png.startswith(PNG_SIGNATURE)
            assert int(ask["length"]) == len(png) > 5000
        channels = {done["channel_id"]: json.loads(done["files"])[0] for done in completed}
        assert set(channels) == {"CEAST", "CBERLIN"}
        assert channels["CEAST"]["title"] == "east: ignore rate and SAL rate, 8 weeks to 2026-W47"

    with engine.connect() as conn:
        refs = dict(
            conn.execute(
                select(OUTBOX.c.key, OUTBOX.c.external_ref).where(OUTBOX.c.status == "sent")
            ).all()
        )
    assert refs["summary:east:2026-W47"].startswith("CEAST/")
    assert refs["summary-chart:east:2026-W47"] == f"CEAST/{channels['CEAST']['id']}"
