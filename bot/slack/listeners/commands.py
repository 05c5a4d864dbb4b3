"""`/ignorerate [PERIOD] [team:NAME] [by:rep|source] [public]`."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, Respond

from bot.app.reports import report
from bot.config import TeamConfig
from bot.present.command import CommandError, dashboard_answer, parse_command
from bot.present.i18n import t
from bot.slack import blocks
from bot.slack.context import SlackContext, ack_at_once
from metrics.errors import PeriodError
from metrics.periods import ACCEPTED_FORMS


class Refusal(Exception):  # noqa: N818 (an answer, not a fault)
    pass


def _team_for(ctx: SlackContext, email: str, asked: str | None, channel: str) -> TeamConfig | None:
    """The team to report on (None: all teams), after checking the caller may see it."""
    s, loc = ctx.settings, ctx.locale
    admin = email in s.admins
    if asked is not None and asked.lower() == "all":
        if not admin:
            raise Refusal(t(loc, "command.all_admins_only"))
        return None
    if asked is not None:
        team = s.team(asked)
        if team is None:
            known = ", ".join(f"`{name}`" for name in s.team_names) or "—"
            raise Refusal(t(loc, "command.unknown_team", team=asked, known=known))
    else:
        mine = [tm for tm in s.teams if email in tm.reps or email in tm.managers]
        team = s.team_of_channel(channel) or (mine[0] if mine else None)
        if team is None:
            if admin:
                return None
            raise Refusal(t(loc, "command.no_team"))
    if admin or email in team.managers or email in team.reps:
        return team
    raise Refusal(t(loc, "command.not_allowed", team=team.name))


def answer(ctx: SlackContext, user_id: str, channel_id: str, text: str) -> dict[str, Any]:
    """The reply to one `/ignorerate`, as keyword arguments for `respond`."""
    loc = ctx.locale
    private: dict[str, Any] = {"response_type": "ephemeral"}
    try:
        request = parse_command(text, loc)
    except CommandError as err:
        ctx.metrics.commands.labels("bad_input").inc()
        return {**private, "text": f"{err}\n\n{t(loc, 'command.usage')}"}
    if request.help or request.dashboard:  # words, no report
        ctx.metrics.commands.labels("help" if request.help else "dashboard").inc()
        words = (
            t(loc, "command.usage") if request.help else dashboard_answer(ctx.dashboard_url, loc)
        )
        return {**private, "text": words}
    person = ctx.directory.by_slack_id(user_id)
    if person is None:
        ctx.metrics.commands.labels("unknown_user").inc()
        return {**private, "text": t(loc, "click.unknown_user")}
    try:
        team = _team_for(ctx, person.email, request.team, channel_id)
        result = report(
            ctx.engine,
            ctx.settings,
            request.period,
            ctx.clock.now(),
            team.name if team else None,
            breakdowns=request.by is not None,
        )
    except Refusal as err:
        ctx.metrics.commands.labels("refused").inc()
        return {**private, "text": str(err)}
    except PeriodError as err:
        ctx.metrics.commands.labels("bad_input").inc()
        detail = f" ({err.detail})" if err.detail else ""
        message = t(
            loc, "period.error", text=err.text, detail=detail, forms=", ".join(ACCEPTED_FORMS)
        )
        return {**private, "text": message}
    summary, body = blocks.report_blocks(result, request.by, loc)
    ctx.metrics.commands.labels("answered").inc()
    return {
        "response_type": "in_channel" if request.public else "ephemeral",
        "text": summary,
        "blocks": body,
    }


def register(app: App, ctx: SlackContext) -> None:
    def ignorerate(body: dict[str, Any], respond: Respond) -> None:
        respond(**answer(ctx, body["user_id"], body.get("channel_id", ""), body.get("text", "")))

    app.command("/ignorerate")(ack=ack_at_once, lazy=[ignorerate])
