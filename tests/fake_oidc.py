"""A local OpenID Connect provider, written from OpenID Connect Core 1.0 and Discovery
1.0 and served over real HTTP, so the dashboard's sign-in (Authlib) talks to it exactly as
to Slack's "Sign in with Slack".

It serves discovery (`/.well-known/openid-configuration`, its issuer being its own URL),
`/authorize` (no page: it sends the browser straight back with a code for the user the
test chose, carrying `state`, and remembers the `nonce` and the PKCE challenge), `/token`
(the code once, for the redirect URI it was issued to, with the client's secret sent as
the provider offers: HTTP Basic or in the form; an ID token signed RS256 with a key made
at start), `/userinfo` (the access token as a bearer) and `/jwks`.

Tests choose who signs in next (`sign_in_as`; nobody: the provider answers
`error=access_denied`), and can make the next ID tokens carry a wrong nonce, be expired,
name another issuer or audience, or leave the email to the userinfo endpoint.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.fakes import serve

CLIENT_ID = "dashboard-client-id-for-tests"
CLIENT_SECRET = "dashboard-client-secret-for-tests"
SCOPES = ("openid", "email", "profile")


@dataclass(frozen=True)
class OidcUser:
    sub: str
    email: str
    name: str = ""
    email_verified: bool | None = True  # None: the claim is left out


@dataclass(frozen=True)
class Grant:
    user: OidcUser
    client_id: str
    redirect_uri: str
    nonce: str | None
    challenge: str | None


@dataclass
class FakeOidc:
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    url: str = ""
    # how the token endpoint takes the client's secret, as Slack's discovery lists them
    auth_methods: tuple[str, ...] = ("client_secret_post", "client_secret_basic")
    pkce: bool = True  # offers S256 (Slack does not say it does; Authlib then skips it)
    # ---- the next sign-in and its tokens
    user: OidcUser | None = None
    wrong_nonce: bool = False
    expired: bool = False
    issuer: str | None = None  # None: its own URL
    audience: str | None = None  # None: the client's id
    claims_in_id_token: bool = True  # False: email and name only from /userinfo
    # ---- what it saw
    authorizations: list[dict[str, str]] = field(default_factory=list)
    token_auth: list[str] = field(default_factory=list)  # how each token request authenticated
    refused: list[str] = field(default_factory=list)  # why each refused request was refused
    _grants: dict[str, Grant] = field(default_factory=dict)
    _access: dict[str, OidcUser] = field(default_factory=dict)
    _key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    _kid: str = field(default_factory=lambda: secrets.token_hex(8))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # ------------------------------------------------------------ scripting

    def sign_in_as(self, user: OidcUser | None) -> None:
        """Who the next authorization is for (None: the person says no)."""
        self.user = user

    # ------------------------------------------------------------ the server

    def _discovery(self, _request: Request) -> Response:
        url = self.url
        metadata: dict[str, Any] = {
            "issuer": url,
            "authorization_endpoint": f"{url}/authorize",
            "token_endpoint": f"{url}/token",
            "userinfo_endpoint": f"{url}/userinfo",
            "jwks_uri": f"{url}/jwks",
            "scopes_supported": list(SCOPES),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": list(self.auth_methods),
        }
        if self.pkce:
            metadata["code_challenge_methods_supported"] = ["S256"]
        return JSONResponse(metadata)

    def _refuse(self, why: str, status: int, error: str) -> Response:
        with self._lock:
            self.refused.append(why)
        return JSONResponse({"error": error, "error_description": why}, status_code=status)

    def _authorize(self, request: Request) -> Response:
        q = dict(request.query_params)
        with self._lock:
            self.authorizations.append(q)
        if q.get("client_id") != self.client_id:
            return self._refuse("unknown client", 400, "invalid_request")
        if q.get("response_type") != "code" or "openid" not in q.get("scope", "").split():
            return self._refuse("not an OpenID Connect code request", 400, "invalid_request")
        redirect_uri = q.get("redirect_uri", "")
        if not redirect_uri:
            return self._refuse("no redirect_uri", 400, "invalid_request")
        back: dict[str, str] = {}
        if "state" in q:
            back["state"] = q["state"]
        user = self.user
        if user is None:
            back["error"] = "access_denied"
        else:
            if self.pkce and q.get("code_challenge_method", "S256") != "S256":
                return self._refuse("only S256", 400, "invalid_request")
            code = secrets.token_urlsafe(24)
            with self._lock:
                self._grants[code] = Grant(
                    user, self.client_id, redirect_uri, q.get("nonce"), q.get("code_challenge")
                )
            back["code"] = code
        return RedirectResponse(f"{redirect_uri}?{urlencode(back)}", status_code=302)

    def _client_auth(self, request: Request, form: dict[str, str]) -> str | None:
        """How the client authenticated ("client_secret_basic" or "client_secret_post"),
        or None when it did not, or not in a way offered."""
        header = request.headers.get("authorization", "")
        if header.startswith("Basic ") and "client_secret_basic" in self.auth_methods:
            try:
                pair = base64.b64decode(header[6:]).decode()
            except ValueError:
                return None
            client_id, _, secret = pair.partition(":")
            ok = (client_id, secret) == (self.client_id, self.client_secret)
            return "client_secret_basic" if ok else None
        if "client_secret" in form and "client_secret_post" in self.auth_methods:
            ok = (form.get("client_id"), form["client_secret"]) == (
                self.client_id,
                self.client_secret,
            )
            return "client_secret_post" if ok else None
        return None

    def _id_token(self, grant: Grant) -> str:
        now = int(time.time())  # the provider's own clock: Authlib checks against it
        issued = now - 7200 if self.expired else now
        claims: dict[str, Any] = {
            "iss": self.issuer or self.url,
            "aud": self.audience or grant.client_id,
            "sub": grant.user.sub,
            "iat": issued,
            "exp": issued + 300,
            "auth_time": issued,
        }
        if grant.nonce is not None:
            claims["nonce"] = f"not-{grant.nonce}" if self.wrong_nonce else grant.nonce
        if self.claims_in_id_token:
            claims.update(self._profile(grant.user))
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self._kid})

    @staticmethod
    def _profile(user: OidcUser) -> dict[str, Any]:
        profile: dict[str, Any] = {"email": user.email}
        if user.email_verified is not None:
            profile["email_verified"] = user.email_verified
        if user.name:
            profile["name"] = user.name
        return profile

    async def _token(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode()))
        how = self._client_auth(request, form)
        if how is None:
            return self._refuse("client authentication failed", 401, "invalid_client")
        with self._lock:
            self.token_auth.append(how)
            grant = self._grants.pop(form.get("code", ""), None)  # a code works once
        if form.get("grant_type") != "authorization_code" or grant is None:
            return self._refuse("unknown or used code", 400, "invalid_grant")
        if form.get("redirect_uri") != grant.redirect_uri:
            return self._refuse("redirect_uri differs", 400, "invalid_grant")
        if grant.challenge is not None:
            verifier = form.get("code_verifier", "")
            digest = hashlib.sha256(verifier.encode()).digest()
            made = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if made != grant.challenge:
                return self._refuse("PKCE verifier does not match", 400, "invalid_grant")
        access_token = secrets.token_urlsafe(24)
        with self._lock:
            self._access[access_token] = grant.user
        return JSONResponse(
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": 3600,
                "id_token": self._id_token(grant),
            },
            headers={"Cache-Control": "no-store"},
        )

    def _userinfo(self, request: Request) -> Response:
        header = request.headers.get("authorization", "")
        with self._lock:
            user = self._access.get(header[7:]) if header.startswith("Bearer ") else None
        if user is None:
            return self._refuse("no valid access token", 401, "invalid_token")
        return JSONResponse({"sub": user.sub, **self._profile(user)})

    def _jwks(self, _request: Request) -> Response:
        public = json.loads(RSAAlgorithm.to_jwk(self._key.public_key()))
        public.update({"kid": self._kid, "use": "sig", "alg": "RS256"})
        return JSONResponse({"keys": [public]})

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self._discovery),
                Route("/authorize", self._authorize),
                Route("/token", self._token, methods=["POST"]),
                Route("/userinfo", self._userinfo, methods=["GET", "POST"]),
                Route("/jwks", self._jwks),
            ]
        )


@contextmanager
def fake_oidc(**options: Any) -> Iterator[FakeOidc]:
    fake = FakeOidc(**options)
    with serve(fake.app()) as url:
        fake.url = url
        yield fake
