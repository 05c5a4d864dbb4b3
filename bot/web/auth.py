"""Signing in to the dashboard with OpenID Connect, through Authlib's Starlette client.

The provider is found by its issuer's discovery document
(`{issuer}/.well-known/openid-configuration`); the default issuer is Slack's, whose
"Sign in with Slack" is OpenID Connect (api.slack.com/authentication/sign-in-with-slack;
its discovery document names `https://slack.com` as the issuer and offers
`client_secret_post` and `client_secret_basic` at the token endpoint).

The flow:
- `GET /login?next=/path`: remembers a same-site `next` (anything else becomes `/`), a
  fresh `state` and `nonce` (Authlib keeps them in the session) and the moment the
  sign-in began, and sends the browser to the provider.
- `GET /auth/callback`: refuses with a 400 page a `state` this browser did not start,
  one already used (even from a copy of the cookie taken before), one older than
  `login_timeout`, and an ID token that fails Authlib's checks (signature, issuer,
  audience, expiry, nonce); refuses with a 403 page an account without a verified email.
  Otherwise the pre-login session is discarded whole and a new one holds only a new
  random session id, the email, the name, the sign-in moment and the CSRF token.
- `GET /logout` shows a form; `POST /logout` needs the session's CSRF token in a hidden
  field, clears the session and forgets its id for the rest of its life (in this
  process), so a copy of the signed-in cookie no longer signs anyone in.

Authlib calls the provider through httpx2 (since Authlib 1.8 its httpx integration takes
httpx2, the maintained successor of httpx, and warns when only httpx is there), so its
network errors are httpx2's.

The session is Starlette's `SessionMiddleware`: a cookie signed with itsdangerous,
HttpOnly, SameSite=Lax, Secure when PUBLIC_BASE_URL is https. A sign-in lasts
`session_max_age` from the moment it was made, however busy the session.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx2
from authlib.integrations.starlette_client import OAuth, OAuthError
from joserfc.errors import JoseError
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.app.viewers import Viewer, viewer_for
from bot.body import BodyTooLargeError, read_body
from bot.clock import Clock
from bot.config import ConfigError, Environment, Settings
from bot.present.i18n import t
from bot.web import pages
from bot.web.locale import request_locale

SESSION_COOKIE = "ignorerate_session"
SCOPE = "openid email profile"
CLIENT = "oidc"  # Authlib's name for the provider (its session keys carry it)
LOGIN_TIMEOUT = timedelta(minutes=10)  # from /login to the callback
MIN_SESSION_SECRET = 32  # characters
MAX_NEXT = 2000  # characters of a `next` path kept
MAX_FORM = 4096  # bytes of the sign-out form
CSRF_FIELD = "csrf"
SCOPE_KEY = "ignorerate.web_auth"  # where the middleware leaves the WebAuth for handlers
PROVIDER_TIMEOUT = 10.0  # seconds for one call to the provider


@dataclass(frozen=True)
class AuthConfig:
    """What the sign-in needs, read from `Environment` by `auth_config`."""

    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    session_secret: str = field(repr=False)
    public_url: str  # PUBLIC_BASE_URL, without a trailing slash
    session_max_age: timedelta
    login_timeout: timedelta = LOGIN_TIMEOUT

    @property
    def secure(self) -> bool:
        """Whether the cookie is sent over https only."""
        return self.public_url.startswith("https://")

    @property
    def redirect_uri(self) -> str:
        """Where the provider sends the browser back: register it with the provider."""
        return f"{self.public_url}/auth/callback"

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"


def _is_local(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return url.startswith("http://") and host in ("127.0.0.1", "localhost", "::1")


def auth_config(environment: Environment) -> AuthConfig:
    """The sign-in's settings, or a ConfigError naming the variable that is missing or
    wrong: without them the dashboard does not start (never with a made-up key)."""

    def fail(name: str, message: str) -> ConfigError:
        return ConfigError("environment", name, message)

    secret = environment.session_secret
    if not secret:
        raise fail(
            "IGNORERATE_SESSION_SECRET",
            "not set: the dashboard signs its session cookie with it and does not start "
            f"without it; set {MIN_SESSION_SECRET} random characters or more "
            "(e.g. `openssl rand -hex 32`)",
        )
    if len(secret) < MIN_SESSION_SECRET:
        raise fail(
            "IGNORERATE_SESSION_SECRET",
            f"is {len(secret)} characters; the session key needs {MIN_SESSION_SECRET} or "
            "more (e.g. `openssl rand -hex 32`)",
        )
    if not environment.oidc_client_id:
        raise fail(
            "IGNORERATE_OIDC_CLIENT_ID",
            "not set: the dashboard's sign-in needs the client id the provider issued "
            "(Slack: the app's Basic Information, App Credentials)",
        )
    if not environment.oidc_client_secret:
        raise fail(
            "IGNORERATE_OIDC_CLIENT_SECRET",
            "not set: the dashboard's sign-in needs the client secret the provider issued",
        )
    issuer = environment.oidc_issuer.rstrip("/")
    if not (issuer.startswith("https://") or _is_local(issuer)):
        raise fail("IGNORERATE_OIDC_ISSUER", "expected an https:// issuer URL")
    public = environment.public_base_url.rstrip("/")
    if not public:
        raise fail(
            "PUBLIC_BASE_URL",
            "not set: the provider sends people back to PUBLIC_BASE_URL/auth/callback",
        )
    if not (public.startswith("https://") or _is_local(public)):
        raise fail(
            "PUBLIC_BASE_URL",
            "the dashboard needs an https:// address (http only on 127.0.0.1 or localhost)",
        )
    return AuthConfig(
        issuer=issuer,
        client_id=environment.oidc_client_id,
        client_secret=environment.oidc_client_secret,
        session_secret=secret,
        public_url=public,
        session_max_age=timedelta(seconds=environment.session_max_age),
    )


def safe_next(target: str | None) -> str:
    """`target` if it is a path on this site, else `/`: it must begin with one `/`, hold
    only visible ASCII and no backslash (browsers read `/\\host` as `//host`, and drop
    tabs and newlines), and name no scheme and no host."""
    if not target or len(target) > MAX_NEXT:
        return "/"
    if not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target or not all("!" <= c <= "~" for c in target):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


@dataclass(frozen=True)
class Identity:
    """Who the provider says signed in: only a verified email makes one."""

    subject: str
    email: str
    name: str


def verified_identity(claims: dict[str, Any]) -> Identity | None:
    """The identity in the claims, if they carry an email the provider says is verified
    (`email_verified` true); None otherwise."""
    email = claims.get("email")
    subject = claims.get("sub")
    if claims.get("email_verified") is not True:
        return None
    if not isinstance(email, str) or "@" not in email or not isinstance(subject, str):
        return None
    name = claims.get("name")
    return Identity(
        subject=subject,
        email=email.strip().lower(),
        name=name.strip() if isinstance(name, str) else "",
    )


class _Expiring:
    """Keys remembered until a moment (spent states, signed-out session ids)."""

    def __init__(self) -> None:
        self._until: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def add(self, key: str, until: datetime, now: datetime) -> None:
        with self._lock:
            self._until = {k: u for k, u in self._until.items() if u > now}
            self._until[key] = until

    def holds(self, key: str, now: datetime) -> bool:
        with self._lock:
            until = self._until.get(key)
            return until is not None and until > now


class _RefusedError(Exception):
    def __init__(self, key: str, status: int = 400) -> None:
        super().__init__(key)
        self.key = key
        self.status = status


class WebAuth:
    """The sign-in: its routes, its middleware, and `signed_in`."""

    def __init__(self, config: AuthConfig, settings: Settings, clock: Clock) -> None:
        self.config = config
        self.settings = settings
        self.clock = clock
        self.locale: str = settings.locale
        self._spent_states = _Expiring()
        self._signed_out = _Expiring()
        self._oauth = OAuth()
        self._client: Any = self._oauth.register(
            name=CLIENT,
            client_id=config.client_id,
            client_secret=config.client_secret,
            server_metadata_url=config.discovery_url,
            client_kwargs={"scope": SCOPE, "timeout": PROVIDER_TIMEOUT},
        )
        self._ready = False

    def __repr__(self) -> str:
        return f"WebAuth(issuer={self.config.issuer!r}, client_id={self.config.client_id!r})"

    # ------------------------------------------------------------ mounting

    @property
    def routes(self) -> list[Route]:
        return [
            Route("/login", self.login, methods=["GET"], name="login"),
            Route("/auth/callback", self.callback, methods=["GET"], name="auth_callback"),
            Route("/logout", self.logout_page, methods=["GET"], name="logout_page"),
            Route("/logout", self.logout, methods=["POST"], name="logout"),
        ]

    def middleware(self) -> list[Middleware]:
        """The session (outermost), then what lets `signed_in(request)` find this."""
        return [
            Middleware(
                SessionMiddleware,
                secret_key=self.config.session_secret,
                session_cookie=SESSION_COOKIE,
                max_age=int(self.config.session_max_age.total_seconds()),
                same_site="lax",
                https_only=self.config.secure,
            ),
            Middleware(_Attach, auth=self),
        ]

    # ------------------------------------------------------------ who is signed in

    def signed_in(self, request: Request) -> Viewer | None:
        """The viewer whose session this request carries; None when there is none, it is
        older than `session_max_age`, or it was signed out."""
        session = request.session
        sid, email, name, at = (session.get(k) for k in ("sid", "email", "name", "at"))
        if not (isinstance(sid, str) and isinstance(email, str) and isinstance(at, int)):
            return None
        now = self.clock.now()
        began = datetime.fromtimestamp(at, now.tzinfo)
        if not began <= now < began + self.config.session_max_age:
            session.clear()
            return None
        if self._signed_out.holds(sid, now):
            session.clear()
            return None
        return viewer_for(self.settings, email, name if isinstance(name, str) else "")

    def locale_of(self, request: Request) -> str:
        """The language of this request's pages (`bot.web.locale.request_locale`)."""
        return request_locale(request, self.locale)

    def csrf_token(self, request: Request) -> str:
        """The value the sign-out form carries (the session's)."""
        value = request.session.get(CSRF_FIELD)
        return value if isinstance(value, str) else ""

    def logout_form(self, request: Request) -> pages.Html:
        """The sign-out button for a dashboard page: a POST form with the CSRF token."""
        return pages.post_form(
            "/logout",
            {CSRF_FIELD: self.csrf_token(request)},
            t(self.locale_of(request), "web.sign_out"),
        )

    # ------------------------------------------------------------ the routes

    async def login(self, request: Request) -> Response:
        target = safe_next(request.query_params.get("next"))
        if self.signed_in(request) is not None:
            return RedirectResponse(target, status_code=303)
        try:
            await self._prepare()
        except _RefusedError as refused:
            return self._refusal(request, refused)
        state = secrets.token_urlsafe(32)
        response: Response = await self._client.authorize_redirect(
            request, self.config.redirect_uri, state=state
        )
        request.session["login"] = {
            "state": state,
            "next": target,
            "at": int(self.clock.now().timestamp()),
        }
        return response

    async def callback(self, request: Request) -> Response:
        try:
            target = self._take_pending(request)
            claims = await self._claims(request)
        except _RefusedError as refused:
            return self._refusal(request, refused)
        identity = verified_identity(claims)
        if identity is None:
            return self._refusal(request, _RefusedError("web.email_unverified", 403))
        self.start_session(request, identity)
        return RedirectResponse(target, status_code=303)

    def start_session(self, request: Request, identity: Identity) -> None:
        """`identity` is signed in from now on, in a session of its own: nothing from
        before the sign-in survives it (a cookie from before never becomes signed in)."""
        session = request.session
        session.clear()
        session.update(
            {
                "sid": secrets.token_urlsafe(24),
                "email": identity.email,
                "name": identity.name,
                "at": int(self.clock.now().timestamp()),
                CSRF_FIELD: secrets.token_urlsafe(32),
            }
        )

    async def logout_page(self, request: Request) -> Response:
        loc = self.locale_of(request)
        viewer = self.signed_in(request)
        if viewer is None:
            return pages.page(
                loc,
                t(loc, "web.signed_out"),
                pages.link("/login", t(loc, "web.sign_in")),
            )
        return pages.page(
            loc,
            t(loc, "web.sign_out_question"),
            pages.text(t(loc, "web.signed_in_as", name=viewer.name, email=viewer.email)),
            self.logout_form(request),
        )

    async def logout(self, request: Request) -> Response:
        loc = self.locale_of(request)
        try:
            body = await read_body(request, MAX_FORM)
        except BodyTooLargeError:
            return pages.page(loc, t(loc, "web.form_expired"), status=413)
        try:
            fields = parse_qs(body.decode("utf-8"), max_num_fields=10)
        except (UnicodeDecodeError, ValueError):
            fields = {}
        sent = (fields.get(CSRF_FIELD) or [""])[0]
        expected = self.csrf_token(request)
        if not (expected and sent and hmac.compare_digest(expected.encode(), sent.encode())):
            return pages.page(
                loc,
                t(loc, "web.form_expired"),
                pages.link("/logout", t(loc, "web.sign_out")),
                status=403,
            )
        sid = request.session.get("sid")
        if isinstance(sid, str):
            now = self.clock.now()
            self._signed_out.add(sid, now + self.config.session_max_age, now)
        request.session.clear()
        return RedirectResponse("/logout", status_code=303)

    # ------------------------------------------------------------ the parts

    async def _prepare(self) -> None:
        """Reads the provider's discovery document once: its issuer must be the one
        configured (OpenID Connect Discovery 1.0, section 4.3); the token endpoint's
        client authentication and PKCE follow what it offers."""
        if self._ready:
            return
        try:
            metadata = await self._client.load_server_metadata()
        except (httpx2.HTTPError, ValueError):
            raise _RefusedError("web.provider_unreachable", 502) from None
        if str(metadata.get("issuer", "")).rstrip("/") != self.config.issuer:
            raise _RefusedError("web.provider_unreachable", 502)
        offered = metadata.get("token_endpoint_auth_methods_supported") or [
            "client_secret_basic"  # the default when a provider names none
        ]
        method = "client_secret_basic" if "client_secret_basic" in offered else "client_secret_post"
        self._client.client_kwargs["token_endpoint_auth_method"] = method
        if "S256" in (metadata.get("code_challenge_methods_supported") or []):
            self._client.client_kwargs["code_challenge_method"] = "S256"
        self._ready = True

    def _take_pending(self, request: Request) -> str:
        """The `next` of the sign-in this callback ends, once its state is known to be
        this browser's, unused and fresh; the pending sign-in is used up either way."""
        state = request.query_params.get("state", "")
        pending = request.session.get("login")
        if not (isinstance(pending, dict) and isinstance(pending.get("state"), str)):
            raise _RefusedError("web.state_refused")
        if not (state and hmac.compare_digest(pending["state"].encode(), state.encode())):
            raise _RefusedError("web.state_refused")
        now = self.clock.now()
        if self._spent_states.holds(state, now):
            raise _RefusedError("web.state_refused")
        request.session.pop("login", None)
        self._spent_states.add(state, now + self.config.login_timeout, now)
        at = pending.get("at")
        if not isinstance(at, int):
            raise _RefusedError("web.state_refused")
        began = datetime.fromtimestamp(at, now.tzinfo)
        if not began <= now <= began + self.config.login_timeout:
            raise _RefusedError("web.state_expired")
        if request.query_params.get("error"):
            raise _RefusedError("web.provider_refused")
        target = pending.get("next")
        return safe_next(target if isinstance(target, str) else None)

    async def _claims(self, request: Request) -> dict[str, Any]:
        """The ID token's claims, checked by Authlib, with the userinfo endpoint's added
        when the token carries no email (OpenID Connect Core 1.0, 5.3.2: its `sub` must
        be the token's)."""
        try:
            await self._prepare()
            token = await self._client.authorize_access_token(request)
            claims = token.get("userinfo")
            if not claims:  # no ID token
                raise _RefusedError("web.token_refused")
            claims = dict(claims)
            if "email" not in claims:
                info = dict(await self._client.userinfo(token=token))
                if info.get("sub") != claims.get("sub"):
                    raise _RefusedError("web.token_refused")
                claims.update({k: v for k, v in info.items() if k not in claims})
        except OAuthError:
            raise _RefusedError("web.token_refused") from None
        except JoseError:
            raise _RefusedError("web.token_refused") from None
        except (httpx2.HTTPError, ValueError):
            raise _RefusedError("web.provider_unreachable", 502) from None
        return claims

    def _refusal(self, request: Request, refused: _RefusedError) -> Response:
        loc = self.locale_of(request)
        return pages.page(
            loc,
            t(loc, "web.sign_in_failed"),
            pages.text(t(loc, refused.key)),
            pages.link("/login", t(loc, "web.start_again")),
            status=refused.status,
        )


class _Attach:
    """Leaves the WebAuth in the request's scope, for `signed_in(request)`."""

    def __init__(self, app: ASGIApp, auth: WebAuth) -> None:
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            scope[SCOPE_KEY] = self.auth
        await self.app(scope, receive, send)


def web_auth(request: Request) -> WebAuth:
    auth = request.scope.get(SCOPE_KEY)
    if not isinstance(auth, WebAuth):
        raise RuntimeError("the sign-in's middleware is not mounted (WebAuth.middleware())")
    return auth


def signed_in(request: Request) -> Viewer | None:
    """The signed-in viewer of this request, or None."""
    return web_auth(request).signed_in(request)


def wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def sign_in_needed(request: Request) -> Response:
    """The answer to a request without a session: a browser is sent to sign in and back
    here; anything else gets a 401."""
    if wants_html(request):
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(safe_next(here), safe='')}", 303)
    loc = web_auth(request).locale_of(request)
    return JSONResponse(
        {"error": "sign_in_required", "message": t(loc, "web.sign_in_required")},
        status_code=401,
    )


Handler = Callable[[Request, Viewer], Awaitable[Response]]


def protected(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """An endpoint that runs only with a session, and is handed its viewer; a viewer
    who sees nothing gets the page saying so (403)."""

    async def endpoint(request: Request) -> Response:
        viewer = signed_in(request)
        if viewer is None:
            return sign_in_needed(request)
        if not viewer.sees_anything:
            return no_access(request, viewer)
        return await handler(request, viewer)

    return endpoint


def no_access(request: Request, viewer: Viewer) -> Response:
    auth = web_auth(request)
    loc = auth.locale_of(request)
    return pages.page(
        loc,
        t(loc, "web.no_access_title"),
        pages.text(t(loc, "web.no_access", email=viewer.email)),
        auth.logout_form(request),
        status=403,
    )
