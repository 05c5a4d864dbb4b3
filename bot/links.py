"""Signed, expiring links: the one-click "Contacted" links in Teams cards and the chart
images they show. A token is `base64url(json).base64url(hmac)`; the HMAC (SHA-256, keyed
with IGNORERATE_LINK_SECRET) covers the purpose as well as the data, so a chart token
cannot be replayed as an ack token. Tokens carry ids, never names or emails: a URL ends
up in proxy logs and link scanners.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta
from typing import Any, TypeGuard


class LinkError(ValueError):
    pass


class TamperedLinkError(LinkError):
    """Not a link this bot signed (or signed for another purpose)."""


class ExpiredLinkError(LinkError):
    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__("this link has expired")
        self.data = data  # what it named, to say what to do instead


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class LinkSigner:
    def __init__(self, secret: str) -> None:
        if len(secret) < 16:
            raise ValueError("IGNORERATE_LINK_SECRET needs at least 16 characters")
        self._key = secret.encode()

    def _mac(self, purpose: str, body: str) -> str:
        digest = hmac.new(self._key, f"{purpose}:{body}".encode(), hashlib.sha256).digest()
        return _b64(digest)

    def sign(self, purpose: str, data: dict[str, Any], expires: datetime) -> str:
        body = _b64(
            json.dumps({**data, "x": int(expires.timestamp())}, separators=(",", ":")).encode()
        )
        return f"{body}.{self._mac(purpose, body)}"

    def verify(self, purpose: str, token: str, now: datetime) -> dict[str, Any]:
        body, dot, mac = token.partition(".")
        # every token we sign is ASCII; `compare_digest` raises on str that is not
        if not dot or not token.isascii() or not hmac.compare_digest(mac, self._mac(purpose, body)):
            raise TamperedLinkError("this link was not made by this bot, or was changed")
        try:
            data = json.loads(_unb64(body))
        except ValueError:
            raise TamperedLinkError("this link cannot be read") from None
        if not isinstance(data, dict) or not isinstance(data.get("x"), int):
            raise TamperedLinkError("this link cannot be read")
        if now.timestamp() >= data["x"]:
            raise ExpiredLinkError(data)
        return data


MAX_ID = 2**63 - 1  # the largest id a table's key holds (PostgreSQL bigint)


def is_row_id(value: object) -> TypeGuard[int]:
    """Whether a token's id could name a row: a positive int that fits the key column
    (a larger one would overflow the query's parameter instead of finding nothing)."""
    return type(value) is int and 0 < value <= MAX_ID


ACK_TTL = timedelta(hours=72)


def ack_token(
    signer: LinkSigner, lead_id: int, rep_id: int | None, now: datetime, *, ttl: timedelta = ACK_TTL
) -> str:
    """The token of a one-click link for `lead_id`, sent to the rep with id `rep_id`
    (None: to the team channel, for whoever takes it)."""
    return signer.sign("ack", {"l": lead_id, "r": rep_id}, now + ttl)


def ack_url(
    base_url: str,
    signer: LinkSigner,
    lead_id: int,
    rep_id: int | None,
    now: datetime,
    *,
    ttl: timedelta = ACK_TTL,
) -> str:
    return f"{base_url.rstrip('/')}/ack/{ack_token(signer, lead_id, rep_id, now, ttl=ttl)}"
