"""The demo's sign-in (`ignorerate demo`): no provider, a page that offers the demo's
people, one button each. It exists only in the demo, whose server listens on loopback,
and it answers nothing that did not come from this computer by a loopback name (a page
elsewhere cannot reach it through a name of its own: DNS rebinding).

Everything else is the real sign-in's: the same signed session cookie, started the same
way (`WebAuth.start_session`), the same sign-out, the same viewer rules."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Sequence
from datetime import timedelta
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from bot.app.viewers import TeamRole, viewer_for
from bot.body import BodyTooLargeError, read_body
from bot.clock import Clock
from bot.config import Settings
from bot.present.i18n import t
from bot.web import pages
from bot.web.auth import MAX_FORM, AuthConfig, Identity, WebAuth, safe_next

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1"})
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "[::1]"})
FORM_FIELD = "demo_form"  # the form field, and the session key, of the sign-in form's token


def is_loopback(request: Request) -> bool:
    """Sent from this computer to a loopback name of it."""
    host = request.headers.get("host", "")
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    client = request.client.host if request.client else ""
    return client in LOOPBACK_HOSTS and name.lower() in LOOPBACK_NAMES


class DemoAuth(WebAuth):
    """`WebAuth` whose sign-in is a choice among `people` (emails of the configuration)."""

    def __init__(
        self, settings: Settings, clock: Clock, people: Sequence[str], public_url: str
    ) -> None:
        config = AuthConfig(
            issuer="http://127.0.0.1",  # never asked: the demo has no provider
            client_id="demo",
            client_secret="",  # there is none
            # the demo's sessions end with its process: a key of its own each run
            session_secret=secrets.token_urlsafe(48),
            public_url=public_url,
            session_max_age=timedelta(hours=12),
        )
        super().__init__(config, settings, clock)
        self.people = tuple(p.lower() for p in people)

    @property
    def routes(self) -> list[Route]:
        return [
            Route("/login", self.choose, methods=["GET"], name="login"),
            Route("/login", self.sign_in_as, methods=["POST"], name="demo_sign_in"),
            *(r for r in super().routes if r.path not in ("/login", "/auth/callback")),
        ]

    def _role(self, email: str, loc: str) -> str:
        viewer = viewer_for(self.settings, email)
        roles = {v.role for v in viewer.teams}
        teams = ", ".join(v.team for v in viewer.teams)
        if TeamRole.ADMIN in roles:
            return t(loc, "web.demo_admin")
        if TeamRole.MANAGER in roles:
            return t(loc, "web.demo_manager", teams=teams)
        return t(loc, "web.demo_rep", teams=teams)

    async def choose(self, request: Request) -> Response:
        if not is_loopback(request):
            return PlainTextResponse("Not Found", status_code=404)
        target = safe_next(request.query_params.get("next"))
        token = request.session.get(FORM_FIELD)
        if not isinstance(token, str):
            token = request.session[FORM_FIELD] = secrets.token_urlsafe(32)
        loc = self.locale_of(request)
        forms = [
            pages.Html(
                pages.text(self._role(email, loc))
                + pages.post_form(
                    "/login",
                    {"email": email, "next": target, FORM_FIELD: token},
                    t(loc, "web.demo_as", email=email),
                )
            )
            for email in self.people
        ]
        return pages.page(
            loc, t(loc, "web.demo_title"), pages.text(t(loc, "web.demo_intro")), *forms
        )

    async def sign_in_as(self, request: Request) -> Response:
        if not is_loopback(request):
            return PlainTextResponse("Not Found", status_code=404)
        try:
            body = await read_body(request, MAX_FORM)
            fields = parse_qs(body.decode("utf-8"), max_num_fields=10)
        except (BodyTooLargeError, UnicodeDecodeError, ValueError):
            fields = {}

        def field(name: str) -> str:
            return (fields.get(name) or [""])[0]

        expected = request.session.get(FORM_FIELD)
        sent, email = field(FORM_FIELD), field("email").strip().lower()
        fresh = isinstance(expected, str) and hmac.compare_digest(expected.encode(), sent.encode())
        if not fresh or email not in self.people:
            return RedirectResponse("/login", status_code=303)  # the choice again
        self.start_session(request, Identity(subject=email, email=email, name=email))
        return RedirectResponse(safe_next(field("next")), status_code=303)
