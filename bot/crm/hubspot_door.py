"""`POST /hooks/hubspot`: HubSpot's webhook events, a nudge to sync now.

HubSpot signs each request (signature v3):

    X-HubSpot-Request-Timestamp: 1764000000000            (milliseconds)
    X-HubSpot-Signature-v3: base64(HMAC-SHA256(client secret,
                                   method + URI + body + timestamp))

URI is the full URL HubSpot called: scheme, host, path and query. Behind a proxy the
server does not see that URL, so `hubspot_routes` takes the public base URL
(PUBLIC_BASE_URL) and puts the request's path and query after it; without one, the URL the
request arrived at is used. HubSpot decodes some percent-escapes in the URI before it
signs (`:/?@!$'()*,;`), and so does this door. A request older (or newer) than five
minutes by our clock, or with a wrong signature, is refused (401) and wakes nothing.

The events themselves are only read as a check (a JSON array of objects): a verified
request calls `wake()`, which starts a sync run at once. Polling stays the source of
truth: an event lost, late or forged would change nothing the next poll would not.
Without HUBSPOT_CLIENT_SECRET the door answers 503 "off".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.body import BodyTooLargeError, read_body
from bot.clock import Clock
from bot.crmconfig import HubspotConfig

PATH = "/hooks/hubspot"
MAX_BODY = 1024 * 1024
WINDOW = timedelta(minutes=5)
SIGNATURE_HEADER = "x-hubspot-signature-v3"
TIMESTAMP_HEADER = "x-hubspot-request-timestamp"
# the escapes HubSpot decodes in the URI it signs
_DECODED = {
    "%3A": ":",
    "%2F": "/",
    "%3F": "?",
    "%40": "@",
    "%21": "!",
    "%24": "$",
    "%27": "'",
    "%28": "(",
    "%29": ")",
    "%2A": "*",
    "%2C": ",",
    "%3B": ";",
}
log = logging.getLogger(__name__)


def signed_uri(uri: str) -> str:
    """The URI as HubSpot signs it: the listed escapes decoded (either case)."""
    out: list[str] = []
    i = 0
    while i < len(uri):
        escape = uri[i : i + 3].upper()
        if uri[i] == "%" and escape in _DECODED:
            out.append(_DECODED[escape])
            i += 3
        else:
            out.append(uri[i])
            i += 1
    return "".join(out)


def signature(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    """X-HubSpot-Signature-v3 of a request (what HubSpot sends, what a test signs with)."""
    message = method.upper().encode() + signed_uri(uri).encode() + body + timestamp.encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class HubspotDoor:
    def __init__(
        self,
        config: HubspotConfig,
        *,
        clock: Clock,
        wake: Callable[[], None],
        base_url: str | None = None,
    ) -> None:
        self.secret = config.client_secret
        self.clock = clock
        self.wake = wake
        self.base_url = (base_url or "").rstrip("/") or None

    def uri(self, request: Request) -> str:
        if self.base_url is None:
            return str(request.url)
        query = request.url.query
        return f"{self.base_url}{request.url.path}{'?' + query if query else ''}"

    async def handle(self, request: Request) -> Response:  # noqa: PLR0911 (one answer per refusal)
        if not self.secret:
            return _error(503, "off: HUBSPOT_CLIENT_SECRET is not set")
        try:
            body = await read_body(request, MAX_BODY)
        except BodyTooLargeError as err:
            return _error(413, f"the body is over {err.limit} bytes")
        given = request.headers.get(SIGNATURE_HEADER, "")
        stamp = request.headers.get(TIMESTAMP_HEADER, "").strip()
        if not given or not stamp:
            return _error(401, f"{SIGNATURE_HEADER} and {TIMESTAMP_HEADER} are required")
        if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 15):
            return _error(401, f"{TIMESTAMP_HEADER} must be Unix milliseconds")
        now_ms = int(self.clock.now().timestamp() * 1000)
        if abs(now_ms - int(stamp)) > WINDOW.total_seconds() * 1000:
            return _error(401, "the request is older or newer than five minutes")
        expected = signature(self.secret, request.method, self.uri(request), body, stamp)
        if not hmac.compare_digest(expected.encode(), given.strip().encode()):
            return _error(401, "the signature does not match")
        try:
            events = json.loads(body)
        except (ValueError, RecursionError):  # RecursionError: nested too deeply
            return _error(400, "the body is not JSON; expected an array of event objects")
        if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
            return _error(400, "expected a JSON array of event objects")
        kinds = sorted({str(e.get("subscriptionType", "?")) for e in events})
        log.info("hubspot door: %d events (%s); syncing now", len(events), ", ".join(kinds))
        self.wake()
        return JSONResponse({"ok": True, "events": len(events)})


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def hubspot_routes(
    config: HubspotConfig,
    *,
    clock: Clock,
    wake: Callable[[], None],
    base_url: str | None = None,
) -> list[BaseRoute]:
    """The door's route. `base_url`: PUBLIC_BASE_URL, the origin HubSpot calls (it signs
    the full URL); None: the URL the request arrived at."""
    door = HubspotDoor(config, clock=clock, wake=wake, base_url=base_url)
    return [Route(PATH, door.handle, methods=["POST"])]
