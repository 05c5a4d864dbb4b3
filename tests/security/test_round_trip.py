"""Text that breaks naive SQL, CSV or Slack markup comes back exactly as it went in: through
the webhook into the database, out of `ignorerate export leads`, in the JSON report, and in
the Slack card (there with Slack's control characters escaped), on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner
from sqlalchemy import select

from bot.cli import main
from bot.slack.blocks import escape
from storage.tables import Lead
from tests.e2e.conftest import CONFIG, NOW, Bot
from tests.e2e.test_thin_path import lead

NASTY = [
    "'; DROP TABLE leads; --",
    "%_\\ ' \" `; SELECT 1 /*",
    "山田花子・株式会社サンプル",
    "👩\u200d👩\u200d👧\u200d👦 🏳️\u200d🌈 🇯🇵",
    "שלום \u202eעולם مرحبا",
    "e\u0301 a\u0308 Z\u0336\u0335 か\u3099",
    "<!channel> <@U123> & <https://evil.example|click> &amp;",
    'a "quoted", comma\r\nand a new line',
]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def test_sql_metacharacters_and_unicode_round_trip_everywhere(
    bot: Bot, database_url: str, tmp_path: Path
) -> None:
    n = len(NASTY)
    sent = [
        {
            **lead("x"),
            "source": NASTY[i],
            "external_id": NASTY[(i + 1) % n],
            "name": NASTY[(i + 2) % n],
            "company": NASTY[(i + 3) % n],
        }
        for i in range(n)
    ]
    answer = bot.handoff({"leads": sent})
    assert answer.status_code == 202, answer.text
    assert [(a["source"], a["external_id"]) for a in answer.json()["accepted"]] == [
        (s["source"], s["external_id"]) for s in sent
    ]
    wanted = {(s["source"], s["external_id"], s["name"], s["company"]) for s in sent}

    t = Lead.__table__.c
    with bot.engine.connect() as conn:
        stored = {
            tuple(r) for r in conn.execute(select(t.source, t.external_id, t.name, t.company))
        }
    assert stored == wanted

    config = tmp_path / "ignorerate.yml"
    config.write_text(yaml.safe_dump(CONFIG, allow_unicode=True), encoding="utf-8")
    env = {"DATABASE_URL": database_url, "IGNORERATE_CONFIG": str(config)}
    runner = CliRunner()
    out = tmp_path / "leads.csv"
    exported = runner.invoke(
        main, ["export", "leads", str(out), "--as-of", NOW.isoformat()], env=env
    )
    assert exported.exit_code == 0, exported.output
    with out.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {(r["source"], r["external_id"]) for r in rows} == {
        (s["source"], s["external_id"]) for s in sent
    }

    reported = runner.invoke(
        main, ["report", "2026-11-24", "--as-of", NOW.isoformat(), "--format", "json"], env=env
    )
    assert reported.exit_code == 0, reported.output
    by_source = json.loads(reported.output)["by_source"]
    assert sorted(s["source"] for s in by_source) == sorted(NASTY)

    posts = bot.slack.wait_for("chat.postMessage", count=n)
    for s in sent:
        tag = f"{escape(s['source'])} / {escape(s['external_id'])}"  # the card's context line
        card = next(p for p in posts if tag in _strings(p["blocks"]))
        text = "\x1f".join(_strings(card["blocks"]))
        for field in ("source", "name", "company"):
            assert escape(s[field]) in text, (field, s[field])
    everything = "\x1f".join(_strings([p["blocks"] for p in posts]))
    assert "<!channel>" not in everything
    assert "<@U123>" not in everything
    assert "&lt;!channel&gt; &lt;@U123&gt; &amp; &lt;https://evil.example|click&gt; &amp;amp;" in (
        everything
    )
