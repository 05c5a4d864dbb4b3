"""The `ignorerate` command line."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, NoReturn

import click

from bot.app.exports import EXPORT_COLUMNS, export_leads
from bot.app.fields import parse_instant
from bot.app.imports import ENCODINGS, ActionImporter, ImportResult, LeadImporter, RowError
from bot.app.reports import report
from bot.app.teams import UnknownTeamError
from bot.clock import Clock, FixedClock, SystemClock
from bot.config import ConfigError, Settings, config_path, load_settings, read_environment
from bot.present.render import as_csv, as_text, spreadsheet_cell
from metrics.errors import PeriodError
from metrics.instants import OutOfRangeError, check_instant
from storage.engine import Engine, make_engine, redact_url, writing
from storage.migrate import DatabaseNotReadyError, ready_engine, upgrade


@dataclass
class Context:
    config: Path
    clock: Clock

    def settings(self) -> Settings:
        try:
            return load_settings(self.config)
        except ConfigError as err:
            fail(str(err))


def fail(message: str, code: int = 2) -> NoReturn:
    click.secho(f"error: {message}", fg="red", err=True)
    sys.exit(code)


def _closing(engine: Engine) -> Engine:
    """Disposes the engine's pool when the command ends (no connection outlives it)."""
    click.get_current_context().call_on_close(engine.dispose)
    return engine


def _engine(settings: Settings) -> Engine:
    try:
        return _closing(ready_engine(settings.database_url))
    except DatabaseNotReadyError as err:
        fail(str(err))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Config file (default: $IGNORERATE_CONFIG or ./ignorerate.yml).",
)
@click.pass_context
def main(ctx: click.Context, config: Path | None) -> None:
    """ignorerate: how many of the leads marketing passes does sales leave untouched?

    Reads the config file, keeps its data in DATABASE_URL (default: the SQLite file
    ./ignorerate.db), and reports the ignore rate exactly as the counting rules define it.
    """
    ctx.obj = Context(config=config_path(str(config) if config else None), clock=SystemClock())


@main.command()
@click.option("--force", is_flag=True, help="Overwrite an existing config file.")
@click.pass_obj
def init(obj: Context, force: bool) -> None:
    """Write a commented example config (if none) and create the database."""
    if obj.config.exists() and not force:
        click.echo(f"{obj.config} exists; keeping it (use --force to overwrite)")
    else:
        example = resources.files("bot").joinpath("example-config.yml").read_text(encoding="utf-8")
        obj.config.write_text(example, encoding="utf-8")
        click.echo(f"wrote {obj.config}: edit the teams, then import or connect your CRM")
    settings = obj.settings()
    upgrade(_closing(make_engine(settings.database_url)))
    click.echo(f"database ready: {redact_url(settings.database_url)}")


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.pass_obj
def db_upgrade(obj: Context) -> None:
    """Create the schema or bring it to the newest revision."""
    settings = obj.settings()
    upgrade(_closing(make_engine(settings.database_url)))
    click.echo(f"database at the newest revision: {redact_url(settings.database_url)}")


@main.group("import")
def import_() -> None:
    """Import CSV exports of handoffs and sales actions."""


def _run_import(
    obj: Context,
    file: Path,
    skip_invalid: bool,
    encoding: str,
    kind: type[LeadImporter] | type[ActionImporter],
) -> None:
    settings = obj.settings()
    engine = _engine(settings)
    size = file.stat().st_size
    shown = 0

    def on_error(err: RowError) -> None:
        nonlocal shown
        shown += 1
        click.echo(f"{file}: {err}", err=True)

    with click.progressbar(length=size * 2, label="checking and importing", file=sys.stderr) as bar:
        importer = kind(
            engine,
            settings,
            obj.clock,
            file,
            skip_invalid=skip_invalid,
            on_error=on_error,
            on_progress=bar.update,
            encoding=None if encoding == "auto" else encoding,
        )
        result = importer.run()
    _summarise(file, result)


def _summarise(file: Path, result: ImportResult) -> None:
    if result.encoding is not None:
        how = "detected" if result.encoding_detected else "as asked"
        click.echo(f"{file}: read as {ENCODINGS[result.encoding]} ({how})", err=True)
    if result.header_error:
        fail(result.header_error)
    if result.write_error:
        fail(
            f"{file}: writing failed, and everything this import wrote was rolled back: "
            f"nothing was imported ({result.write_error})",
            code=1,
        )
    if not result.imported:
        fail(
            f"{result.bad_rows} of {result.rows} rows are bad (listed above); "
            "nothing was imported. Fix them, or pass --skip-invalid to import the good rows "
            "and set the bad ones aside."
        )
    click.echo(
        f"{file}: {result.rows} rows, {result.added} added, "
        f"{result.already_present} already present, {result.bad_rows} bad"
    )
    if result.rejects_file:
        click.echo(f"bad rows, with the reason, written to {result.rejects_file}")


def _import_options(command: Callable[..., None]) -> Callable[..., None]:
    """The arguments both imports take: FILE, --skip-invalid and --encoding."""
    for option in reversed(
        (
            click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path)),
            click.option(
                "--skip-invalid",
                is_flag=True,
                help="Import the good rows; write the bad ones to FILE.rejected.csv.",
            ),
            click.option(
                "--encoding",
                type=click.Choice(["auto", *ENCODINGS]),
                default="auto",
                show_default=True,
                help="The file's encoding. auto: UTF-8 (with or without BOM) if it is, else CP932.",
            ),
            click.pass_obj,
        )
    ):
        command = option(command)
    return command


@import_.command("leads")
@_import_options
def import_leads(obj: Context, file: Path, skip_invalid: bool, encoding: str) -> None:
    """Import handoffs: source, external_id, handed_off_at, team, owner_email, name, company,
    email, campaign. handed_off_at is ISO 8601 with an offset. A (source, external_id)
    already known is the same lead: re-importing a file adds nothing. All or nothing: every
    row is checked first, then written in one transaction."""
    _run_import(obj, file, skip_invalid, encoding, LeadImporter)


@import_.command("actions")
@_import_options
def import_actions(obj: Context, file: Path, skip_invalid: bool, encoding: str) -> None:
    """Import sales actions: source, external_id, at, kind, actor_email, reason,
    new_owner_email. kind is contacted:call|email|meeting|message|other, rejected,
    excluded, reassigned, snoozed or comment."""
    _run_import(obj, file, skip_invalid, encoding, ActionImporter)


def _as_of(obj: Context, text: str | None, option: str = "--as-of") -> datetime:
    if text is None:
        return obj.clock.now()
    try:
        return check_instant(parse_instant(text), option)
    except OutOfRangeError as err:
        fail(str(err))
    except ValueError as err:
        fail(f"{option}: {err}")


@main.command("report")
@click.argument("period", default="last-7-days")
@click.option("--team", help="One team (default: every team, in the organisation's time zone).")
@click.option(
    "--as-of", "as_of", help="Count as of this moment (ISO 8601 with offset; default now)."
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json", "csv"]), default="text", show_default=True
)
@click.pass_obj
def report_cmd(obj: Context, period: str, team: str | None, as_of: str | None, fmt: str) -> None:
    """Ignore, SAL and SLA-breach rates of the leads handed off in PERIOD.

    PERIOD: today, yesterday, this-week, last-week, this-month, last-month, this-quarter,
    last-quarter, this-year, last-year, last-N-days, last-N-weeks, YYYY-MM-DD, YYYY-MM,
    YYYY-Qn, YYYY-Www, YYYY, START..END, 今日, 昨日, 今週, 先週, 今月, 先月, 今四半期,
    前四半期, 今年, 昨年, 過去N日.
    """
    settings = obj.settings()
    moment = _as_of(obj, as_of)
    engine = _engine(settings)
    try:
        result = report(engine, settings, period, moment, team)
    except (PeriodError, UnknownTeamError) as err:
        fail(str(err))
    if fmt == "json":
        click.echo(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
    elif fmt == "csv":
        click.echo(as_csv(result), nl=False)
    else:
        click.echo(as_text(result, settings.locale), nl=False)


@main.group("export")
def export() -> None:
    """Export data as CSV."""


@export.command("leads")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--as-of", "as_of", help="Outcomes as of this moment (ISO 8601 with offset; default now)."
)
@click.pass_obj
def export_leads_cmd(obj: Context, file: Path, as_of: str | None) -> None:
    """One row per lead: team, owner, due_at (UTC), first action, outcome as of a moment.
    A cell that a spreadsheet would take for a formula (=, +, -, @, tab, CR) starts with '."""
    settings = obj.settings()
    moment = _as_of(obj, as_of)
    engine = _engine(settings)
    count = 0
    with _open_out(file) as out:
        writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in export_leads(engine, moment):
            writer.writerow({k: spreadsheet_cell(v) for k, v in row.items()})
            count += 1
    if str(file) != "-":
        click.echo(f"{count} leads written to {file}")


class _open_out:  # noqa: N801 (used as a context manager, like open())
    def __init__(self, file: Path) -> None:
        self.file = file
        self.handle: Any = None

    def __enter__(self) -> Any:
        if str(self.file) == "-":
            return sys.stdout
        self.handle = self.file.open("w", encoding="utf-8", newline="")
        return self.handle

    def __exit__(self, *exc: object) -> None:
        if self.handle is not None:
            self.handle.close()


@main.command("sweep")
@click.option("--once", is_flag=True, help="Run one tick now (required: `serve` runs them).")
@click.option("--dry-run", is_flag=True, help="Print what would be sent; write nothing.")
@click.option("--at", "at", help="Sweep as of this moment (ISO 8601 with offset; default now).")
@click.pass_obj
def sweep_cmd(obj: Context, once: bool, dry_run: bool, at: str | None) -> None:
    """One SLA sweep (and any weekly summary due): prints each nudge decided and each
    message queued. A running `ignorerate serve` delivers what is queued."""
    from bot.scheduler import Ticker
    from bot.serve import default_jobs

    if not once:
        fail("pass --once: the sweep that repeats every minute runs inside `ignorerate serve`")
    settings = obj.settings()
    engine = _engine(settings)
    moment = _as_of(obj, at, "--at")
    ticker = Ticker(engine, settings, FixedClock(moment), jobs=default_jobs())
    result = ticker.tick(dry_run=dry_run)
    if result is None:
        fail("another process is running this tick right now; nothing was done", code=1)
    for line in result.sweep.describe():
        click.echo(line)
    for key in result.summaries:
        click.echo(f"summary    {key}")
    verb = "would be queued (dry run: nothing written)" if dry_run else "queued"
    click.echo(
        f"{len(result.sweep.decisions)} nudges, {len(result.sweep.reassigned)} reassignments, "
        f"{result.queued} messages {verb}"
    )


@main.group("outbox", invoke_without_command=True)
@click.option("--dead", is_flag=True, help="List the messages parked as dead, with their errors.")
@click.option("--pending", is_flag=True, help="List the messages waiting to be sent.")
@click.pass_context
def outbox_cmd(ctx: click.Context, dead: bool, pending: bool) -> None:
    """Messages waiting to be sent, or parked as dead after their last try."""
    if ctx.invoked_subcommand is not None:
        return
    from bot.app.outbox_admin import outbox_state
    from storage.outbox import Status

    obj: Context = ctx.obj
    engine = _engine(obj.settings())
    asked = ((Status.PENDING, pending), (Status.DEAD, dead))
    state = outbox_state(engine, [status for status, wanted in asked if wanted])
    click.echo(
        " ".join(f"{s}: {state.counts.get(s, 0)}" for s in Status)
        + f" (redelivered after a crash: {state.redelivered})"
    )
    for row in state.listed:
        click.echo(
            f"{row.id:>8}  {row.status:<7} {row.key}  tries {row.attempts}  "
            f"next {row.next_attempt_at.isoformat()}"
            + (f"\n          {row.last_error}" if row.last_error else "")
        )


@outbox_cmd.command("retry")
@click.argument("ids", nargs=-1, type=int, required=True)
@click.pass_obj
def outbox_retry(obj: Context, ids: tuple[int, ...]) -> None:
    """Send dead messages again (by the ids `ignorerate outbox --dead` lists)."""
    from bot.app.outbox_admin import retry_dead

    engine = _engine(obj.settings())
    missing = retry_dead(engine, ids)
    for id_ in ids:
        if id_ not in missing:
            click.echo(f"{id_}: queued again; a running `ignorerate serve` sends it")
    if missing:
        fail(f"no dead message with id {', '.join(map(str, missing))}", code=1)


@main.command("away")
@click.argument("email")
@click.option("--back", is_flag=True, help="The rep is back: reassignments may pick them again.")
@click.pass_obj
def away_cmd(obj: Context, email: str, back: bool) -> None:
    """Mark a rep away: the SLA sweep's round-robin reassignment skips them."""
    from bot.app.away import mark_away

    if "@" not in email:
        fail(f"expected an email address, got {email!r}")
    engine = _engine(obj.settings())
    mark_away(engine, email, away=not back, now=obj.clock.now())
    click.echo(f"{email.lower()} is {'back' if back else 'away'}")


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=3000, show_default=True, type=int)
@click.option("--log-level", default="info", show_default=True)
@click.pass_obj
def serve_command(obj: Context, host: str, port: int, log_level: str) -> None:
    """Run the bot: Slack at POST /slack/events (or Socket Mode when SLACK_APP_TOKEN is
    set), the handoff webhook at POST /hooks/handoff, GET /healthz and GET /metrics.

    Secrets come from the environment: SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET,
    SLACK_APP_TOKEN, IGNORERATE_WEBHOOK_SECRET. SLACK_API_URL overrides the Web API URL.
    Without Slack credentials it still serves the webhook, and says so.
    """
    import logging

    import uvicorn

    from bot.scheduler import SchedulerLockedError
    from bot.serve import build_service, process_tuning
    from bot.slack.readiness import SlackTokenError

    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = obj.settings()
    try:
        service = build_service(settings, read_environment(), obj.clock)
    except (DatabaseNotReadyError, ConfigError) as err:
        fail(str(err))
    server = uvicorn.Server(
        uvicorn.Config(service.app, host=host, port=port, log_level=log_level, access_log=False)
    )
    readiness = service.slack_readiness
    if readiness is not None:  # a token Slack refuses once it answers ends the process
        readiness.on_fatal = lambda _err: setattr(server, "should_exit", True)
    with process_tuning():
        try:
            service.start()
        except (SchedulerLockedError, SlackTokenError) as err:
            service.stop()
            fail(str(err))
        try:
            server.run()
        except KeyboardInterrupt:  # uvicorn raises the SIGINT it handled again, once done
            pass
        finally:
            service.stop()
    if readiness is not None and readiness.fatal is not None:
        fail(str(readiness.fatal))
    if not server.started:  # e.g. the port is taken: uvicorn said why
        sys.exit(3)


@main.command("demo")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("ignorerate-demo"),
    show_default=True,
    help="Where the demo's database and files go; an earlier demo there is replaced.",
)
@click.option("--port", default=8765, show_default=True, type=click.IntRange(1, 65535))
@click.option("--leads", default=None, type=click.IntRange(100, 200_000), help="How many.")
@click.option("--build-only", is_flag=True, help="Build the demo's database, then stop.")
@click.pass_obj
def demo_command(
    obj: Context, directory: Path, port: int, leads: int | None, build_only: bool
) -> None:
    """A look without Slack: three months of made-up leads for three teams in a database
    of their own (DIR/demo.db, SQLite), and the dashboard on http://127.0.0.1:PORT, whose
    sign-in offers the demo's people (an admin, a manager, a rep). That sign-in exists
    only here, and answers only on this computer."""
    import uvicorn

    from bot.app.demo import DEMO_LEADS, DEMO_PEOPLE, DemoError, build
    from bot.serve import build_service
    from bot.web.demo import DemoAuth

    directory.mkdir(parents=True, exist_ok=True)
    click.echo(f"building the demo in {directory} ...", err=True)
    try:
        settings = build(directory, obj.clock.now(), leads=leads or DEMO_LEADS)
    except (DemoError, OSError) as err:
        fail(str(err), code=1)
    if build_only:
        click.echo(f"built {directory / 'demo.db'}")
        return
    url = f"http://127.0.0.1:{port}"
    auth = DemoAuth(settings, obj.clock, DEMO_PEOPLE, url)
    # nothing of the environment but the demo's database: no Slack, Teams or CRM here
    environment = read_environment({"PUBLIC_BASE_URL": url})
    service = build_service(
        settings, environment, obj.clock, scheduler_interval=None, dashboard_auth=auth
    )
    server = uvicorn.Server(
        uvicorn.Config(service.app, host="127.0.0.1", port=port, log_level="warning")
    )
    click.echo(f"the dashboard: {url}/ (Ctrl-C stops it)")
    try:
        server.run()
    except KeyboardInterrupt:  # uvicorn raises the SIGINT it handled again, once done
        pass
    finally:
        service.stop()
    if not server.started:  # e.g. the port is taken: uvicorn said why
        sys.exit(3)


@main.command("summary")
@click.option("--team", "team_name", required=True, help="The team, as named in the config.")
@click.option("--week", required=True, help="The ISO week it reports, e.g. 2026-W47.")
@click.option(
    "--dry-run", is_flag=True, help="Print what would be posted, and where; write nothing."
)
@click.option("--resend", is_flag=True, help="Queue it again although it was already made.")
@click.pass_obj
def summary_cmd(obj: Context, team_name: str, week: str, dry_run: bool, resend: bool) -> None:
    """Make a team's weekly summary of WEEK now (the scheduler makes it by itself every
    week): the ignore, SAL and SLA-breach rates against the week before, per rep, the
    worst sources and an 8-week trend chart, posted in the team's slack_channel.

    It is queued, not sent: a running `ignorerate serve` delivers queued messages.
    """
    from bot.app.summaries import (
        NoChannelError,
        build_summary,
        make_summary,
        resend_summary,
    )
    from bot.slack.summary_blocks import as_text, summary_blocks
    from metrics.summary import WeekError, parse_week
    from storage import reports
    from storage.summaries import made_at

    settings = obj.settings()
    try:
        label = str(parse_week(week))
    except WeekError as err:
        fail(f"--week: {err}")
    team = settings.team(team_name)
    if team is None:
        fail(f"--team: {UnknownTeamError(team_name, [t.name for t in settings.teams])}")
    now = obj.clock.now()
    _, week_end = parse_week(label).period.bounds(team.timezone)
    if now < week_end:
        click.echo(
            f"note: {label} has not ended yet for {team.name}: its numbers are partial", err=True
        )
    engine = _engine(settings)
    if dry_run:
        with engine.connect() as conn:
            data = build_summary(conn, settings, team.name, label, now)
            team_id = reports.team_id(conn, team.name)
            made = None if team_id is None else made_at(conn, team_id, label)
        text, blocks = summary_blocks(data, settings.locale)
        where = team.slack_channel or "nowhere: the team has no slack_channel"
        click.echo(f"dry run, nothing written. Would post to {where}:\n")
        click.echo(as_text(text, blocks))
        click.echo(f"and an 8-week trend chart, ignore-rate-{label}.png")
        if made is not None:
            click.echo(f"(already made on {made.astimezone(team.timezone):%Y-%m-%d %H:%M %Z})")
        return
    try:
        with writing(engine) as conn:
            if resend:
                keys = resend_summary(conn, settings, team.name, label, now)
            else:
                queued = make_summary(conn, settings, team.name, label, now)
                if queued is None:
                    team_id = reports.team_id(conn, team.name)
                    made = None if team_id is None else made_at(conn, team_id, label)
                    when = "" if made is None else f" on {made.astimezone(team.timezone):%Y-%m-%d}"
                    fail(
                        f"the summary of {label} for {team.name} was already made{when}; "
                        "pass --resend to queue it again",
                        code=1,
                    )
                keys = queued
    except NoChannelError as err:
        fail(str(err))
    click.echo(f"queued for {team.slack_channel}: {', '.join(keys)}")
    click.echo("a running `ignorerate serve` delivers queued messages")


@main.group("crm")
def crm_cmd() -> None:
    """CRM sync: Salesforce and HubSpot (the `crm:` section of the config)."""


def _crm_sources(obj: Context, settings: Settings, source: str | None) -> list[Any]:
    from bot.serve import crm_sources

    if not settings.crm.configured:
        fail("no CRM is configured: add a crm: section to the config (see the README)")
    if source is not None and source not in settings.crm.configured:
        fail(f"{source} is not configured; configured: {', '.join(settings.crm.configured)}")
    return [s for s in crm_sources(settings, obj.clock) if source in (None, s.name)]


def _crm_run(obj: Context, source: str | None, *, dry_run: bool, since: datetime | None) -> None:
    from bot.app.crm import sync_once

    settings = obj.settings()
    engine = _engine(settings)
    sources = _crm_sources(obj, settings, source)
    runs = sync_once(engine, settings, sources, obj.clock, dry_run=dry_run, since=since)
    if runs is None:
        fail("another process is syncing right now (serve's scheduler?); nothing was done", 1)
    failed = False
    for run in runs:
        t = run.tally
        line = (
            f"{run.source:<10} {run.object:<9} {t.records} read in {t.pages} pages: "
            f"{t.leads_new} new leads, {t.actions_new} new actions, {t.actions_known} known, "
            f"{t.not_ours} on no lead of ours, {t.before_handoff} before handoff, "
            f"{t.written_back} written by us"
        )
        click.echo(line)
        if t.time_from:
            click.echo(
                "  handoff time from: "
                + ", ".join(f"{source.value} {n}" for source, n in sorted(t.time_from.items()))
            )
        for problem in t.problems:
            click.echo(f"  skipped: {problem}")
        if run.error:
            failed = True
            click.secho(f"  failed: {run.error}", fg="red", err=True)
    if dry_run:
        click.echo("dry run: nothing was written")
    if failed:
        sys.exit(1)


_SOURCE = click.option(
    "--source", type=click.Choice(["salesforce", "hubspot"]), help="One CRM (default: all)."
)


@crm_cmd.command("sync")
@click.option("--once", is_flag=True, help="Sync once now (required: `serve` syncs on its own).")
@_SOURCE
@click.option("--dry-run", is_flag=True, help="Read and decide, then roll back; write nothing.")
@click.pass_obj
def crm_sync(obj: Context, once: bool, source: str | None, dry_run: bool) -> None:
    """Read what changed in the CRM since the last sync (less the overlap window)."""
    if not once:
        fail("pass --once: the sync that repeats runs inside `ignorerate serve`")
    _crm_run(obj, source, dry_run=dry_run, since=None)


@crm_cmd.command("backfill")
@click.option("--since", "since", required=True, help="A date (YYYY-MM-DD, UTC) or an instant.")
@_SOURCE
@click.option("--dry-run", is_flag=True, help="Read and decide, then roll back; write nothing.")
@click.pass_obj
def crm_backfill(obj: Context, since: str, source: str | None, dry_run: bool) -> None:
    """Read the CRM's history from SINCE on: handoffs and actions already recorded stay as
    they are, and the cursors never move back."""
    from datetime import UTC, date

    try:
        moment = (
            datetime.combine(date.fromisoformat(since), datetime.min.time(), tzinfo=UTC)
            if len(since) == 10
            else parse_instant(since)
        )
        check_instant(moment, "--since")
    except (ValueError, OutOfRangeError) as err:
        fail(f"--since: {err}; expected a date such as 2026-01-01 or an ISO 8601 instant")
    _crm_run(obj, source, dry_run=dry_run, since=moment)


@crm_cmd.command("status")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_obj
def crm_status(obj: Context, fmt: str) -> None:
    """Each CRM's cursors, last success, API budget left and recent errors."""
    from bot.app.crm import health

    settings = obj.settings()
    engine = _engine(settings)
    if not settings.crm.configured:
        fail("no CRM is configured: add a crm: section to the config (see the README)")
    states = health(engine, settings, obj.clock.now())

    def when(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    if fmt == "json":
        click.echo(
            json.dumps(
                [
                    {
                        "source": h.source,
                        "last_success_at": when(h.last_success_at),
                        "lag_seconds": h.lag_seconds,
                        "errors": h.errors,
                        "last_error": h.last_error,
                        "budget_used": h.budget_used,
                        "budget_max": h.budget_max,
                        "objects": [
                            {
                                "object": o.object,
                                "cursor_at": when(o.cursor_at),
                                "last_success_at": when(o.last_success_at),
                                "records": o.records,
                                "errors": o.errors,
                                "last_error": o.last_error,
                                "last_error_at": when(o.last_error_at),
                            }
                            for o in h.objects
                        ],
                    }
                    for h in states
                ],
                indent=2,
                ensure_ascii=False,
            )
        )
        return
    for h in states:
        budget = (
            f"{h.budget_max - h.budget_used} of {h.budget_max} API requests left"
            if h.budget_used is not None and h.budget_max is not None
            else "API budget not reported"
        )
        lag = "never synced" if h.lag_seconds is None else f"last success {int(h.lag_seconds)}s ago"
        click.echo(f"{h.source}: {lag}; {budget}; {h.errors} failures in a row")
        for o in h.objects:
            click.echo(
                f"  {o.object:<9} cursor {when(o.cursor_at) or '-'}  {o.records} records read"
                + (f"  last error {when(o.last_error_at)}: {o.last_error}" if o.last_error else "")
            )
        if not h.objects:
            click.echo("  no sync yet: run `ignorerate crm sync --once`")
