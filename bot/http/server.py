"""The HTTP server: Slack's requests, the webhooks, health and metrics, and what
the Teams cards link to (the chart images) when Teams is configured.

Bolt's own Starlette adapter calls the synchronous `App.dispatch` on the event loop, so
one slow request (a database lock, a Web API call in a middleware) stalls every other
request. We hand `dispatch` to a worker thread instead; `docs/benchmarks.md` has the
figures under 50 concurrent clicks that decided it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qsl

from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk.signature import SignatureVerifier
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.app.crm import CrmHealth
from bot.app.db import Engine, ping
from bot.body import BodyTooLargeError, read_body
from bot.http.door import bearer_matches
from bot.http.lull import Lull
from bot.http.prometheus import Metrics
from bot.http.webhooks import MAX_BODY, ActionDoor, HandoffDoor

log = logging.getLogger(__name__)
SLACK_RETRY_AFTER = 30  # seconds a Slack request refused while Slack is unreachable waits


class SlackLink(Protocol):
    """Whether Slack has been reached with a token it accepts (bot.slack.readiness)."""

    @property
    def ready(self) -> bool: ...

    def nudge(self) -> None: ...


def _to_starlette(resp: BoltResponse) -> Response:
    return Response(
        status_code=resp.status,
        content=resp.body,
        headers=resp.first_headers_without_set_cookie(),
    )


@dataclass
class Server:
    engine: Engine
    metrics: Metrics
    handoff: HandoffDoor
    bolt: App | None
    extra_routes: Sequence[BaseRoute] = ()  # e.g. bot.http.charts.chart_route
    middleware: Sequence[Middleware] = ()  # e.g. the dashboard's session
    # button clicks answered here and dispatched to Bolt on `background` (module docstring)
    answers_later: Callable[[str], bool] | None = None
    background: Executor | None = None
    verifier: SignatureVerifier | None = None  # the signing secret's, as Bolt checks it
    lull: Lull = field(default_factory=Lull)
    # None: Slack needs no check (off, or a test's app); else requests wait until it is ready
    slack_link: SlackLink | None = None
    # IGNORERATE_METRICS_TOKEN: when set, GET /metrics needs `Authorization: Bearer <it>`
    metrics_token: str | None = None
    # the CRM syncs' state (bot.app.crm.health), for /healthz and /metrics; None: no CRM
    crm_health: Callable[[], list[CrmHealth]] | None = None
    action: ActionDoor | None = None  # POST /hooks/action, when given

    def _answer_first(self, payload: object) -> bool:
        """True if the signed request is a click whose listeners all answer later."""
        if self.answers_later is None or self.background is None or self.verifier is None:
            return False
        if not isinstance(payload, dict) or payload.get("type") != "block_actions":
            return False
        actions = payload.get("actions")
        if not isinstance(actions, list) or not actions:
            return False
        ids = [a.get("action_id") if isinstance(a, dict) else None for a in actions]
        return all(isinstance(i, str) and self.answers_later(i) for i in ids)

    async def dispatch(self, request: BoltRequest) -> BoltResponse:
        """Bolt's answer to a request, from a worker thread (module docstring)."""
        assert self.bolt is not None
        return await run_in_threadpool(self.bolt.dispatch, request)

    def _dispatch_later(self, request: BoltRequest) -> None:
        assert self.bolt is not None
        response = self.bolt.dispatch(request)
        if response.status != 200:
            log.warning("a click answered early was refused by Bolt: HTTP %s", response.status)

    def _refusal(self) -> Response | None:
        """Why Slack's requests cannot be served now, if they cannot."""
        if self.bolt is None:
            return JSONResponse(
                {"error": "Slack is off: SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are not set"},
                status_code=503,
            )
        if self.slack_link is not None and not self.slack_link.ready:
            # served by listeners whose every Web API call would fail, a request would be
            # half done; refused, Slack retries an event and a person may try again
            self.slack_link.nudge()
            return JSONResponse(
                {"error": "Slack cannot be reached from here yet; try again shortly"},
                status_code=503,
                headers={"Retry-After": str(SLACK_RETRY_AFTER)},
            )
        return None

    async def slack(self, request: Request) -> Response:  # noqa: PLR0911 (one per refusal)
        refusal = self._refusal()
        if refusal is not None:
            return refusal
        assert self.bolt is not None  # else refused above
        try:
            raw = await read_body(request, MAX_BODY)  # no further than any Slack payload goes
        except BodyTooLargeError as err:
            self.metrics.rejected_requests.labels("slack", "too_large").inc()
            return JSONResponse({"error": str(err)}, status_code=413)
        timestamp = request.headers.get("x-slack-request-timestamp", "")
        signature = request.headers.get("x-slack-signature", "")
        text = _utf8(raw)
        if text is None or not _verifiable(timestamp, signature):
            # Slack signs UTF-8 bodies, Unix seconds and an ASCII signature; anything else
            # cannot be verified, and Bolt's verifier would raise on it (a 500, counted as
            # a listener error) instead of refusing
            self.metrics.rejected_requests.labels("slack", "bad_signature").inc()
            return JSONResponse({"error": "invalid request"}, status_code=401)
        # the only check of the signature: Bolt's own is off (bot.serve), since it would
        # see the body as `_bolt_request` rewrites it; no verifier, nothing is let in
        signed = self.verifier is not None and self.verifier.is_valid(text, timestamp, signature)
        if not signed:
            self.metrics.rejected_requests.labels("slack", "bad_signature").inc()
            return JSONResponse({"error": "invalid request"}, status_code=401)
        headers: dict[str, str | Sequence[str]] = dict(request.headers.items())
        bolt_request = _bolt_request(text, request.url.query, headers)
        if bolt_request is None:
            # signed, yet not what Slack sends: Bolt would raise on it (a 500)
            self.metrics.rejected_requests.labels("slack", "malformed").inc()
            return JSONResponse(
                {
                    "error": "the body is not a Slack request: expected a JSON object, a "
                    "form whose payload field is a JSON object, or a form of fields"
                },
                status_code=400,
            )
        payload = bolt_request.body
        if self._answer_first(payload):
            assert self.background is not None
            self.background.submit(self._dispatch_later, bolt_request)
            return Response(status_code=200)
        response = await self.dispatch(bolt_request)
        if response.status == 401:
            self.metrics.rejected_requests.labels("slack", "bad_signature").inc()
        return _to_starlette(response)

    async def healthz(self, _request: Request) -> Response:
        try:
            await run_in_threadpool(ping, self.engine)
        except Exception as err:
            return JSONResponse({"ok": False, "database": type(err).__name__}, status_code=503)
        if self.slack_link is not None:  # HTTP or Socket Mode
            slack = "ok" if self.slack_link.ready else "unreachable"
        else:
            slack = "ok" if self.bolt is not None else "off"
        # Slack unreachable is not unhealthy: the webhook, Teams and the links still work
        body: dict[str, Any] = {"ok": True, "database": "ok", "slack": slack}
        if self.crm_health is not None:
            # a failing CRM is not unhealthy either: it is reported, and caught up later
            body["crm"] = {
                h.source: {
                    "last_success_at": h.last_success_at.isoformat() if h.last_success_at else None,
                    "lag_seconds": h.lag_seconds,
                    "errors": h.errors,
                    "last_error": h.last_error,
                }
                for h in await run_in_threadpool(self.crm_health)
            }
        return JSONResponse(body)

    async def prometheus(self, request: Request) -> Response:
        if self.metrics_token and not bearer_matches(
            request.headers.get("authorization", ""), self.metrics_token
        ):
            return JSONResponse(
                {"error": "send the metrics token: Authorization: Bearer <token>"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        if self.crm_health is not None:
            self._crm_gauges(await run_in_threadpool(self.crm_health))
        return Response(self.metrics.render(), media_type="text/plain; version=0.0.4")

    def _crm_gauges(self, states: list[CrmHealth]) -> None:
        for h in states:
            if h.lag_seconds is not None:  # absent until the first success
                self.metrics.crm_lag.labels(h.source).set(h.lag_seconds)
            self.metrics.crm_errors.labels(h.source).set(h.errors)
            if h.budget_used is not None and h.budget_max is not None:
                self.metrics.crm_budget_left.labels(h.source).set(h.budget_max - h.budget_used)

    def app(self) -> Starlette:
        app = Starlette(
            routes=[
                Route("/slack/events", self.slack, methods=["POST"]),
                Route("/hooks/handoff", self.handoff.handle, methods=["POST"]),
                *(
                    [Route("/hooks/action", self.action.handle, methods=["POST"])]
                    if self.action is not None
                    else []
                ),
                Route("/healthz", self.healthz, methods=["GET"]),
                Route("/metrics", self.prometheus, methods=["GET"]),
                *self.extra_routes,
            ],
            middleware=list(self.middleware),
        )
        app.add_middleware(_Foreground, lull=self.lull)
        return app


# Unix seconds: ten digits until the year 2286; a longer value is stale by any clock
# (and one of over 300 digits would overflow slack_sdk's float arithmetic)
_MAX_TIMESTAMP_DIGITS = 12


def _verifiable(timestamp: str, signature: str) -> bool:
    """Whether the headers are of the forms slack_sdk's verifier reads without raising."""
    return (
        0 < len(timestamp) <= _MAX_TIMESTAMP_DIGITS
        and timestamp.isascii()
        and timestamp.isdigit()
        and signature.isascii()
    )


def _utf8(raw: bytes) -> str | None:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _bolt_request(
    text: str, query: str, headers: dict[str, str | Sequence[str]]
) -> BoltRequest | None:
    """The request as Bolt reads it, or None if Bolt cannot: its constructor parses the
    body (`json.loads` of a JSON body or of a form's `payload` field) and reads ids out of
    it, and its middleware reads more; both raise (a 500, counted as a listener error) on
    a body that is not JSON, not an object, or whose envelope is not in Slack's shapes."""
    try:
        request = BoltRequest(body=_unmistakable(text), query=query, headers=headers)
    except (ValueError, TypeError, AttributeError, KeyError, IndexError, RecursionError):
        return None
    return request if _slack_shaped(request.body) and _complete(request.body) else None


def _unmistakable(text: str) -> str:
    """`text` as Bolt must read it. Bolt takes any form body in which the word "payload"
    appears for an interaction and, finding no `payload` field, for an empty request: a
    slash command whose text, channel or user name says "payload" went unanswered. In
    such a form the word can only stand inside one field (its letters need no escaping,
    "=" and "&" break it), so writing its "a" as %61 reads back as the same fields."""
    if "payload" not in text or text.lstrip().startswith("{"):
        return text
    if any(key == "payload" for key, _ in parse_qsl(text, keep_blank_values=True)):
        return text  # an interaction: Bolt reads its payload field
    return text.replace("payload", "p%61yload")


# the parts of a request's envelope that Bolt reads (slack_bolt.request.internals and its
# middleware), with the JSON types Slack sends them in (ids may be null; objects and
# lists, which Bolt looks into, may not)
_TEXT = (str, type(None))
_OBJECT = (dict,)
_TEXT_OR_OBJECT = (str, dict, type(None))
_ENVELOPE: dict[str, tuple[type, ...]] = {
    "type": _TEXT,
    "subtype": _TEXT,
    "token": _TEXT,
    "team_id": _TEXT,
    "enterprise_id": _TEXT,
    "context_team_id": _TEXT,
    "context_enterprise_id": _TEXT,
    "user_id": _TEXT,
    "channel_id": _TEXT,
    "api_app_id": _TEXT,
    "callback_id": _TEXT,
    "command": _TEXT,
    "trigger_id": _TEXT,
    "response_url": _TEXT,
    "event_id": _TEXT,
    "bot_id": _TEXT,
    "thread_ts": _TEXT,
    "function_execution_id": _TEXT,
    "bot_access_token": _TEXT,
    "user": _TEXT_OR_OBJECT,
    "team": _TEXT_OR_OBJECT,
    "channel": _TEXT_OR_OBJECT,
    "enterprise": _TEXT_OR_OBJECT,
    "event": _OBJECT,
    "view": _OBJECT,
    "container": _OBJECT,
    "message": _OBJECT,
    "previous_message": _OBJECT,
    "item": _OBJECT,
    "assistant_thread": _OBJECT,
    "function_data": _OBJECT,
    "actions": (list,),
    "authorizations": (list,),
}
# the objects Bolt looks into for the same ids
_NESTED = ("event", "message", "previous_message", "item", "assistant_thread", "view")


def _slack_shaped(body: object, depth: int = 0) -> bool:
    if not isinstance(body, dict) or depth > 4:
        return isinstance(body, dict)
    for key, types in _ENVELOPE.items():
        if key in body and not isinstance(body[key], types):
            return False
    for key in ("actions", "authorizations"):
        if not all(isinstance(item, dict) for item in body.get(key) or []):
            return False
    for key in ("user", "team", "channel", "enterprise"):
        value = body.get(key)
        if isinstance(value, dict) and not isinstance(value.get("id", ""), str):
            return False
    for item in body.get("authorizations") or []:
        if not _slack_shaped(item, depth + 1):
            return False
    return all(_slack_shaped(body[key], depth + 1) for key in _NESTED if body.get(key))


# interactions whose listeners act for the person who clicked or submitted
_BY_A_PERSON = ("block_actions", "view_submission", "view_closed", "shortcut", "message_action")


def _complete(body: dict[str, Any]) -> bool:
    """Whether a request carries what Slack always sends with its kind and our listeners
    act on: a slash command its user, channel and response URL; an interaction the person
    behind it. Without them a listener could only fail after the request was answered."""
    if "command" in body:  # a slash command
        url = body.get("response_url")
        return (
            all(isinstance(body.get(key), str) and body[key] for key in ("user_id", "channel_id"))
            and isinstance(url, str)
            and url.startswith(("https://", "http://"))
        )
    if body.get("type") in _BY_A_PERSON:
        user = body.get("user")
        return isinstance(user, dict) and isinstance(user.get("id"), str) and bool(user["id"])
    return True


class _Foreground:
    """Counts each HTTP request as foreground work while it is answered (bot.http.lull)."""

    def __init__(self, app: ASGIApp, lull: Lull) -> None:
        self.app, self.lull = app, lull

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.lull.enter()
        try:
            await self.app(scope, receive, send)
        except ClientDisconnect:
            # the client left before its body was all sent: nobody is there to answer, and
            # no door has stored anything of a body it could not finish reading
            log.info(
                "%s %s: the client left before sending its body", scope["method"], scope["path"]
            )
        finally:
            self.lull.leave()
