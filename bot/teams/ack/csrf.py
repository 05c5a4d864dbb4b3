"""The double-submit CSRF check of the one-click form.

GET sets a random value in a cookie (HttpOnly, SameSite=Strict, Path=/ack) and in a
hidden field; POST needs both, equal.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from starlette.requests import Request
from starlette.responses import Response

FIELD = "csrf"
COOKIE_PREFIX = "ack_csrf_"
VALUE = re.compile(r"[A-Za-z0-9_-]{43}")  # what secrets.token_urlsafe(32) makes
MAX_AGE = 12 * 3600  # a page left open over a night asks for a reload


def cookie_name(token: str) -> str:
    """One cookie a link, so two links open in two tabs do not spoil each other's form;
    named by a hash, as the token itself is a credential."""
    return COOKIE_PREFIX + hashlib.sha256(token.encode()).hexdigest()[:16]


def value_for(request: Request, token: str) -> str:
    """The value the page's form carries: the one already set, if any, stays."""
    # a reload or a second tab of the same link must not spoil the form open in the first
    # (a navigation from Teams carries no SameSite=Strict cookie, so there a fresh value
    # is set, and an older tab is told to reload)
    value = request.cookies.get(cookie_name(token), "")
    if not VALUE.fullmatch(value):
        value = secrets.token_urlsafe(32)
    return value


def set_cookie(response: Response, request: Request, token: str, value: str) -> None:
    response.set_cookie(
        cookie_name(token),
        value,
        max_age=MAX_AGE,
        path="/ack",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )


def matches(request: Request, token: str, form: dict[str, str]) -> bool:
    """Whether the form's value and the cookie's are there and equal (constant-time)."""
    cookie = request.cookies.get(cookie_name(token), "")
    field = form.get(FIELD, "")
    return bool(cookie) and bool(field) and hmac.compare_digest(cookie.encode(), field.encode())
