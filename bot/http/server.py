"""The HTTP server: Slack's requests, the handoff webhook, health and metrics, and what
the Teams cards link to (the chart images) when Teams is configured.

Bolt's own Starlette adapter calls the synchronous `App.dispatch` on the event loop, so
one slow request (a database lock, a Web API call in a middleware) stalls every other
request. We hand `dispatch` to a worker thread instead; `docs/benchmarks.md` has the
figures under 50 concurrent clicks that decided it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from slack_bolt import App, BoltRequest, BoltResponse
from sqlalchemy import Engine, text
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.http.metrics import Metrics
from bot.http.webhooks import MAX_BODY, HandoffDoor


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

    async def slack(self, request: Request) -> Response:
        if self.bolt is None:
            return JSONResponse(
                {"error": "Slack is off: SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are not set"},
                status_code=503,
            )
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
        bolt_request = BoltRequest(
            body=text,
            query=request.url.query,
            headers={k: v for k, v in request.headers.items()},  # noqa: C416 (a Headers is multi)
        )
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
        return JSONResponse(
            {"ok": True, "database": "ok", "slack": "on" if self.bolt is not None else "off"}
        )

    async def prometheus(self, _request: Request) -> Response:
        return Response(self.metrics.render(), media_type="text/plain; version=0.0.4")

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/slack/events", self.slack, methods=["POST"]),
                Route("/hooks/handoff", self.handoff.handle, methods=["POST"]),
                Route("/healthz", self.healthz, methods=["GET"]),
                Route("/metrics", self.prometheus, methods=["GET"]),
                *self.extra_routes,
            ]
        )
