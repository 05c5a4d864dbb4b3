"""The dashboard's sign-in over real HTTP: a small Starlette app with `WebAuth`'s routes
and middleware, served by uvicorn, driven by httpx with cookies, against a local OpenID
Connect provider (tests/fake_oidc.py) that Authlib finds by discovery.

The session-fixation property held here: a cookie issued before a sign-in never becomes
a signed-in cookie. Whoever signs in from it gets a new cookie whose session holds only
what the sign-in wrote (a new random id, the email, the name, the moment, the CSRF
token), and the old cookie, replayed, is still signed out and cannot finish the sign-in
a second time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.app.viewers import Viewer
from bot.clock import FixedClock
from bot.config import Environment, parse_settings
from bot.web.auth import (
    SESSION_COOKIE,
    WebAuth,
    auth_config,
    protected,
    signed_in,
)
from tests.fake_oidc import CLIENT_ID, CLIENT_SECRET, FakeOidc, OidcUser
from tests.fakes import serve

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
SESSION_SECRET = "session-secret-for-tests-0123456789abcdef"
MAX_AGE = timedelta(hours=8)

CONFIG = {
    "timezone": "Asia/Tokyo",
    "locale": "en",
    "admins": ["revops@example.com"],
    "teams": [
        {
            "name": "enterprise",
            "sla": {"minutes": 60, "business_hours": False},
            "managers": ["boss@example.com"],
            "reps": ["a@example.com", "b@example.com"],
        },
        {
            "name": "smb",
            "sla": {"minutes": 60, "business_hours": False},
            "managers": ["smbboss@example.com"],
            "reps": ["c@example.com"],
        },
    ],
}

ADMIN = OidcUser("U1", "RevOps@Example.com", "Rev Ops")
MANAGER = OidcUser("U2", "boss@example.com", "Bo Ss")
REP = OidcUser("U3", "a@example.com", "Ann")
OTHER_REP = OidcUser("U4", "c@example.com", "Cy")
STRANGER = OidcUser("U5", "stranger@example.com", "Stan")


def describe(viewer: Viewer) -> dict[str, Any]:
    return {
        "email": viewer.email,
        "name": viewer.name,
        "teams": {
            v.team: {"role": v.role.value, "owners": sorted(v.owners) if v.owners else None}
            for v in viewer.teams
        },
    }


async def me(request: Request, viewer: Viewer) -> Response:
    return JSONResponse(describe(viewer))


async def session_keys(request: Request) -> Response:
    """What the session holds (the test app's window on it)."""
    return JSONResponse(sorted(request.session))


async def plant(request: Request) -> Response:
    """A value put in the session before anyone signs in."""
    request.session["planted"] = "before sign-in"
    return JSONResponse({})


async def whoami(request: Request) -> Response:
    viewer = signed_in(request)
    return JSONResponse(describe(viewer) if viewer else None)


class Later:
    """An ASGI app set once the server's address is known (the provider must be told
    where to send people back)."""

    app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None
        await self.app(scope, receive, send)


@dataclass
class Site:
    url: str
    auth: WebAuth
    clock: FixedClock
    provider: FakeOidc

    def client(self, cookies: httpx.Cookies | None = None) -> httpx.Client:
        return httpx.Client(base_url=self.url, cookies=cookies, timeout=10)

    def start(self, client: httpx.Client, target: str | None = None) -> str:
        """GET /login; the provider's answer: the callback URL with code and state."""
        params = {"next": target} if target is not None else {}
        started = client.get("/login", params=params)
        assert started.status_code == 302, started.text
        assert started.headers["location"].startswith(f"{self.provider.url}/authorize?")
        back = httpx.get(started.headers["location"])  # the provider; no cookies of ours
        assert back.status_code == 302
        location = back.headers["location"]
        assert location.startswith(f"{self.url}/auth/callback?")
        return location

    def sign_in(
        self, client: httpx.Client, user: OidcUser | None, target: str | None = None
    ) -> httpx.Response:
        """The whole round; the callback's answer."""
        self.provider.sign_in_as(user)
        return client.get(self.start(client, target))


def environment(provider: FakeOidc, public_url: str, **changes: Any) -> Environment:
    values: dict[str, Any] = {
        "oidc_issuer": provider.url,
        "oidc_client_id": CLIENT_ID,
        "oidc_client_secret": CLIENT_SECRET,
        "session_secret": SESSION_SECRET,
        "session_max_age": int(MAX_AGE.total_seconds()),
        "public_base_url": public_url,
    }
    values.update(changes)
    return Environment(**values)


def build(provider: FakeOidc, public_url: str, clock: FixedClock, **env: Any) -> WebAuth:
    return WebAuth(
        auth_config(environment(provider, public_url, **env)),
        parse_settings(CONFIG, "test.yml", {}),
        clock,
    )


def dashboard(auth: WebAuth) -> Starlette:
    return Starlette(
        routes=[
            *auth.routes,
            Route("/me", protected(me)),
            Route("/whoami", whoami),
            Route("/session-keys", session_keys),
            Route("/plant", plant),
        ],
        middleware=auth.middleware(),
    )


@pytest.fixture
def site(provider: FakeOidc) -> Iterator[Site]:
    provider.sign_in_as(None)
    provider.wrong_nonce = provider.expired = False
    provider.claims_in_id_token = True
    later = Later()
    clock = FixedClock(NOW)
    with serve(later) as url:
        auth = build(provider, url, clock)
        later.app = dashboard(auth)
        yield Site(url, auth, clock, provider)


def carrying(value: str) -> httpx.Cookies:
    """A browser's cookie jar holding this session cookie, as the site set it."""
    jar = httpx.Cookies()
    jar.set(SESSION_COOKIE, value, domain="127.0.0.1")
    return jar


def refused(response: httpx.Response, status: int, words: str) -> None:
    """A refusal page: the status, an HTML page saying `words`, a way to start again."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert words in response.text
    assert 'href="/login"' in response.text


def same_site_path(location: str, base: str) -> bool:
    """Whether a redirect's Location stays on `base`'s site, read as a browser reads it
    (the URL standard drops tabs and newlines and takes a backslash for a slash)."""
    seen = re.sub(r"[\t\n\r]", "", location).replace("\\", "/")
    resolved = urlsplit(urljoin(base + "/", seen))
    here = urlsplit(base)
    return (
        seen.startswith("/")
        and not seen.startswith("//")
        and (resolved.scheme, resolved.netloc) == (here.scheme, here.netloc)
    )


# ---------------------------------------------------------------- the round trip


def test_sign_in_shows_who_you_are_and_sign_out_ends_it(site: Site) -> None:
    with site.client() as browser:
        done = site.sign_in(browser, MANAGER, "/me")
        assert done.status_code == 303
        assert done.headers["location"] == "/me"
        assert browser.get("/me").json() == {
            "email": "boss@example.com",
            "name": "Bo Ss",
            "teams": {"enterprise": {"role": "manager", "owners": None}},
        }
        signed_in_cookie = browser.cookies[SESSION_COOKIE]

        form = browser.get("/logout")
        assert form.status_code == 200
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert token is not None
        out = browser.post("/logout", data={"csrf": token[1]})
        assert out.status_code == 303
        assert out.headers["location"] == "/logout"
        assert SESSION_COOKIE not in browser.cookies  # cleared by the answer
        assert browser.get("/me", headers={"accept": "application/json"}).status_code == 401
        assert "You are signed out." in browser.get("/logout").text

    # a copy of the cookie taken while signed in is signed out too
    copy = carrying(signed_in_cookie)
    with site.client(copy) as thief:
        assert thief.get("/whoami").json() is None


def test_the_provider_is_found_by_discovery_and_gets_the_secret_it_offers(site: Site) -> None:
    site.provider.token_auth.clear()
    with site.client() as browser:
        assert site.sign_in(browser, REP).status_code == 303
    asked = site.provider.authorizations[-1]
    assert asked["scope"].split() == ["openid", "email", "profile"]
    assert asked["nonce"]
    assert asked["code_challenge_method"] == "S256"
    assert asked["redirect_uri"] == f"{site.url}/auth/callback"
    assert site.provider.token_auth == ["client_secret_basic"]


def test_the_email_may_come_from_the_userinfo_endpoint(site: Site) -> None:
    site.provider.claims_in_id_token = False
    with site.client() as browser:
        assert site.sign_in(browser, REP).status_code == 303
        assert browser.get("/me").json()["email"] == "a@example.com"


def test_the_session_cookie_is_httponly_and_samesite_lax(site: Site) -> None:
    with site.client() as browser:
        started = browser.get("/login")
    cookie = started.headers["set-cookie"].lower()
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" not in cookie  # http on 127.0.0.1: a Secure cookie would never return


def test_the_session_cookie_is_secure_behind_an_https_address(provider: FakeOidc) -> None:
    auth = build(provider, "https://dashboard.example.com", FixedClock(NOW))
    with serve(dashboard(auth)) as url, httpx.Client(base_url=url) as browser:
        started = browser.get("/login")
    assert started.status_code == 302
    assert (
        "redirect_uri=https%3A%2F%2Fdashboard.example.com%2Fauth%2Fcallback"
        in (started.headers["location"])
    )
    assert "; secure" in started.headers["set-cookie"].lower()


# ---------------------------------------------------------------- no session, no page


def test_a_browser_without_a_session_is_sent_to_sign_in_and_back(site: Site) -> None:
    with site.client() as browser:
        page = browser.get("/me?team=smb", headers={"accept": "text/html,*/*"})
        assert page.status_code == 303
        assert page.headers["location"] == "/login?next=%2Fme%3Fteam%3Dsmb"
        done = site.sign_in(browser, ADMIN, "/me?team=smb")
        assert done.headers["location"] == "/me?team=smb"


def test_a_request_that_is_not_a_browser_gets_401(site: Site) -> None:
    with site.client() as client:
        answer = client.get("/me", headers={"accept": "application/json"})
    assert answer.status_code == 401
    assert answer.json()["error"] == "sign_in_required"


def test_a_forged_cookie_is_no_session(site: Site) -> None:
    forged = carrying("eyJzaWQiOiAieCJ9.forged.signature")
    with site.client(forged) as client:
        assert client.get("/me", headers={"accept": "application/json"}).status_code == 401


def test_a_sign_in_lasts_its_max_age_however_busy(site: Site) -> None:
    with site.client() as browser:
        site.sign_in(browser, REP)
        site.clock.advance(MAX_AGE - timedelta(seconds=1))
        assert browser.get("/me").status_code == 200
        site.clock.advance(timedelta(seconds=1))
        assert browser.get("/me", headers={"accept": "application/json"}).status_code == 401


# ---------------------------------------------------------------- where `next` may lead

HOSTILE_NEXT = [
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\evil.example",
    "/\\/evil.example",
    "https://evil.example/",
    "http:evil.example",
    "HTTPS://evil.example",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "evil.example",
    "@evil.example",
    " //evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "\t//evil.example",
    "/%09/evil.example",
    "//%2Fevil.example",
    "/ /evil.example",
    "//evil.example@127.0.0.1",
    "/\u3000/evil.example",
    "/\uff0f/evil.example",
    "",
    "/" + "a" * 5000,
]


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_next_never_leads_off_site(site: Site, target: str) -> None:
    with site.client() as browser:
        done = site.sign_in(browser, REP, target)
        assert done.status_code == 303
        assert same_site_path(done.headers["location"], site.url)
        # and once signed in, /login sends the browser on at once, as safely
        again = browser.get("/login", params={"next": target})
        assert again.status_code == 303
        assert same_site_path(again.headers["location"], site.url)


def test_no_next_at_all_leads_off_site(site: Site) -> None:
    """Whatever text `next` is, the redirect stays on this site (checked signed in, where
    /login answers at once; the parametrized forms above go the whole round)."""
    with site.client() as browser:
        site.sign_in(browser, REP)

        @settings(max_examples=150, deadline=None)
        @given(target=st.text(max_size=40) | st.from_regex(r"[/\\\t ]{1,3}[a-z.:@%0-9/]{0,12}"))
        def check(target: str) -> None:
            again = browser.get("/login", params={"next": target})
            assert again.status_code == 303
            assert same_site_path(again.headers["location"], site.url)

        check()


# ---------------------------------------------------------------- state and nonce


def test_a_forged_state_is_refused(site: Site) -> None:
    with site.client() as browser:
        site.provider.sign_in_as(REP)
        callback = site.start(browser)
        forged = re.sub(r"state=[^&]+", "state=forged-state-value", callback)
        refused(browser.get(forged), 400, "could not be matched")
        assert browser.get("/whoami").json() is None


def test_a_callback_without_a_started_sign_in_is_refused(site: Site) -> None:
    with site.client() as browser:
        refused(browser.get("/auth/callback?code=abc&state=xyz"), 400, "could not be matched")
        refused(browser.get("/auth/callback"), 400, "could not be matched")


def test_an_expired_state_is_refused(site: Site) -> None:
    with site.client() as browser:
        site.provider.sign_in_as(REP)
        callback = site.start(browser)
        site.clock.advance(timedelta(minutes=10, seconds=1))
        refused(browser.get(callback), 400, "has expired")
        assert browser.get("/whoami").json() is None


def test_a_replayed_callback_is_refused(site: Site) -> None:
    with site.client() as browser:
        site.provider.sign_in_as(REP)
        callback = site.start(browser)
        before = carrying(browser.cookies[SESSION_COOKIE])
        assert browser.get(callback).status_code == 303
        # the same browser again: its pending sign-in is used up
        refused(browser.get(callback), 400, "could not be matched")
        assert browser.get("/whoami").json()["email"] == "a@example.com"
    # the cookie from before the callback, replayed elsewhere: the state is spent
    with site.client(before) as thief:
        refused(thief.get(callback), 400, "could not be matched")
        assert thief.get("/whoami").json() is None


def test_a_callback_started_in_another_browser_is_refused(site: Site) -> None:
    """Login CSRF: someone sends their own callback URL to another person's browser."""
    with site.client() as attacker, site.client() as victim:
        site.provider.sign_in_as(STRANGER)
        callback = site.start(attacker)
        refused(victim.get(callback), 400, "could not be matched")
        assert victim.get("/whoami").json() is None


@pytest.mark.parametrize(
    ("tamper", "value"),
    [
        ("wrong_nonce", True),
        ("expired", True),
        ("issuer", "https://other-issuer.example"),
        ("audience", "someone-elses-client"),
    ],
)
def test_an_id_token_that_fails_its_checks_is_refused(
    site: Site, tamper: str, value: object
) -> None:
    setattr(site.provider, tamper, value)
    try:
        with site.client() as browser:
            refused(site.sign_in(browser, ADMIN), 400, "could not be verified")
            assert browser.get("/whoami").json() is None
    finally:
        site.provider.issuer = site.provider.audience = None


def test_a_sign_in_the_person_declined_is_refused(site: Site) -> None:
    with site.client() as browser:
        refused(site.sign_in(browser, None), 400, "cancelled or refused")


def test_an_unreachable_provider_is_a_clear_502(provider: FakeOidc) -> None:
    with serve(Later()) as gone:  # a port that answers nothing useful once closed
        pass
    auth = build(provider, "http://127.0.0.1:1", FixedClock(NOW), oidc_issuer=gone)
    with serve(dashboard(auth)) as url, httpx.Client(base_url=url) as browser:
        refused(browser.get("/login"), 502, "could not be reached")


# ---------------------------------------------------------------- session fixation


def test_a_cookie_from_before_sign_in_never_becomes_signed_in(site: Site) -> None:
    with site.client() as attacker:
        attacker.get("/plant")
        planted = carrying(attacker.cookies[SESSION_COOKIE])
        with site.client(planted) as victim:  # the attacker's cookie, in the victim's browser
            site.provider.sign_in_as(ADMIN)
            callback = site.start(victim)
            pending = carrying(victim.cookies[SESSION_COOKIE])
            assert victim.get(callback).status_code == 303
            assert victim.get("/whoami").json()["email"] == "revops@example.com"
            assert victim.get("/session-keys").json() == ["at", "csrf", "email", "name", "sid"]
            assert victim.cookies[SESSION_COOKIE] not in (
                planted[SESSION_COOKIE],
                pending[SESSION_COOKIE],
            )
        # both cookies the attacker could have kept are still signed out
        assert attacker.get("/whoami").json() is None
        with site.client(pending) as replay:
            assert replay.get("/whoami").json() is None
            refused(replay.get(callback), 400, "could not be matched")


def test_each_sign_in_has_a_new_session_id(site: Site) -> None:
    cookies = set()
    for _ in range(3):
        with site.client() as browser:
            site.sign_in(browser, REP)
            cookies.add(browser.cookies[SESSION_COOKIE])
    assert len(cookies) == 3


def test_sign_out_needs_the_session_csrf_token(site: Site) -> None:
    with site.client() as browser, site.client() as other:
        site.sign_in(browser, REP)
        site.sign_in(other, MANAGER)
        others = re.search(r'name="csrf" value="([^"]+)"', other.get("/logout").text)
        assert others is not None
        for form in ({}, {"csrf": ""}, {"csrf": "guess"}, {"csrf": others[1]}):
            answer = browser.post("/logout", data=form)
            assert answer.status_code == 403
            assert "has expired" in answer.text
        assert browser.get("/whoami").json()["email"] == "a@example.com"


# ---------------------------------------------------------------- who sees what


def test_an_admin_sees_every_team(site: Site) -> None:
    with site.client() as browser:
        site.sign_in(browser, ADMIN)
        assert browser.get("/me").json()["teams"] == {
            "enterprise": {"role": "admin", "owners": None},
            "smb": {"role": "admin", "owners": None},
        }


def test_a_rep_sees_their_teams_rates_and_only_their_own_leads(site: Site) -> None:
    with site.client() as browser:
        site.sign_in(browser, OTHER_REP)
        assert browser.get("/me").json()["teams"] == {
            "smb": {"role": "rep", "owners": ["c@example.com"]},
        }


def test_a_stranger_is_signed_in_but_sees_a_page_saying_there_is_nothing(site: Site) -> None:
    with site.client() as browser:
        assert site.sign_in(browser, STRANGER).status_code == 303
        page = browser.get("/me")
        assert page.status_code == 403
        assert "stranger@example.com" in page.text
        assert "no data for you here" in page.text
        assert 'action="/logout"' in page.text


def test_the_sign_in_pages_speak_the_browsers_language(site: Site) -> None:
    japanese = {"accept-language": "ja,en;q=0.5"}
    with site.client() as browser:
        assert site.sign_in(browser, STRANGER).status_code == 303
        page = browser.get("/me", headers=japanese)
        assert page.status_code == 403
        assert '<html lang="ja">' in page.text
        assert "としてサインインしていますが" in page.text
        assert "サインアウト" in page.text  # the sign-out button too
        english = browser.get("/me", headers={"accept-language": "en"})
        assert "no data for you here" in english.text
    with site.client() as browser:
        site.provider.sign_in_as(REP)
        forged = re.sub(r"state=[^&]+", "state=forged", site.start(browser))
        answer = browser.get(forged, headers=japanese)
        assert answer.status_code == 400
        assert "このブラウザで開始したものと一致しません" in answer.text


@pytest.mark.parametrize("verified", [False, None])
def test_an_unverified_email_does_not_sign_in(site: Site, verified: bool | None) -> None:
    unverified = OidcUser("U9", "boss@example.com", "Mallory", email_verified=verified)
    with site.client() as browser:
        refused(site.sign_in(browser, unverified), 403, "no verified email address")
        assert browser.get("/whoami").json() is None
