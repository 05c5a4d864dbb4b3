"""The dashboard's pages: the overview (`/`), a team (`/teams/{team}`), the leads
(`/leads`, `/leads.csv`) and one lead (`/leads/{id}`). Every route is `protected`: it
runs only with a session, for a viewer who sees something, and shows only what the viewer
sees (`bot.app.viewers`). A team, a lead or a CSV the viewer may not see is a 404, like
one that does not exist.

Pages are rendered here, work with scripts off and load nothing from elsewhere
(`bot.web.markup`). The numbers come from `bot.app.dashboard`, the report's counts; times
are shown in each team's time zone. A query the page cannot read (a bad period, a filter
holding control characters, a page cursor not written here) is a 400 page saying why.
"""

from __future__ import annotations

import heapq
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import quote
from zoneinfo import ZoneInfo

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from bot.app import dashboard as data
from bot.app.dashboard import (
    DEFAULT_PERIOD,
    NONE_KEY,
    Cursor,
    CursorError,
    EventKind,
    LeadFilter,
    LeadPage,
    LeadRow,
    TeamPage,
    Tile,
    TimelineEvent,
)
from bot.app.db import DatabaseError, Engine
from bot.app.teams import UnknownTeamError
from bot.app.viewers import TeamRole, Viewer
from bot.clock import Clock
from bot.config import Settings
from bot.present.i18n import t
from bot.present.words import reason_label
from bot.web import markup, pages
from bot.web.auth import CSRF_FIELD, protected, web_auth
from bot.web.chart import trend_svg
from bot.web.locale import LANG_COOKIE, LANG_COOKIE_AGE, LANG_PARAM, choose, supported
from bot.web.markup import Cell, Row, el, href, join, link
from bot.web.pages import Html
from bot.web.sorting import (
    DIR_PARAM,
    SORT_PARAM,
    Sort,
    next_sort,
    parse_sort,
    sort_params,
    sort_rows,
)
from bot.web.spreadsheet import csv_lines, in_chunks
from bot.web.why import DIMENSIONS, group_name, headline
from bot.web.words import DASH, change, direction, duration, moment, points, rate, verdict
from metrics.errors import PeriodError
from metrics.model import Outcome
from metrics.periods import ACCEPTED_FORMS, Period, parse_period
from metrics.rates import Counts
from metrics.shift_share import ShiftShare
from metrics.summary import TrendPoint

T = TypeVar("T")

PAGE_SIZE = 50
MAX_PARAM = 300  # characters of a filter value (the longest stored value: a campaign's 300)
MAX_ID = 2**63 - 1  # the largest lead id the database holds
NOBODY_PARAM = "-"  # in the rep and campaign filters: the unassigned rep, no campaign
PERIOD_PARAM = "period"
AFTER_PARAM = "after"
FILTERS = ("period", "team", "outcome", "rep", "source", "campaign")
OUTCOMES = (Outcome.IGNORED, Outcome.PENDING, Outcome.LATE, Outcome.ON_TIME, Outcome.EXCLUDED)

# the columns of the tables by rep, source and campaign: (sort key, label key, numeric)
GROUP_COLUMNS = (
    ("name", None),
    ("handed_off", "col.handed_off"),
    ("counted", "col.counted"),
    ("ignored", "col.ignored"),
    ("pending", "col.pending"),
    ("ignore_rate", "dash.ignore_rate"),
    ("sal_rate", "dash.sal_rate"),
    ("sla_breach_rate", "dash.sla_breach_rate"),
    ("median_first_action_seconds", "dash.median_first_touch"),
)
SORTABLE = frozenset(key for key, _ in GROUP_COLUMNS)
TEXT_COLUMNS = frozenset({"name"})


class BadQueryError(Exception):
    """A query the page cannot read; the message is shown on the 400 page."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFoundError(Exception):
    """A team or lead that does not exist or that the viewer may not see."""


# ------------------------------------------------------------------ the request


@dataclass(frozen=True)
class Ctx:
    request: Request
    viewer: Viewer
    loc: str
    set_lang: str | None  # the language asked for in the query, to remember


def context(request: Request, viewer: Viewer, default: str) -> Ctx:
    asked = supported(request.query_params.get(LANG_PARAM))
    loc = choose(
        asked, request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"), default
    )
    return Ctx(request, viewer, loc, asked)


def text_param(request: Request, name: str) -> str | None:
    """A query value: None when absent or blank; a 400 when it is too long or holds a
    control character (no stored value does, and the database refuses some)."""
    value = request.query_params.get(name)
    if value is None or not value.strip():
        return None
    if len(value) > MAX_PARAM or any(unicodedata.category(c) in ("Cc", "Cs") for c in value):
        raise BadQueryError(name)
    return value.strip()


def _current_params(request: Request) -> dict[str, str]:
    return {k: v for k, v in request.query_params.items() if k != LANG_PARAM}


def _team_tz(settings: Settings, team: str) -> ZoneInfo:
    config = settings.team(team)
    return config.timezone if config else settings.timezone


# ------------------------------------------------------------------ the pages


class Dashboard:
    """The pages, over the engine, the settings and the clock (the moment counted as of)."""

    def __init__(self, engine: Engine, settings: Settings, clock: Clock) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock

    # ---------------------------------------------------------- the frame

    def _header(self, ctx: Ctx) -> Html:
        loc = ctx.loc
        path = ctx.request.url.path
        here = _current_params(ctx.request)

        def nav_item(url: str, label: str) -> Html:
            current = "page" if path == url else None
            return el("li", link(url, label, aria_current=current))

        teams = [
            nav_item(f"/teams/{quote(name, safe='')}", name) for name in self._teams(ctx.viewer)
        ]
        main_nav = el(
            "nav",
            el(
                "ul",
                nav_item("/", t(loc, "dash.overview")),
                nav_item("/leads", t(loc, "dash.leads")),
                *teams,
            ),
            aria_label=t(loc, "dash.nav"),
        )
        languages = el(
            "nav",
            el(
                "ul",
                *(
                    el(
                        "li",
                        link(
                            href(path, {**here, LANG_PARAM: code}),
                            t(code, "dash.language_name"),
                            lang=code,
                            hreflang=code,
                            aria_current="true" if code == loc else None,
                        ),
                    )
                    for code in ("en", "ja")
                ),
            ),
            aria_label=t(loc, "dash.language"),
        )
        auth = web_auth(ctx.request)
        who = el(
            "p",
            t(loc, "web.signed_in_as", name=ctx.viewer.name, email=ctx.viewer.email),
            class_="who",
        )
        # auth.logout_form's form, with the button in the page's language
        sign_out = pages.post_form(
            "/logout", {CSRF_FIELD: auth.csrf_token(ctx.request)}, t(loc, "web.sign_out")
        )
        return el("header", main_nav, languages, who, sign_out)

    def _teams(self, viewer: Viewer) -> list[str]:
        """The viewer's teams, in the config's order."""
        return [team.name for team in self.settings.teams if team.name in viewer.rate_teams]

    def _page(self, ctx: Ctx, title: str, main: Html, status: int = 200) -> HTMLResponse:
        html = markup.document(ctx.loc, title, self._header(ctx), main)
        response = HTMLResponse(html, status_code=status, headers=markup.headers())
        _remember(response, ctx)
        return response

    def _error(self, ctx: Ctx, title_key: str, message: str, status: int) -> HTMLResponse:
        return self._page(ctx, t(ctx.loc, title_key), el("p", message, class_="error"), status)

    async def _guarded(self, ctx: Ctx, build: Callable[[], Response]) -> Response:
        """Runs a page's reads in a worker thread; a bad query is a 400 page, a team or
        lead not shown a 404 page, an unreachable database a 503 page."""
        loc = ctx.loc
        try:
            return await run_in_threadpool(build)
        except PeriodError as err:
            message = t(
                loc,
                "period.error",
                text=err.text,
                detail=f" ({err.detail})" if err.detail else "",
                forms=", ".join(ACCEPTED_FORMS),
            )
            return self._error(ctx, "dash.bad_period_title", message, 400)
        except BadQueryError as err:
            message = t(loc, "dash.bad_query", name=err.message)
            return self._error(ctx, "dash.bad_query_title", message, 400)
        except (NotFoundError, UnknownTeamError):
            return self._error(ctx, "dash.not_found_title", t(loc, "dash.not_found"), 404)
        except DatabaseError:
            return self._error(ctx, "dash.unavailable_title", t(loc, "dash.unavailable"), 503)

    def _period(self, ctx: Ctx) -> str:
        return text_param(ctx.request, PERIOD_PARAM) or DEFAULT_PERIOD

    def _period_form(self, ctx: Ctx, period: str, action: str) -> Html:
        """The period chooser (a GET form), keeping the page's sort."""
        loc = ctx.loc
        kept = {k: v for k, v in ctx.request.query_params.items() if k in (SORT_PARAM, DIR_PARAM)}
        hidden = [el("input", type="hidden", name=k, value=v) for k, v in kept.items()]
        return el(
            "form",
            el(
                "label",
                t(loc, "dash.period"),
                el("input", type="text", name=PERIOD_PARAM, value=period, list="period-forms"),
            ),
            _period_list(),
            *hidden,
            el("button", t(loc, "dash.show"), type="submit"),
            el("p", t(loc, "dash.period_help", forms=", ".join(ACCEPTED_FORMS)), class_="small"),
            method="get",
            action=action,
            class_="filters",
        )

    # ---------------------------------------------------------- overview

    async def overview(self, request: Request, viewer: Viewer) -> Response:
        ctx = context(request, viewer, self.settings.locale)

        def build() -> Response:
            period = self._period(ctx)
            as_of = self.clock.now()
            teams = self._teams(viewer)
            tiles, trends = data.overview_with_trends(
                self.engine, self.settings, period, as_of, teams
            )
            return self._overview_page(ctx, period, tiles, trends)

        return await self._guarded(ctx, build)

    def _overview_page(
        self,
        ctx: Ctx,
        period: str,
        tiles: Sequence[Tile],
        trends: Sequence[tuple[str, list[TrendPoint]]],
    ) -> Response:
        loc = ctx.loc
        tile_html = [self._tile(ctx, tile) for tile in tiles]
        charts = [self._trend(ctx, name, points, i) for i, (name, points) in enumerate(trends)]
        main = join(
            [
                self._period_form(ctx, period, "/"),
                el("div", *tile_html, class_="tiles"),
                el("h2", t(loc, "dash.trend_heading")),
                *charts,
            ]
        )
        return self._page(ctx, t(loc, "dash.overview_title"), main)

    def _tile(self, ctx: Ctx, tile: Tile, *, heading: bool = True) -> Html:
        loc = ctx.loc
        now, before = tile.current, tile.previous
        span = _span(tile.period, loc)
        previous = _span(tile.previous_period, loc)

        def moved(delta: float | None, worse_if_up: bool) -> Html:
            judged = verdict(delta, higher_is_worse=worse_if_up)
            return el(
                "span",
                change(delta, loc, higher_is_worse=worse_if_up),
                class_=judged,
                data_direction=direction(delta),
            )

        rows = [
            (
                t(loc, "dash.ignore_rate"),
                _rate_with_change(now.ignore_rate, loc, moved(tile.change_ignore, True)),
            ),
            (
                t(loc, "dash.sal_rate"),
                _rate_with_change(now.sal_rate, loc, moved(tile.change_sal, False)),
            ),
            (
                t(loc, "dash.sla_breach_rate"),
                _rate_with_change(now.sla_breach_rate, loc, moved(tile.change_sla_breach, True)),
            ),
            (t(loc, "dash.pending"), str(now.pending)),
            (t(loc, "dash.counted"), str(now.counted)),
            (t(loc, "dash.median_first_touch"), duration(now.median_first_action_seconds, loc)),
        ]
        title: Html = (
            el("h2", link(f"/teams/{quote(tile.team, safe='')}", tile.team))
            if heading
            else Html("")
        )
        return el(
            "section",
            title,
            el("p", t(loc, "dash.period_span", span=span, previous=previous), class_="small"),
            markup.definitions(rows),
            class_="tile",
            aria_label=tile.team,
            **_counts_data(now),
            data_team=tile.team,
            data_change_ignore=_num(tile.change_ignore),
            data_change_sal=_num(tile.change_sal),
            data_change_sla_breach=_num(tile.change_sla_breach),
            data_previous_ignore_rate=_num(before.ignore_rate),
            data_period_start=tile.period.first_day.isoformat(),
            data_period_end=tile.period.end_day.isoformat(),
        )

    def _trend(self, ctx: Ctx, team: str, points_: Sequence[TrendPoint], index: int) -> Html:
        loc = ctx.loc
        chart_id = f"trend-{index}"
        rows = [
            Row(
                [
                    Cell(rate(p.ignore_rate, loc), numeric=True),
                    Cell(rate(p.sal_rate, loc), numeric=True),
                ],
                data={
                    "week": p.week,
                    "ignore-rate": _num(p.ignore_rate),
                    "sal-rate": _num(p.sal_rate),
                },
                header=p.week,
            )
            for p in points_
        ]
        table = markup.table(
            t(loc, "dash.trend_table_caption", team=team),
            [t(loc, "dash.week"), t(loc, "dash.ignore_rate"), t(loc, "dash.sal_rate")],
            rows,
            numeric=(1, 2),
            data={"team": team},
        )
        return el(
            "figure",
            trend_svg(team, points_, loc, chart_id),
            el("figcaption", t(loc, "dash.trend_title", team=team, weeks=len(points_))),
            el("details", el("summary", t(loc, "dash.trend_data")), table),
            class_="chart",
        )

    # ---------------------------------------------------------- a team

    async def team(self, request: Request, viewer: Viewer) -> Response:
        ctx = context(request, viewer, self.settings.locale)
        name = str(request.path_params.get("team", ""))

        def build() -> Response:
            if name not in viewer.rate_teams or self.settings.team(name) is None:
                raise NotFoundError
            period = self._period(ctx)
            as_of = self.clock.now()
            page = data.team_page(self.engine, self.settings, name, period, as_of)
            if viewer.role(name) is TeamRole.REP:
                # a rep sees the team's rates, and of the reps only themselves: neither
                # a colleague's row nor the split of the change by rep
                page = replace(
                    page,
                    by_rep=[(r, c) for r, c in page.by_rep if r == viewer.email],
                    why={k: v for k, v in page.why.items() if k != "rep"},
                )
            trend = data.trend(self.engine, self.settings, name, as_of)
            return self._team_page(ctx, period, page, trend)

        return await self._guarded(ctx, build)

    def _team_page(
        self, ctx: Ctx, period: str, page: TeamPage, trend: Sequence[TrendPoint]
    ) -> Response:
        loc = ctx.loc
        team = page.tile.team
        sort = parse_sort(
            ctx.request.query_params.get(SORT_PARAM),
            ctx.request.query_params.get(DIR_PARAM),
            SORTABLE,
            TEXT_COLUMNS,
        )
        path = f"/teams/{quote(team, safe='')}"
        unassigned = t(loc, "report.unassigned")
        no_campaign = t(loc, "dash.no_campaign")
        tables: list[tuple[str, str, str, list[tuple[str, str, Counts]]]] = [
            (
                "rep",
                t(loc, "dash.by_rep"),
                t(loc, "dash.rep"),
                [(rep or unassigned, rep or NONE_KEY, c) for rep, c in page.by_rep],
            ),
            (
                "source",
                t(loc, "dash.by_source"),
                t(loc, "dash.source"),
                [(src, src, c) for src, c in page.by_source],
            ),
            (
                "campaign",
                t(loc, "dash.by_campaign"),
                t(loc, "dash.campaign"),
                [(c or no_campaign, c or NONE_KEY, n) for c, n in page.by_campaign],
            ),
        ]
        main = join(
            [
                el("p", headline(page.why, loc), class_="why-headline"),
                self._period_form(ctx, period, path),
                self._tile(ctx, page.tile, heading=False),
                el("h2", t(loc, "dash.by_group")),
                *(
                    self._group_table(
                        ctx,
                        path=path,
                        sort=sort,
                        group=group,
                        caption=caption,
                        first=first,
                        rows=rows,
                    )
                    for group, caption, first, rows in tables
                ),
                el("h2", t(loc, "dash.reasons")),
                self._reasons(ctx, page.reasons),
                el("h2", t(loc, "dash.trend_heading")),
                self._trend(ctx, team, trend, 0),
                el("h2", t(loc, "dash.why_heading")),
                *(self._why_table(ctx, d, page.why[d]) for d in DIMENSIONS if d in page.why),
            ]
        )
        return self._page(ctx, t(loc, "dash.team_title", team=team), main)

    def _group_table(
        self,
        ctx: Ctx,
        *,
        path: str,
        sort: Sort,
        group: str,
        caption: str,
        first: str,
        rows: list[tuple[str, str, Counts]],
    ) -> Html:
        loc = ctx.loc
        params = _current_params(ctx.request)

        def value(row: tuple[str, str, Counts], column: str) -> float | int | str | None:
            label, _key, counts = row
            if column == "name":
                return label
            if column == "median_first_action_seconds":
                return counts.median_first_action_seconds
            return counts.as_dict().get(column)

        ordered = sort_rows(rows, sort, value)
        head: list[Html | str] = []
        head_attrs: list[dict[str, object | None]] = []
        for key, label_key in GROUP_COLUMNS:
            label = first if label_key is None else t(loc, label_key)
            wanted = next_sort(sort, key, TEXT_COLUMNS)
            arrow = ""
            aria: str | None = None
            if sort.column == key:
                arrow = " ▼" if sort.descending else " ▲"
                aria = "descending" if sort.descending else "ascending"
            head.append(
                link(
                    href(path, sort_params(params, wanted)),
                    label,
                    arrow,
                    aria_label=t(loc, "dash.sort_by", column=label),
                )
            )
            head_attrs.append({"aria-sort": aria, "data-column": key})
        body = [
            Row(
                [
                    Cell(c.handed_off, True),
                    Cell(c.counted, True),
                    Cell(c.ignored, True),
                    Cell(c.pending, True),
                    Cell(rate(c.ignore_rate, loc), True),
                    Cell(rate(c.sal_rate, loc), True),
                    Cell(rate(c.sla_breach_rate, loc), True),
                    Cell(duration(c.median_first_action_seconds, loc), True),
                ],
                data={"key": key, **{k.replace("_", "-"): v for k, v in _counts_values(c).items()}},
                header=label,
            )
            for label, key, c in ordered
        ]
        if not body:
            return join([el("h3", caption), el("p", t(loc, "dash.no_rows"))])
        return markup.table(
            caption,
            head,
            body,
            numeric=range(1, len(GROUP_COLUMNS)),
            head_attrs=head_attrs,
            data={"group": group},
        )

    def _reasons(self, ctx: Ctx, reasons: Sequence[tuple[str, int]]) -> Html:
        loc = ctx.loc
        if not reasons:
            return el("p", t(loc, "dash.no_reasons"))
        rows = [
            Row(
                [Cell(n, True)],
                data={"reason": code, "count": n},
                header=reason_label(code, loc) if code else t(loc, "dash.no_reason"),
            )
            for code, n in reasons
        ]
        return markup.table(
            t(loc, "dash.reasons_caption"),
            [t(loc, "dash.reason"), t(loc, "dash.leads_count")],
            rows,
            numeric=(1,),
        )

    def _why_table(self, ctx: Ctx, dimension: str, shift: ShiftShare) -> Html:
        loc = ctx.loc
        head = [
            t(loc, f"why.dimension_{dimension}"),
            t(loc, "why.counted_before"),
            t(loc, "why.counted_after"),
            t(loc, "why.share_before"),
            t(loc, "why.share_after"),
            t(loc, "why.rate_before"),
            t(loc, "why.rate_after"),
            t(loc, "why.interval_after"),
            t(loc, "why.mix"),
            t(loc, "why.rate_effect"),
            t(loc, "why.total"),
            t(loc, "why.note"),
        ]
        rows = []
        for g in shift.groups:
            c = g.contribution
            interval = (
                DASH
                if g.interval_after is None
                else t(
                    loc,
                    "why.interval",
                    low=f"{g.interval_after.low:.1f}",
                    high=f"{g.interval_after.high:.1f}",
                )
            )
            rows.append(
                Row(
                    [
                        Cell(g.before.counted, True),
                        Cell(g.after.counted, True),
                        Cell(rate(float(g.share_before), loc), True),
                        Cell(rate(float(g.share_after), loc), True),
                        Cell(rate(_f(g.rate_before), loc), True),
                        Cell(rate(_f(g.rate_after), loc), True),
                        Cell(interval, True),
                        Cell(points(_f(c.mix) if c else None, loc), True),
                        Cell(points(_f(c.rate) if c else None, loc), True),
                        Cell(points(_f(c.total) if c else None, loc), True),
                        t(loc, "why.small") if g.small else "",
                    ],
                    data={
                        "key": g.key,
                        "small": "true" if g.small else "false",
                        "total": _num(_f(c.total) if c else None),
                    },
                    header=group_name(dimension, g.key, loc),
                )
            )
        if not rows:
            return el("p", t(loc, "dash.no_rows"))
        return markup.table(
            t(loc, f"why.caption_{dimension}"),
            head,
            rows,
            numeric=range(1, 11),
            data={"why": dimension},
        )

    # ---------------------------------------------------------- leads

    def _filter(self, ctx: Ctx) -> tuple[LeadFilter, dict[str, str]]:
        """The list's filter from the query, within what the viewer sees, and the query's
        filter values (to keep in links)."""
        request, viewer = ctx.request, ctx.viewer
        given = {name: text_param(request, name) for name in FILTERS}
        teams = self._teams(viewer)
        if given["team"] is not None:
            if given["team"] not in teams:
                raise NotFoundError
            teams = [given["team"]]
        outcome: Outcome | None = None
        if given["outcome"] is not None:
            try:
                outcome = Outcome(given["outcome"])
            except ValueError:
                raise BadQueryError("outcome") from None
        rep = given["rep"]
        campaign = given["campaign"]
        wanted = LeadFilter(
            teams=tuple(teams),
            period_text=given["period"] or DEFAULT_PERIOD,
            outcome=outcome,
            rep=NONE_KEY if rep == NOBODY_PARAM else (rep.lower() if rep else None),
            source=given["source"],
            campaign=NONE_KEY if campaign == NOBODY_PARAM else campaign,
        )
        return wanted, {k: v for k, v in given.items() if v is not None}

    def _scoped(self, viewer: Viewer, wanted: LeadFilter) -> list[LeadFilter]:
        """The filter split by what the viewer sees of each team: every lead of the teams
        they manage, their own leads of the teams where they are a rep."""
        whole = tuple(n for n in wanted.teams if (v := viewer.view(n)) and v.owners is None)
        own = tuple(n for n in wanted.teams if (v := viewer.view(n)) and v.owners is not None)
        parts = []
        if whole:
            parts.append(replace(wanted, teams=whole))
        if own:
            parts.append(replace(wanted, teams=own, owner_email=viewer.email))
        return parts

    def _lead_page(self, viewer: Viewer, wanted: LeadFilter, after: Cursor | None) -> LeadPage:
        as_of = self.clock.now()
        pages_ = [
            data.leads(self.engine, self.settings, part, as_of, limit=PAGE_SIZE, after=after)
            for part in self._scoped(viewer, wanted)
        ]
        merged = sorted(
            (r for p in pages_ for r in p.rows),
            key=lambda r: (r.handed_off_at, r.id),
            reverse=True,
        )
        rows = [r for r in merged if viewer.sees_lead(r.team, r.owner_email)][:PAGE_SIZE]
        more = len(merged) > PAGE_SIZE or any(p.next is not None for p in pages_)
        last = rows[-1] if rows else None
        return LeadPage(rows, Cursor(last.handed_off_at, last.id) if more and last else None)

    def _after(self, request: Request) -> Cursor | None:
        token = text_param(request, AFTER_PARAM)
        if token is None:
            return None
        try:
            cursor = Cursor.parse(token)
        except CursorError:
            raise BadQueryError(AFTER_PARAM) from None
        if cursor.id > MAX_ID:
            raise BadQueryError(AFTER_PARAM)
        return cursor

    async def leads(self, request: Request, viewer: Viewer) -> Response:
        ctx = context(request, viewer, self.settings.locale)

        def build() -> Response:
            wanted, given = self._filter(ctx)
            after = self._after(request)
            page = self._lead_page(viewer, wanted, after)
            return self._leads_page(ctx, given, page)

        return await self._guarded(ctx, build)

    def _leads_page(self, ctx: Ctx, given: Mapping[str, str], page: LeadPage) -> Response:
        loc = ctx.loc
        rows = [self._lead_row(ctx, r) for r in page.rows]
        head = [
            t(loc, "dash.lead"),
            t(loc, "dash.handed_off_at"),
            t(loc, "dash.due_at"),
            t(loc, "dash.outcome"),
            t(loc, "dash.owner"),
            t(loc, "dash.charged_to"),
            t(loc, "dash.source"),
            t(loc, "dash.campaign"),
            t(loc, "dash.team"),
            t(loc, "dash.first_action"),
        ]
        paging = []
        if ctx.request.query_params.get(AFTER_PARAM):
            paging.append(link(href("/leads", dict(given)), t(loc, "dash.first_page")))
        if page.next is not None:
            paging.append(
                link(
                    href("/leads", {**given, AFTER_PARAM: page.next.token()}),
                    t(loc, "dash.next_page"),
                    rel="next",
                )
            )
        listing = (
            markup.table(t(loc, "dash.leads_caption"), head, rows, data={"leads": "list"})
            if rows
            else el("p", t(loc, "dash.no_leads"))
        )
        note = (
            el("p", t(loc, "dash.own_leads_only"), class_="small")
            if any(v.owners is not None for v in ctx.viewer.teams)
            else Html("")
        )
        main = join(
            [
                self._lead_form(ctx, given),
                note,
                el("p", link(href("/leads.csv", dict(given)), t(loc, "dash.download_csv"))),
                listing,
                el("nav", *paging, class_="paging", aria_label=t(loc, "dash.paging")),
            ]
        )
        return self._page(ctx, t(loc, "dash.leads_title"), main)

    def _lead_row(self, ctx: Ctx, r: LeadRow) -> Row:
        loc = ctx.loc
        tz = _team_tz(self.settings, r.team)
        who = r.name or r.company or r.external_id
        return Row(
            [
                moment(r.handed_off_at, tz),
                moment(r.due_at, tz),
                t(loc, f"dash.outcome_{r.outcome.value}"),
                r.owner_email or t(loc, "report.unassigned"),
                r.charged_to or t(loc, "report.unassigned"),
                r.source,
                r.campaign or t(loc, "dash.no_campaign"),
                r.team,
                _first_action(r, tz, loc),
            ],
            data={
                "id": r.id,
                "team": r.team,
                "outcome": r.outcome.value,
                "owner": r.owner_email or "",
            },
            header=link(f"/leads/{r.id}", who),
        )

    def _lead_form(self, ctx: Ctx, given: Mapping[str, str]) -> Html:
        loc = ctx.loc
        teams = self._teams(ctx.viewer)

        def select(name: str, label: str, options: Sequence[tuple[str, str]]) -> Html:
            chosen = given.get(name, "")
            opts = [el("option", t(loc, "dash.any"), value="")]
            opts += [
                el("option", text, value=value, selected=value == chosen) for value, text in options
            ]
            return el("label", label, el("select", *opts, name=name))

        def text_input(name: str, label: str, placeholder: str | None = None) -> Html:
            return el(
                "label",
                label,
                el(
                    "input",
                    type="text",
                    name=name,
                    value=given.get(name, ""),
                    placeholder=placeholder,
                ),
            )

        reps = sorted(
            {
                rep
                for team in self.settings.teams
                if team.name in teams
                for rep in team.reps
                if ctx.viewer.sees_lead(team.name, rep)
            }
        )
        return el(
            "form",
            el(
                "label",
                t(loc, "dash.period"),
                el(
                    "input",
                    type="text",
                    name=PERIOD_PARAM,
                    value=given.get(PERIOD_PARAM, DEFAULT_PERIOD),
                    list="period-forms",
                ),
            ),
            _period_list(),
            select("team", t(loc, "dash.team"), [(n, n) for n in teams]),
            select(
                "outcome",
                t(loc, "dash.outcome"),
                [(o.value, t(loc, f"dash.outcome_{o.value}")) for o in OUTCOMES],
            ),
            select(
                "rep",
                t(loc, "dash.charged_to"),
                [(r, r) for r in reps] + [(NOBODY_PARAM, t(loc, "report.unassigned"))],
            ),
            text_input("source", t(loc, "dash.source")),
            text_input("campaign", t(loc, "dash.campaign"), t(loc, "dash.campaign_hint")),
            el("button", t(loc, "dash.show"), type="submit"),
            method="get",
            action="/leads",
            class_="filters",
        )

    async def leads_csv(self, request: Request, viewer: Viewer) -> Response:
        ctx = context(request, viewer, self.settings.locale)

        def build() -> Response:
            wanted, _given = self._filter(ctx)
            as_of = self.clock.now()
            # the period is read now, so a bad one is a 400 page rather than a broken file
            parse_period(wanted.period_text, as_of.date())
            rows = self._csv_rows(viewer, wanted, as_of)
            name = f"leads-{as_of:%Y%m%d-%H%M}.csv"
            return StreamingResponse(
                in_chunks(csv_lines(CSV_HEAD, rows)),
                media_type="text/csv; charset=utf-8",
                headers={
                    **markup.headers(),
                    "Content-Disposition": f'attachment; filename="{name}"',
                },
            )

        return await self._guarded(ctx, build)

    def _csv_rows(
        self, viewer: Viewer, wanted: LeadFilter, as_of: datetime
    ) -> Iterator[list[object]]:
        streams = [
            data.leads_csv_rows(self.engine, self.settings, part, as_of)
            for part in self._scoped(viewer, wanted)
        ]
        key: Callable[[LeadRow], tuple[datetime, int]] = lambda r: (r.handed_off_at, r.id)  # noqa: E731
        for r in heapq.merge(*streams, key=key, reverse=True):
            if not viewer.sees_lead(r.team, r.owner_email):
                continue
            tz = _team_tz(self.settings, r.team)
            yield [
                r.id,
                r.team,
                r.source,
                r.external_id,
                r.name,
                r.company,
                r.campaign,
                r.owner_email,
                r.charged_to,
                r.handed_off_at.astimezone(tz).isoformat(),
                r.due_at.astimezone(tz).isoformat(),
                r.outcome.value,
                r.first_action_at.astimezone(tz).isoformat() if r.first_action_at else None,
                r.first_action_kind,
            ]

    # ---------------------------------------------------------- one lead

    async def lead(self, request: Request, viewer: Viewer) -> Response:
        ctx = context(request, viewer, self.settings.locale)
        lead_id = request.path_params.get("lead_id")

        def build() -> Response:
            if not isinstance(lead_id, int) or not 0 < lead_id <= MAX_ID:
                raise NotFoundError
            found = data.lead_timeline(self.engine, self.settings, lead_id, self.clock.now())
            if found is None:
                raise NotFoundError
            row, events = found
            if not viewer.sees_lead(row.team, row.owner_email):
                raise NotFoundError
            return self._lead_detail(ctx, row, events)

        return await self._guarded(ctx, build)

    def _lead_detail(self, ctx: Ctx, r: LeadRow, events: Sequence[TimelineEvent]) -> Response:
        loc = ctx.loc
        tz = _team_tz(self.settings, r.team)
        facts = markup.definitions(
            [
                (t(loc, "dash.team"), link(f"/teams/{quote(r.team, safe='')}", r.team)),
                (t(loc, "dash.source"), f"{r.source} · {r.external_id}"),
                (t(loc, "dash.company"), r.company or DASH),
                (t(loc, "dash.campaign"), r.campaign or t(loc, "dash.no_campaign")),
                (t(loc, "dash.owner"), r.owner_email or t(loc, "report.unassigned")),
                (t(loc, "dash.charged_to"), r.charged_to or t(loc, "report.unassigned")),
                (t(loc, "dash.handed_off_at"), moment(r.handed_off_at, tz)),
                (t(loc, "dash.due_at"), moment(r.due_at, tz)),
                (t(loc, "dash.outcome"), t(loc, f"dash.outcome_{r.outcome.value}")),
                (t(loc, "dash.first_action"), _first_action(r, tz, loc)),
            ]
        )
        items = [
            el(
                "li",
                el("time", moment(e.at, tz), datetime=e.at.isoformat()),
                " ",
                _event_text(e, loc),
                data_kind=e.kind.value,
                data_via=e.via,
            )
            for e in events
        ]
        main = join(
            [
                facts,
                el("h2", t(loc, "dash.timeline")),
                el("ol", *items, class_="timeline") if items else el("p", t(loc, "dash.no_events")),
            ]
        )
        title = t(loc, "dash.lead_title", lead=r.name or r.company or r.external_id)
        return self._page(ctx, title, main)


# ------------------------------------------------------------------ pieces

CSV_HEAD = (
    "id",
    "team",
    "source",
    "external_id",
    "name",
    "company",
    "campaign",
    "owner",
    "charged_to",
    "handed_off_at",
    "due_at",
    "outcome",
    "first_action_at",
    "first_action_kind",
)


def _remember(response: Response, ctx: Ctx) -> None:
    if ctx.set_lang:
        response.set_cookie(
            LANG_COOKIE,
            ctx.set_lang,
            max_age=LANG_COOKIE_AGE,
            httponly=True,
            samesite="lax",
            secure=ctx.request.url.scheme == "https",
        )


def _period_list() -> Html:
    """Suggestions for the period field (a datalist: a plain text field without one)."""
    common = ("last-4-weeks", "last-week", "this-month", "last-month", "this-quarter")
    return el("datalist", *(el("option", value=v) for v in common), id="period-forms")


def _num(value: float | None) -> str:
    """A number for a data attribute: exact (repr), empty when there is none."""
    return "" if value is None else repr(float(value))


def _f(value: Any) -> float | None:
    return None if value is None else float(value)


def _counts_values(c: Counts) -> dict[str, object]:
    values = c.as_dict()
    return {
        **{
            k: ("" if v is None else (repr(float(v)) if isinstance(v, float) else v))
            for k, v in values.items()
        },
        "median_first_action_seconds": _num(c.median_first_action_seconds),
    }


def _counts_data(c: Counts) -> dict[str, object]:
    return {f"data_{k}": v for k, v in _counts_values(c).items()}


def _rate_with_change(value: float | None, loc: str, moved: Html) -> Html:
    return join([el("strong", rate(value, loc)), " ", moved])


def _span(period: Period, loc: str) -> str:
    last = period.end_day - timedelta(days=1)
    return t(loc, "dash.span", first=period.first_day.isoformat(), last=last.isoformat())


def _first_action(r: LeadRow, tz: ZoneInfo, loc: str) -> str:
    if r.first_action_at is None:
        return DASH
    return t(
        loc,
        "dash.first_action_at",
        at=moment(r.first_action_at, tz),
        what=_action_label(r.first_action_kind or "", loc),
    )


def _action_label(kind: str, loc: str) -> str:
    """`contacted:call` as "contacted (call)", in words."""
    action, _, channel = kind.partition(":")
    words = _or(loc, f"dash.action_{action}", action)
    return (
        t(
            loc,
            "dash.action_channel",
            action=words,
            channel=_or(loc, f"dash.channel_{channel}", channel),
        )
        if channel
        else words
    )


def _or(loc: str, key: str, fallback: str) -> str:
    try:
        return t(loc, key)
    except KeyError:
        return fallback.replace("_", " ")


def _via(via: str | None, loc: str) -> str:
    return _or(loc, f"dash.via_{via}", via or "") if via else DASH


def _event_text(e: TimelineEvent, loc: str) -> str:
    nobody = t(loc, "report.unassigned")
    if e.kind is EventKind.HANDOFF:
        return t(loc, "dash.event_handoff", owner=e.new_owner_email or nobody)
    if e.kind is EventKind.NUDGE:
        return t(
            loc,
            "dash.event_nudge",
            stage=_or(loc, f"dash.nudge_{e.nudge_kind}", e.nudge_kind or ""),
            cycle=e.nudge_cycle if e.nudge_cycle is not None else DASH,
            rep=e.nudged_email or nobody,
        )
    via = _via(e.via, loc)
    actor = e.actor_email or nobody
    if e.kind is EventKind.OWNER:
        return t(loc, "dash.event_owner", owner=e.new_owner_email or nobody, actor=actor, via=via)
    what = _action_label(
        f"{e.action_kind}:{e.channel}" if e.channel else (e.action_kind or ""), loc
    )
    text = t(loc, "dash.event_action", what=what, actor=actor, via=via)
    if e.reason:
        text += " " + t(loc, "dash.event_reason", reason=reason_label(e.reason, loc))
    if e.until is not None:
        text += " " + t(loc, "dash.event_until", until=e.until.isoformat())
    return text


# ------------------------------------------------------------------ mounting


def dashboard_routes(engine: Engine, settings: Settings, clock: Clock) -> list[BaseRoute]:
    """The dashboard's pages, each behind the sign-in (`protected`). Mount them beside
    `WebAuth.routes`, in an app with `WebAuth.middleware()`."""
    pages_ = Dashboard(engine, settings, clock)
    return [
        Route("/", protected(pages_.overview), methods=["GET"], name="dashboard_overview"),
        Route("/teams/{team}", protected(pages_.team), methods=["GET"], name="dashboard_team"),
        Route("/leads", protected(pages_.leads), methods=["GET"], name="dashboard_leads"),
        Route("/leads.csv", protected(pages_.leads_csv), methods=["GET"], name="dashboard_csv"),
        Route(
            "/leads/{lead_id:int}", protected(pages_.lead), methods=["GET"], name="dashboard_lead"
        ),
    ]
