"""The one-click pages a Teams card links to, over real HTTP: uvicorn serving the routes
of `ack_routes`, on SQLite and PostgreSQL, with a fixed clock. GET must record nothing
(link scanners fetch it); POST records exactly once, and only with the page's form."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select
from starlette.applications import Starlette

from bot.app.clicks import Click, act
from bot.app.fields import LeadInput
from bot.app.handoffs import receive_handoffs
from bot.clock import FixedClock
from bot.config import Settings, parse_settings
from bot.links import LinkSigner, ack_url
from bot.teams.ack.links import ack_routes
from metrics.model import ActionKind, ContactChannel
from metrics.views import LeadView
from storage import leads as store
from storage.repository import ensure_reps
from storage.tables import Action
from tests.fakes import serve

LINK_SECRET = "link-secret-for-tests-only-0123"
NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)  # Tuesday 12:00 in Tokyo
ACTIONS = Action.__table__

CONFIG: dict[str, Any] = {
    "timezone": "Asia/Tokyo",
    "locale": "en",
    "teams": [
        {
            "name": "enterprise",
            "timezone": "Asia/Tokyo",
            "sla": {"minutes": 60, "business_hours": False},
            "slack_channel": "CTEAM",
            "managers": ["boss@example.com"],
            "reps": ["a@example.com", "b@example.com"],
        }
    ],
}


@dataclass
class Site:
    url: str
    engine: Engine
    settings: Settings
    signer: LinkSigner
    clock: FixedClock

    def lead(self, external_id: str = "L1", owner: str | None = "a@example.com", **kw: Any) -> int:
        fields: dict[str, Any] = {
            "name": "Hanako Yamada",
            "company": "Acme KK",
            "email": "hanako@acme.example",
            "campaign": None,
            **kw,
        }
        lead = LeadInput("form", external_id, NOW, "enterprise", owner, **fields)
        result = receive_handoffs(self.engine, self.settings, [lead], NOW)
        return result.ids[("form", external_id)]

    def rep_id(self, email: str) -> int:
        # a teammate who never owned a lead has no row yet: as the bot does on first sight
        with self.engine.begin() as conn:
            return ensure_reps(conn, [email], NOW)[email]

    def link(self, lead_id: int, rep: str | None = "a@example.com") -> str:
        rep_id = self.rep_id(rep) if rep else None
        return ack_url(self.url, self.signer, lead_id, rep_id, self.clock.now())

    def actions(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(ACTIONS).order_by(ACTIONS.c.id)).mappings()
            return [dict(r) for r in rows]

    def view(self, lead_id: int) -> LeadView:
        with self.engine.connect() as conn:
            lead = store.lead_view(conn, lead_id)
        assert lead is not None
        return lead


@contextmanager
def running_site(engine: Engine, **overrides: Any) -> Iterator[Site]:
    settings = parse_settings({**CONFIG, **overrides}, "test.yml", env={})
    clock = FixedClock(NOW)
    signer = LinkSigner(LINK_SECRET)
    app = Starlette(routes=ack_routes(engine, settings, signer, clock))
    with serve(app) as url:
        yield Site(url, engine, settings, signer, clock)


@pytest.fixture
def site(engine: Engine) -> Iterator[Site]:
    with running_site(engine) as running:
        yield running


@pytest.fixture
def browser() -> Iterator[httpx.Client]:
    """One person's browser: it keeps the cookies the pages set."""
    with httpx.Client(timeout=10) as client:
        yield client


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, "the page offers no form"
    return found.group(1)


def open_and_choose(client: httpx.Client, url: str, **fields: str) -> httpx.Response:
    """What a person does: opens the link, then presses a button of its form."""
    page = client.get(url)
    assert page.status_code == 200, page.text
    return client.post(url, data={"csrf": csrf_of(page), **fields})


def text_of(page: httpx.Response) -> str:
    """The page as a person reads it: no tags, entities decoded."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page.text)))


# ---------------------------------------------------------------- GET


def test_opening_a_link_shows_the_lead_and_the_form_and_records_nothing(
    site: Site, browser: httpx.Client
) -> None:
    lead_id = site.lead()
    url = site.link(lead_id)
    before = site.actions()

    page = browser.get(url)
    page_again = browser.get(url)  # a link scanner's preview, then the person

    assert page.status_code == page_again.status_code == 200
    text = text_of(page)
    assert "Hanako Yamada" in text
    assert "Acme KK" in text
    assert "form" in text  # the source
    assert "2026-11-24 13:00 JST" in text  # the SLA deadline, in the team's zone
    assert "a@example.com" in text  # sent to
    assert "Nobody has acted on this lead yet." in text
    for choice in ("contacted:call", "contacted:email", "contacted:meeting", "snooze:60"):
        assert f'value="{choice}"' in page.text
    assert 'value="snooze:240"' in page.text
    assert 'value="snooze:1440"' in page.text
    assert 'value="duplicate"' in page.text  # the configured reject reasons
    assert "test or spam (not counted)" in text
    assert site.actions() == before == []
    assert site.view(lead_id).snoozed_until is None


@pytest.mark.one_backend
def test_the_page_is_kept_out_of_indexes_caches_and_referrers_and_runs_no_script(
    site: Site, browser: httpx.Client
) -> None:
    page = browser.get(site.link(site.lead()))

    assert page.headers["x-robots-tag"].startswith("noindex")
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "script-src" not in csp  # none allowed: default-src 'none' covers scripts
    assert "form-action 'self'" in csp
    assert '<meta name="robots" content="noindex">' in page.text
    assert '<html lang="en">' in page.text
    cookie = page.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
    assert "Path=/ack" in cookie
    assert "Secure" not in cookie  # plain http here; over https it is Secure


@pytest.mark.one_backend
def test_the_link_carries_no_personal_data(site: Site) -> None:
    url = site.link(site.lead())

    for personal in ("example", "Hanako", "Acme"):
        assert personal not in url


@pytest.mark.one_backend
def test_a_name_with_a_script_tag_is_shown_as_text(site: Site, browser: httpx.Client) -> None:
    lead_id = site.lead(name="<script>alert(1)</script>", company='"><img src=x>')

    page = browser.get(site.link(lead_id))

    assert "<script>alert(1)" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<img src=x>" not in page.text


@pytest.mark.one_backend
def test_the_page_speaks_japanese_when_the_locale_is_ja(engine: Engine) -> None:
    with running_site(engine, locale="ja") as ja, httpx.Client(timeout=10) as client:
        lead_id = ja.lead()
        page = client.get(ja.link(lead_id))
        done = client.post(
            ja.link(lead_id), data={"csrf": csrf_of(page), "choice": "contacted:call"}
        )

    assert '<html lang="ja">' in page.text
    assert "このリードはまだ誰も対応していません。" in page.text
    assert "対応期限" in page.text
    assert ">電話<" in page.text
    assert "記録しました: a@example.com が電話で対応しました。" in text_of(done)


@pytest.mark.one_backend
def test_an_unknown_lead_answers_404(site: Site, browser: httpx.Client) -> None:
    page = browser.get(site.link(999_999, rep=None))

    assert page.status_code == 404
    assert "I can't find this lead any more" in text_of(page)


# ---------------------------------------------------------------- POST


def test_pressing_contacted_by_call_records_one_action_from_teams_by_the_linked_rep(
    site: Site, browser: httpx.Client
) -> None:
    lead_id = site.lead()

    done = open_and_choose(browser, site.link(lead_id), choice="contacted:call")

    assert done.status_code == 200
    assert "Recorded: a@example.com contacted this lead by Call." in text_of(done)
    assert "Contacted by a@example.com (Call) at 2026-11-24 12:00 JST." in text_of(done)
    assert "<form" not in done.text
    [action] = site.actions()
    assert action["lead_id"] == lead_id
    assert action["via"] == "teams"
    assert action["kind"] == "contacted"
    assert action["channel"] == "call"
    assert action["actor_id"] == site.rep_id("a@example.com")
    assert action["at"].replace(tzinfo=UTC) == NOW
    assert site.view(lead_id).first_action_at is not None


def test_posting_the_same_choice_again_says_already_recorded_and_records_nothing_more(
    site: Site, browser: httpx.Client
) -> None:
    lead_id = site.lead()
    url = site.link(lead_id)
    page = browser.get(url)
    form = {"csrf": csrf_of(page), "choice": "contacted:email"}

    first = browser.post(url, data=form)
    second = browser.post(url, data=form)  # a double click, or the back button and again

    assert first.status_code == second.status_code == 200
    assert "This was already recorded; nothing more was recorded." in second.text
    assert len(site.actions()) == 1


def test_a_teammate_acting_on_a_colleagues_lead_takes_it_over_on_the_record(
    site: Site, browser: httpx.Client
) -> None:
    lead_id = site.lead()

    done = open_and_choose(browser, site.link(lead_id, "b@example.com"), choice="contacted:call")

    assert "You took this lead over" in text_of(done)
    assert [a["kind"] for a in site.actions()] == ["reassigned", "contacted"]
    assert site.view(lead_id).owner is not None
    assert site.view(lead_id).owner.email == "b@example.com"  # type: ignore[union-attr]


def test_rejecting_for_an_excluding_reason_excludes_the_lead(
    site: Site, browser: httpx.Client
) -> None:
    lead_id = site.lead()

    done = open_and_choose(browser, site.link(lead_id), choice="reject", reason="duplicate")

    assert "this lead is excluded (duplicate) and is not counted" in text_of(done)
    lead = site.view(lead_id)
    assert lead.excluded_at is not None
    assert lead.first_action_at is None
    [action] = site.actions()
    assert (action["kind"], action["reason"], action["excludes"]) == ("rejected", "duplicate", True)


def test_rejecting_without_a_reason_records_nothing_and_asks_for_one(
    site: Site, browser: httpx.Client
) -> None:
    lead_id = site.lead()

    done = open_and_choose(browser, site.link(lead_id), choice="reject", reason="")

    assert done.status_code == 400
    assert "Choose a reason." in done.text
    assert site.actions() == []


def test_snoozing_for_four_hours_sets_the_leads_snooze_and_keeps_the_deadline(
    site: Site, browser: httpx.Client
) -> None:
    lead_id = site.lead()

    done = open_and_choose(browser, site.link(lead_id), choice="snooze:240")

    until = site.view(lead_id).snoozed_until
    assert until is not None
    assert until.replace(tzinfo=UTC) == NOW + timedelta(hours=4)
    assert "Reminders snoozed until 2026-11-24 16:00 JST" in text_of(done)
    assert "The SLA deadline stays 2026-11-24 13:00 JST" in text_of(done)
    [action] = site.actions()
    assert (action["kind"], action["via"]) == ("snoozed", "teams")


def test_an_already_actioned_lead_says_by_whom_and_offers_no_form(
    site: Site, browser: httpx.Client
) -> None:
    lead_id = site.lead()
    url = site.link(lead_id, "b@example.com")
    page_before = browser.get(url)  # b opens the link; meanwhile a calls from Slack
    act(
        site.engine,
        site.settings,
        Click(
            lead_id,
            "a@example.com",
            ActionKind.CONTACTED,
            NOW,
            "slack:1",
            "slack",
            ContactChannel.CALL,
        ),
        NOW,
    )

    page_after = browser.get(url)
    late = browser.post(url, data={"csrf": csrf_of(page_before), "choice": "contacted:email"})

    assert "Contacted by a@example.com (Call) at 2026-11-24 12:00 JST." in text_of(page_after)
    assert "<form" not in page_after.text
    assert late.status_code == 200
    assert "a@example.com got there first (2026-11-24 12:00 JST)" in text_of(late)
    assert len(site.actions()) == 1


def test_a_channel_link_asks_who_you_are_and_records_the_person_chosen(
    site: Site, browser: httpx.Client
) -> None:
    lead_id = site.lead(owner=None)
    url = site.link(lead_id, rep=None)

    page = browser.get(url)
    stranger = browser.post(
        url, data={"csrf": csrf_of(page), "choice": "contacted:call", "actor": "x@evil.example"}
    )
    done = browser.post(
        url, data={"csrf": csrf_of(page), "choice": "contacted:call", "actor": "b@example.com"}
    )

    assert 'name="actor"' in page.text
    assert '<option value="b@example.com">' in page.text
    assert stranger.status_code == 400
    assert done.status_code == 200
    assert "Recorded: b@example.com contacted this lead by Call." in text_of(done)
    assert [a["actor_id"] for a in site.actions() if a["kind"] == "contacted"] == [
        site.rep_id("b@example.com")
    ]


# ---------------------------------------------------------------- refusals


@pytest.mark.one_backend
def test_a_tampered_link_is_refused_with_403_on_get_and_post_and_records_nothing(
    site: Site, browser: httpx.Client
) -> None:
    lead_id = site.lead()
    good = site.link(lead_id)
    csrf = csrf_of(browser.get(good))
    other = site.link(site.lead("L2"))
    # the body of one link with the signature of another: a lead id swapped by hand
    forged = good.rsplit(".", 1)[0] + "." + other.rsplit(".", 1)[1]

    for url in (forged, good[:-3], good.replace("/ack/", "/ack/x")):
        page = browser.get(url)
        posted = browser.post(url, data={"csrf": csrf, "choice": "contacted:call"})
        assert page.status_code == posted.status_code == 403, url
        assert "This link is not valid" in page.text
    assert site.actions() == []


@pytest.mark.one_backend
def test_an_expired_link_answers_410_on_get_and_post_and_says_how_to_get_a_fresh_one(
    site: Site, browser: httpx.Client
) -> None:
    lead_id = site.lead()
    url = site.link(lead_id)
    csrf = csrf_of(browser.get(url))
    site.clock.advance(timedelta(hours=72))

    page = browser.get(url)
    posted = browser.post(url, data={"csrf": csrf, "choice": "contacted:call"})

    assert page.status_code == posted.status_code == 410
    assert "next reminder about this lead in the channel carries a fresh link" in page.text
    assert "open the lead in Slack" in page.text
    assert site.actions() == []


@pytest.mark.one_backend
def test_a_post_without_the_cookie_or_with_another_form_value_is_refused_and_records_nothing(
    site: Site, browser: httpx.Client
) -> None:
    url = site.link(site.lead())
    csrf = csrf_of(browser.get(url))

    with httpx.Client(timeout=10) as elsewhere:  # a forged form on another site: no cookie
        no_cookie = elsewhere.post(url, data={"csrf": csrf, "choice": "contacted:call"})
    mismatched = browser.post(url, data={"csrf": csrf[:-2] + "xx", "choice": "contacted:call"})
    no_field = browser.post(url, data={"choice": "contacted:call"})

    for refused in (no_cookie, mismatched, no_field):
        assert refused.status_code == 403
        assert "this form has expired or did not come from this page; reload the link" in (
            text_of(refused).lower()
        )
    assert site.actions() == []


@pytest.mark.one_backend
def test_a_body_over_ten_kilobytes_is_refused_unread(site: Site, browser: httpx.Client) -> None:
    url = site.link(site.lead())
    csrf = csrf_of(browser.get(url))

    big = browser.post(url, data={"csrf": csrf, "choice": "contacted:call", "pad": "x" * 11_000})

    assert big.status_code == 413
    assert site.actions() == []


@pytest.mark.one_backend
def test_behind_an_https_proxy_the_form_cookie_is_secure(site: Site, browser: httpx.Client) -> None:
    # uvicorn trusts X-Forwarded-Proto from loopback, as from a local TLS proxy
    page = browser.get(site.link(site.lead()), headers={"X-Forwarded-Proto": "https"})

    assert "Secure" in page.headers["set-cookie"]
