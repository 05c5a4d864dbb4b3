"""The dashboard's pages over real HTTP: `WebAuth`'s routes and middleware with
`dashboard_routes`, served by uvicorn, signed in through the local OpenID Connect
provider (tests/fake_oidc.py), driven by httpx with cookies, on SQLite and PostgreSQL
with generated data imported through the CSV import.

Every figure the overview and a team's page show is read off the page's data attributes
and held equal to `ignorerate report --format json` for the same period, team and moment.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from starlette.applications import Starlette

from bot.cli import main
from bot.clock import FixedClock
from bot.config import Environment, Settings
from bot.web.auth import WebAuth, auth_config
from bot.web.dashboard import dashboard_routes
from metrics.periods import parse_period
from storage.engine import make_engine
from tests.conftest import BACKENDS
from tests.e2e.dashboard_data import (
    ADMIN,
    AS_OF,
    MANAGER,
    REP,
    SESSION_SECRET,
    STRANGER,
    TEAMS,
    Later,
    generated_site,
    same_counts,
    shown_rate,
)
from tests.fake_oidc import CLIENT_ID, CLIENT_SECRET, FakeOidc, OidcUser
from tests.fakes import serve

# ------------------------------------------------------------------ the site


@dataclass
class Site:
    url: str
    provider: FakeOidc
    settings: Settings
    env: dict[str, str]

    @contextmanager
    def browser(self, user: OidcUser | None = None, **headers: str) -> Iterator[httpx.Client]:
        """A browser, signed in as `user` (None: not signed in)."""
        with httpx.Client(base_url=self.url, timeout=30, headers=headers) as client:
            if user is not None:
                self.provider.sign_in_as(user)
                started = client.get("/login")
                assert started.status_code == 302, started.text
                back = httpx.get(started.headers["location"])
                done = client.get(back.headers["location"])
                assert done.status_code == 303, done.text
            yield client

    def report(self, period: str, team: str) -> dict[str, Any]:
        result = CliRunner().invoke(
            main,
            ["report", period, "--team", team, "--as-of", AS_OF.isoformat(), "--format", "json"],
            env=self.env,
            catch_exceptions=False,
        )
        assert result.exit_code == 0, result.output
        return json.loads(result.output)  # type: ignore[no-any-return]


@pytest.fixture(scope="module", params=BACKENDS)
def site(
    request: pytest.FixtureRequest,
    provider: FakeOidc,
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Path,
) -> Iterator[Site]:
    out = tmp_path_factory.mktemp(f"dashboard-{request.param}")
    url, env, settings = generated_site(request, out, sqlite_template)
    engine = make_engine(url)
    later = Later()
    with serve(later) as public:
        environment = Environment(
            oidc_issuer=provider.url,
            oidc_client_id=CLIENT_ID,
            oidc_client_secret=CLIENT_SECRET,
            session_secret=SESSION_SECRET,
            session_max_age=8 * 3600,
            public_base_url=public,
        )
        clock = FixedClock(AS_OF)
        auth = WebAuth(auth_config(environment), settings, clock)
        later.app = Starlette(
            routes=[*auth.routes, *dashboard_routes(engine, settings, clock)],
            middleware=auth.middleware(),
        )
        yield Site(public, provider, settings, env)
    engine.dispose()


@pytest.fixture(scope="module")
def admin(site: Site) -> Iterator[httpx.Client]:
    with site.browser(ADMIN) as client:
        yield client


@pytest.fixture(scope="module")
def hostile(site: Site) -> Iterator[httpx.Client]:
    """An admin's browser of its own: what it asks may switch its language."""
    with site.browser(ADMIN) as client:
        yield client


# ------------------------------------------------------------------ reading pages


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]


class Elements(HTMLParser):
    """Every element with its attributes, in document order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append(Element(tag, {k: v or "" for k, v in attrs}))


def elements(html: str) -> list[Element]:
    parser = Elements()
    parser.feed(html)
    return parser.found


def tiles(html: str) -> dict[str, dict[str, str]]:
    return {
        e.attrs["data-team"]: e.attrs
        for e in elements(html)
        if e.tag == "section" and "data-team" in e.attrs
    }


def group_rows(html: str, group: str) -> list[dict[str, str]]:
    """The rows of the table by `group` (rep, source, campaign), in the page's order."""
    rows: list[dict[str, str]] = []
    inside = False
    for e in elements(html):
        if e.tag == "table":
            inside = e.attrs.get("data-group") == group
        elif inside and e.tag == "tr" and "data-key" in e.attrs:
            rows.append(e.attrs)
    return rows


def main_part(html: str) -> str:
    return html.split("<main>", 1)[1].split("</main>", 1)[0]


def lead_rows(html: str) -> list[dict[str, str]]:
    return [e.attrs for e in elements(html) if e.tag == "tr" and "data-id" in e.attrs]


def previous_text(settings: Settings, team: str, period: str) -> str:
    tz = settings.team(team).timezone  # type: ignore[union-attr]
    p = parse_period(period, AS_OF.astimezone(tz).date())
    first = p.first_day - timedelta(days=p.days)
    return f"{first}..{p.first_day - timedelta(days=1)}"


# ------------------------------------------------------------------ the figures


@pytest.mark.parametrize("period", [None, "last-month", "2026-10-01..2026-10-15", "先月"])
def test_every_tile_equals_the_report(site: Site, admin: httpx.Client, period: str | None) -> None:
    page = admin.get("/", params={"period": period} if period else {})
    assert page.status_code == 200, page.text
    shown = tiles(page.text)
    assert list(shown) == list(TEAMS)
    for team, attrs in shown.items():
        now = site.report(period or "last-4-weeks", team)
        same_counts(attrs, now["totals"])
        assert shown_rate(now["totals"]["ignore_rate"]) in page.text
        before = site.report(previous_text(site.settings, team, period or "last-4-weeks"), team)
        previous = before["totals"]["ignore_rate"]
        got = attrs["data-previous-ignore-rate"]
        assert (float(got) if got else None) == previous
        if previous is not None and now["totals"]["ignore_rate"] is not None:
            change = now["totals"]["ignore_rate"] - previous
            assert float(attrs["data-change-ignore"]) == pytest.approx(change)
            words = "up" if change >= 0.05 else "down" if change <= -0.05 else "no change"
            section = page.text.split(f'data-team="{team}"', 1)[1].split("</section>", 1)[0]
            assert words in section  # the direction in words, not colour only


def test_the_trend_table_equals_the_weekly_reports(site: Site, admin: httpx.Client) -> None:
    page = admin.get("/")
    weeks = [e.attrs for e in elements(page.text) if e.tag == "tr" and "data-week" in e.attrs]
    assert len(weeks) == 12 * len(TEAMS)
    enterprise = weeks[:12]  # the first chart is the first team's
    assert [w["data-week"] for w in enterprise][-1] == "2026-W48"
    for week in enterprise[-4:]:
        totals = site.report(week["data-week"], "enterprise")["totals"]
        for field in ("ignore_rate", "sal_rate"):
            got = week[f"data-{field.replace('_', '-')}"]
            assert (float(got) if got else None) == totals[field]
    assert page.text.count("<svg") == len(TEAMS)
    assert 'role="img"' in page.text
    assert "<desc" in page.text
    assert "<details>" in page.text


@pytest.mark.parametrize("team", TEAMS)
def test_a_team_page_equals_the_report(site: Site, admin: httpx.Client, team: str) -> None:
    page = admin.get(f"/teams/{team}", params={"period": "last-month"})
    assert page.status_code == 200, page.text
    expected = site.report("last-month", team)
    same_counts(tiles(page.text)[team], expected["totals"])
    reps = group_rows(page.text, "rep")
    assert [r["data-key"] or None for r in reps] == [r["rep"] for r in expected["by_rep"]]
    for attrs, row in zip(reps, expected["by_rep"], strict=True):
        same_counts(attrs, row)
    sources = group_rows(page.text, "source")
    assert [r["data-key"] for r in sources] == [r["source"] for r in expected["by_source"]]
    for attrs, row in zip(sources, expected["by_source"], strict=True):
        same_counts(attrs, row)
    campaigns = group_rows(page.text, "campaign")
    assert sum(int(c["data-handed-off"]) for c in campaigns) == expected["totals"]["handed_off"]
    assert "Why it moved" in page.text
    assert 'data-why="source"' in page.text
    assert page.text.count("<h1>") == 1
    assert "<caption>" in page.text


def test_the_story_is_told_by_the_sentence(admin: httpx.Client) -> None:
    """The generated data's last four weeks: webinar leads doubled and are ignored more."""
    for lang, name in (("en", "Source “webinar” leads"), ("ja", "流入元「webinar」のリード")):
        page = admin.get("/teams/enterprise", headers={"accept-language": lang})
        sentence = re.search(r'<p class="why-headline">([^<]*)</p>', page.text)
        assert sentence is not None
        assert name in sentence[1]
    en = admin.get("/teams/enterprise", headers={"accept-language": "en"}).text
    assert re.search(r"The ignore rate went from [^<]*Source “webinar” leads", en)
    webinar = re.search(r'<tr data-key="webinar" data-small="(\w+)"', en)
    assert webinar is not None
    assert webinar[1] == "false"  # large enough to rank


def test_tables_sort_by_a_column_through_links(admin: httpx.Client) -> None:
    page = admin.get("/teams/enterprise", params={"sort": "ignore_rate", "dir": "desc"})
    rates = [r["data-ignore-rate"] for r in group_rows(page.text, "source")]
    present = [float(r) for r in rates if r]
    assert present == sorted(present, reverse=True)
    assert rates[len(present) :] == [""] * (len(rates) - len(present))
    assert 'aria-sort="descending"' in page.text
    assert "sort=ignore_rate&amp;dir=asc" in page.text  # the header link flips it
    asc = admin.get("/teams/enterprise", params={"sort": "counted", "dir": "asc"})
    counted = [int(r["data-counted"]) for r in group_rows(asc.text, "rep")]
    assert counted == sorted(counted)
    plain = admin.get("/teams/enterprise")
    odd = admin.get("/teams/enterprise", params={"sort": "nope'\"", "dir": "x"})
    assert odd.status_code == 200
    assert group_rows(odd.text, "source") == group_rows(plain.text, "source")


# ------------------------------------------------------------------ who sees what


def test_a_manager_sees_only_their_team(site: Site) -> None:
    with site.browser(MANAGER) as boss:
        page = boss.get("/")
        assert list(tiles(page.text)) == ["enterprise"]
        assert 'href="/teams/smb"' not in page.text
        assert boss.get("/teams/enterprise").status_code == 200
        hidden = boss.get("/teams/smb")
        assert hidden.status_code == 404
        unknown = boss.get("/teams/no-such-team")
        assert unknown.status_code == 404
        assert main_part(unknown.text) == main_part(hidden.text)  # nothing told apart
        listed = lead_rows(boss.get("/leads").text)
        assert listed
        assert {r["data-team"] for r in listed} == {"enterprise"}
        assert boss.get("/leads", params={"team": "smb"}).status_code == 404
        assert boss.get("/leads.csv", params={"team": "smb"}).status_code == 404
        with site.browser(ADMIN) as root:
            smb = lead_rows(root.get("/leads", params={"team": "smb"}).text)[0]["data-id"]
        assert boss.get(f"/leads/{smb}").status_code == 404
        assert boss.get("/leads/999999999").status_code == 404
        assert boss.get("/leads/99999999999999999999999").status_code == 404  # past bigint
        assert boss.get("/teams/%00%3Cx%3E").status_code == 404


def test_a_rep_sees_only_their_own_leads(site: Site) -> None:
    with site.browser(REP) as rep, site.browser(ADMIN) as root:
        listed = lead_rows(rep.get("/leads").text)
        assert listed
        assert {r["data-owner"] for r in listed} == {REP.email}
        assert "only the leads you own" in rep.get("/leads").text
        text = rep.get("/leads.csv").content.decode("utf-8-sig")
        owners = {row["owner"] for row in csv.DictReader(io.StringIO(text))}
        assert owners == {REP.email}
        everyone = lead_rows(root.get("/leads", params={"team": "enterprise"}).text)
        others = [r["data-id"] for r in everyone if r["data-owner"] != REP.email]
        assert others
        assert rep.get(f"/leads/{others[0]}").status_code == 404
        mine = listed[0]["data-id"]
        assert rep.get(f"/leads/{mine}").status_code == 200


def test_a_rep_sees_the_team_rates_and_of_the_reps_only_themselves(site: Site) -> None:
    with site.browser(REP) as rep, site.browser(ADMIN) as root:
        mine = rep.get("/teams/enterprise", params={"period": "last-month"})
        assert mine.status_code == 200
        everyone = root.get("/teams/enterprise", params={"period": "last-month"})
        assert len(group_rows(everyone.text, "rep")) > 1
        assert [r["data-key"] for r in group_rows(mine.text, "rep")] == [REP.email]
        # the team's own figures are the same for both
        assert tiles(mine.text)["enterprise"] == tiles(everyone.text)["enterprise"]
        assert group_rows(mine.text, "source") == group_rows(everyone.text, "source")
        assert 'data-why="rep"' in everyone.text
        assert 'data-why="rep"' not in mine.text


def test_a_stranger_gets_the_no_access_page(site: Site) -> None:
    with site.browser(STRANGER) as stranger:
        for path in ("/", "/leads", "/leads.csv", "/teams/enterprise", "/leads/1"):
            answer = stranger.get(path)
            assert answer.status_code == 403, path
            assert "Nothing to show" in answer.text


def test_nothing_without_a_session(site: Site) -> None:
    with site.browser() as nobody:
        for path in ("/", "/leads", "/leads.csv", "/teams/enterprise", "/leads/1"):
            assert nobody.get(path, headers={"accept": "application/json"}).status_code == 401
            sent = nobody.get(path, headers={"accept": "text/html"})
            assert sent.status_code == 303
            assert sent.headers["location"].startswith("/login?next=")


# ------------------------------------------------------------------ leads, CSV, a lead


def test_paging_through_the_list_gives_the_csv(admin: httpx.Client) -> None:
    wanted = {"team": "emea", "outcome": "on_time", "period": "2026-07-01..2026-11-30"}
    seen: list[str] = []
    page = admin.get("/leads", params=wanted)
    while True:
        assert page.status_code == 200, page.text
        rows = lead_rows(page.text)
        assert {r["data-outcome"] for r in rows} <= {"on_time"}
        assert {r["data-team"] for r in rows} <= {"emea"}
        seen += [r["data-id"] for r in rows]
        nxt = re.search(r'<a href="([^"]+)" rel="next">', page.text)
        if nxt is None:
            break
        page = admin.get(nxt[1].replace("&amp;", "&"))
    assert len(seen) > 50
    assert len(seen) == len(set(seen))
    answer = admin.get("/leads.csv", params=wanted)
    assert answer.status_code == 200
    assert answer.content.startswith(b"\xef\xbb\xbf")
    assert answer.headers["content-disposition"].startswith('attachment; filename="leads-')
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"), newline="")))
    assert [r["id"] for r in rows] == seen
    assert {r["outcome"] for r in rows} == {"on_time"}
    assert {r["team"] for r in rows} == {"emea"}


def test_csv_cells_are_neutralised(admin: httpx.Client) -> None:
    answer = admin.get("/leads.csv", params={"team": "enterprise", "source": "webinar"})
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"), newline="")))
    hostile = next(r for r in rows if r["external_id"] == "webinar-hostile")
    assert hostile["name"] == "'=2+3"
    assert hostile["company"] == "'+SUM(A1)"
    assert hostile["campaign"] == "'@camp<script>"
    other = next(r for r in rows if r["external_id"] == "webinar-other")
    assert other["campaign"] == "'-minus"
    assert {r["source"] for r in rows} == {"webinar"}
    by_campaign = admin.get("/leads.csv", params={"campaign": "-minus", "period": "2026-11"})
    ids = [
        r["external_id"]
        for r in csv.DictReader(io.StringIO(by_campaign.content.decode("utf-8-sig"), newline=""))
    ]
    assert ids == ["webinar-other"]


def test_the_lead_page_tells_its_timeline(site: Site, admin: httpx.Client) -> None:
    listed = admin.get("/leads", params={"source": "webinar", "period": "2026-11-10"})
    row = next(r for r in lead_rows(listed.text) if r["data-owner"] == REP.email)
    page = admin.get(f"/leads/{row['data-id']}")
    assert page.status_code == 200
    assert "<script>" not in page.text
    assert "@camp&lt;script&gt;" in page.text
    kinds = re.findall(r'<li data-kind="(\w+)"(?: data-via="(\w+)")?', page.text)
    assert kinds[0] == ("handoff", "")
    assert ("action", "csv") in kinds
    assert "Contacted (call) by enterprise.rep001@example.com, from a CSV import." in page.text
    assert "2026-11-10 10:00 JST" in page.text  # the team's time zone
    with site.browser(REP) as rep:
        assert rep.get(f"/leads/{row['data-id']}").status_code == 200


def test_each_row_shows_its_due_time_and_owner(admin: httpx.Client) -> None:
    page = admin.get("/leads", params={"team": "smb"})
    assert re.search(r"<td>\d{4}-\d\d-\d\d \d\d:\d\d E[SD]T</td>", page.text)  # New York
    assert "Due" in page.text
    assert "Owner" in page.text


# ------------------------------------------------------------------ language and errors


def test_the_language_switch_is_remembered(site: Site) -> None:
    with site.browser(MANAGER) as boss:
        ja = boss.get("/", params={"lang": "ja"})
        assert '<html lang="ja">' in ja.text
        assert "<h1>無視率の概要</h1>" in ja.text
        assert "サインアウト" in ja.text
        again = boss.get("/leads")
        assert '<html lang="ja">' in again.text
        assert "リード一覧" in again.text
        back = boss.get("/", params={"lang": "en"})
        assert '<html lang="en">' in back.text
        assert "Ignore rate overview" in back.text
        assert 'href="/?lang=ja"' in back.text  # the switch is a link


def test_the_browser_language_counts_with_its_q_values(site: Site) -> None:
    with site.browser(MANAGER, **{"accept-language": "en;q=0.5, ja-JP;q=0.9"}) as boss:
        assert '<html lang="ja">' in boss.get("/").text
    with site.browser(MANAGER, **{"accept-language": "ja;q=0.1, en-GB;q=0.8"}) as boss:
        assert '<html lang="en">' in boss.get("/").text


@pytest.mark.parametrize("path", ["/", "/teams/enterprise", "/leads", "/leads.csv"])
def test_a_bad_period_is_a_400_naming_the_accepted_forms(admin: httpx.Client, path: str) -> None:
    answer = admin.get(path, params={"period": "fortnight"})
    assert answer.status_code == 400
    assert "fortnight" in answer.text
    assert "last-N-weeks" in answer.text
    assert "YYYY-Qn" in answer.text
    ja = admin.get(path, params={"period": "fortnight"}, headers={"accept-language": "ja"})
    assert ja.status_code == 400
    assert "使える形式" in ja.text


def test_pages_load_nothing_and_run_nothing(admin: httpx.Client) -> None:
    page = admin.get("/teams/enterprise")
    assert "<script" not in page.text
    assert not re.search(r'(src|href)="(https?:)?//', page.text)
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "script-src" not in csp
    assert page.headers["cache-control"] == "no-store"
    assert '<meta name="viewport"' in page.text
    form = admin.get("/leads").text
    assert all(f"<label>{word}<" in form for word in ("Period", "Team", "Outcome", "Source")), form


PARAMS = ("period", "sort", "dir", "team", "outcome", "rep", "source", "campaign", "after", "lang")


@hypothesis_settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(["/", "/teams/enterprise", "/leads", "/leads.csv"]),
    name=st.sampled_from(PARAMS),
    value=st.text(max_size=40) | st.from_regex(r"-?\d{1,25}\.\d{1,25}", fullmatch=True),
)
def test_hostile_query_strings_never_give_a_500(
    hostile: httpx.Client, path: str, name: str, value: str
) -> None:
    answer = hostile.get(path, params={name: value})
    assert answer.status_code in (200, 400, 404), (name, value, answer.text[:500])
    if answer.status_code == 200 and path != "/leads.csv":
        assert answer.text.endswith("</html>")
    query = urlsplit(str(answer.request.url)).query
    assert parse_qs(query, keep_blank_values=True).get(name, [""])[0] == value or not value
