"""GET /charts/{token}.png: the trend chart a Teams summary card shows. Teams fetches the
image itself, so the URL carries its authority: a "chart" token signed by the bot naming
a team id and an ISO week, valid for a while (bot.teams.sender.CHART_TTL).

The chart is drawn from the database on each request (numbers as of now), the same
series as the Slack upload; nothing is stored. A tampered token is 403, an expired one
410 (gone: asking again will not help), a team no longer configured 404, a week whose
trend reaches outside the supported days (metrics.instants) 400.
"""

from __future__ import annotations

from datetime import timedelta

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot.app.charts import chart_summary
from bot.app.db import Engine
from bot.clock import Clock
from bot.config import Settings
from bot.links import ExpiredLinkError, LinkError, LinkSigner, is_row_id
from bot.present.chart import trend_png
from metrics.instants import SUPPORTED_DAYS, OutOfRangeError, check_days
from metrics.summary import WeekError, WeekOutOfRangeError, parse_week, trend_weeks

CACHE = "private, max-age=3600"  # a chart changes little within the hour


def chart_route(engine: Engine, settings: Settings, signer: LinkSigner, clock: Clock) -> Route:
    # a plain function: Starlette runs it in its thread pool, off the event loop, since
    # both the queries and the drawing block
    def chart(request: Request) -> Response:  # noqa: PLR0911 (one answer per refusal)
        now = clock.now()
        try:
            data = signer.verify("chart", str(request.path_params["token"]), now)
        except ExpiredLinkError:
            return PlainTextResponse("this chart link has expired", status_code=410)
        except LinkError:
            return PlainTextResponse("not a chart link of this bot", status_code=403)
        team_id, week = data.get("t"), data.get("w")
        if not is_row_id(team_id) or not isinstance(week, str):
            return PlainTextResponse("not a chart link of this bot", status_code=403)
        try:
            weeks = trend_weeks(parse_week(week))
            check_days(weeks[0].monday, weeks[-1].monday + timedelta(days=7), "week")
        except (WeekOutOfRangeError, OutOfRangeError, OverflowError):
            # OverflowError: a trend reaching before year 1
            return PlainTextResponse(
                f"no chart for week {week[:20]}: a chart's weeks must lie {SUPPORTED_DAYS}",
                status_code=400,
            )
        except WeekError:
            return PlainTextResponse("not a chart link of this bot", status_code=403)
        try:
            summary = chart_summary(engine, settings, team_id, week, now)
        except WeekError:
            return PlainTextResponse("not a chart link of this bot", status_code=403)
        if summary is None:
            return PlainTextResponse("no such team", status_code=404)
        return Response(
            trend_png(summary.trend), media_type="image/png", headers={"Cache-Control": CACHE}
        )

    return Route("/charts/{token}.png", chart, methods=["GET"])
