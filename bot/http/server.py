"""The HTTP server: Slack's requests, the handoff webhook, health and metrics, and what
the Teams cards link to (the chart images) when Teams is configured.

Bolt's own Starlette adapter calls the synchronous `App.dispatch` on the event loop, so
one slow request (a database lock, a Web API call in a middleware) stalls every other
request. We hand `dispatch` to a worker thread instead; `docs/benchmarks.md` has the
figures under 50 concurrent clicks that decided it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import parse_qs

from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import Engine, text
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.http.lull import Lull
from bot.http.metrics import Metrics
from bot.http.webhooks import MAX_BODY, HandoffDoor

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
    # False: Bolt's own way, `dispatch` on the event loop (kept to measure against)
    dispatch_in_thread: bool = True
    extra_routes: Sequence[BaseRoute] = ()  # e.g. bot.http.charts.chart_route
    # button clicks answered here and dispatched to Bolt on `background` (module docstring)
    answers_later: Callable[[str], bool] | None = None
    background: Executor | None = None
    verifier: SignatureVerifier | None = None  # the signing secret's, as Bolt checks it
    lull: Lull = field(default_factory=Lull)
    # None: Slack needs no check (off, or a test's app); else requests wait until it is ready
    slack_link: SlackLink | None = None

    def _answer_first(self, text: str, headers: dict[str, str]) -> bool:
        """True if the request is a signed click whose listeners all answer later."""
        if self.answers_later is None or self.background is None or self.verifier is None:
            return False
        if not text.startswith("payload="):
            return False
        try:
            payload = json.loads(parse_qs(text)["payload"][0])
            actions = payload["actions"] if payload.get("type") == "block_actions" else []
            ids = [str(action["action_id"]) for action in actions]
        except (KeyError, IndexError, TypeError, ValueError, AttributeError):
            return False  # Bolt will say what is wrong with it
        if not ids or not all(self.answers_later(action_id) for action_id in ids):
            return False
        return self.verifier.is_valid(
            text,
            headers.get("x-slack-request-timestamp", ""),
            headers.get("x-slack-signature", ""),
        )

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

    async def slack(self, request: Request) -> Response:
        refusal = self._refusal()
        if refusal is not None:
            return refusal
        assert self.bolt is not None  # else refused above
        declared = request.headers.get("content-length", "")
        too_large = JSONResponse({"error": f"body is over {MAX_BODY} bytes"}, status_code=413)
        if declared.isdigit() and int(declared) > MAX_BODY:
            return too_large
        body = bytearray()
        async for chunk in request.stream():  # read no further than any Slack payload goes
            body += chunk
            if len(body) > MAX_BODY:
                return too_large
        timestamp = request.headers.get("x-slack-request-timestamp", "")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is None or not (timestamp.isascii() and timestamp.isdigit()):
            # Slack signs UTF-8 bodies and Unix seconds; anything else cannot be verified,
            # and Bolt's verifier would raise on it (a 500) instead of refusing
            self.metrics.rejected_requests.labels("slack", "bad_signature").inc()
            return JSONResponse({"error": "invalid request"}, status_code=401)
        headers = {k: v for k, v in request.headers.items()}  # noqa: C416 (a Headers is multi)
        bolt_request = BoltRequest(body=text, query=request.url.query, headers=dict(headers))
        if self._answer_first(text, headers):
            assert self.background is not None
            self.background.submit(self._dispatch_later, bolt_request)
            return Response(status_code=200)
        if self.dispatch_in_thread:
            response = await run_in_threadpool(self.bolt.dispatch, bolt_request)
        else:
            response = self.bolt.dispatch(bolt_request)
        if response.status == 401:
            self.metrics.rejected_requests.labels("slack", "bad_signature").inc()
        return _to_starlette(response)

    async def healthz(self, _request: Request) -> Response:
        def ping() -> None:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))

        try:
            await run_in_threadpool(ping)
        except Exception as err:
            return JSONResponse({"ok": False, "database": type(err).__name__}, status_code=503)
        if self.slack_link is not None:  # HTTP or Socket Mode
            slack = "ok" if self.slack_link.ready else "unreachable"
        else:
            slack = "ok" if self.bolt is not None else "off"
        # Slack unreachable is not unhealthy: the webhook, Teams and the links still work
        return JSONResponse({"ok": True, "database": "ok", "slack": slack})

    async def prometheus(self, _request: Request) -> Response:
        return Response(self.metrics.render(), media_type="text/plain; version=0.0.4")

    def app(self) -> Starlette:
        app = Starlette(
            routes=[
                Route("/slack/events", self.slack, methods=["POST"]),
                Route("/hooks/handoff", self.handoff.handle, methods=["POST"]),
                Route("/healthz", self.healthz, methods=["GET"]),
                Route("/metrics", self.prometheus, methods=["GET"]),
                *self.extra_routes,
            ]
        )
        app.add_middleware(_Foreground, lull=self.lull)
        return app


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
        finally:
            self.lull.leave()
