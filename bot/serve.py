"""The composition root: builds engines and clients from Settings. Nothing at import time."""

from __future__ import annotations

import gc
import logging
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web import SlackResponse
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Route

from bot.app.crm import CrmHealth, CrmSource, health, sync_once
from bot.clock import Clock
from bot.config import ConfigError, Environment, Settings
from bot.http.charts import chart_route
from bot.http.lull import BackgroundExecutor, Lull
from bot.http.prometheus import Metrics
from bot.http.server import Server
from bot.http.webhooks import ActionDoor, HandoffDoor
from bot.links import LinkSigner
from bot.outbox.engine import LEASE, Outbox, Sender
from bot.outbox.worker import OutboxWorker
from bot.scheduler import Job, Periodic, Scheduler, Ticker
from bot.slack.app import build_app
from bot.slack.context import SlackContext
from bot.slack.listeners.actions import answers_later
from bot.slack.messenger import SlackMessenger, make_client
from bot.slack.people import Directory
from bot.slack.readiness import SlackReadiness
from bot.slack.sender import slack_outbox
from bot.teams.ack.links import ack_routes
from bot.teams.messenger import DEFAULT_TIMEOUT, TeamsMessenger
from bot.teams.outgoing import OutgoingDoor
from bot.teams.sender import teams_outbox
from bot.web.auth import WebAuth, auth_config
from bot.web.dashboard import dashboard_routes
from storage.engine import Engine
from storage.migrate import ready_engine

log = logging.getLogger("ignorerate")
SWITCH_INTERVAL = 0.001


@dataclass
class Integration:
    """A platform as `serve` plugs it in, once: its name, the routes it adds to the server,
    and the worker running its outbox sender (None: nothing to deliver). `gated`: the
    worker waits for the platform's readiness check to pass (Slack's token)."""

    name: str
    routes: list[BaseRoute] = field(default_factory=list)
    worker: OutboxWorker | None = None
    gated: bool = False
    middleware: list[Middleware] = field(default_factory=list)  # around every route


@dataclass
class Service:
    """Everything `ignorerate serve` runs, built from Settings and the environment."""

    app: Starlette
    engine: Engine
    metrics: Metrics
    slack_mode: str  # "http", "socket" or "off"
    server: Server  # what `app` serves
    integrations: list[Integration] = field(default_factory=list)
    socket: SocketModeHandler | None = None
    listeners: ThreadPoolExecutor | None = None
    scheduler: Scheduler | None = None
    clicks: ThreadPoolExecutor | None = None  # clicks answered first, before Bolt sees them
    # the bot token checked (and the socket opened) before Slack is served; its `on_ready`
    # starts the gated workers, so cards wait in the outbox without spending tries meanwhile
    slack_readiness: SlackReadiness | None = None
    # one CRM sync now, as the scheduler runs it every crm.poll_seconds (None: no CRM)
    sync_crm: Callable[[], None] | None = None

    def __post_init__(self) -> None:
        if self.slack_readiness is not None:
            self.slack_readiness.on_ready = self._start_gated

    def worker_of(self, name: str) -> OutboxWorker | None:
        """The worker of platform `name`'s sender, if it has one here."""
        return next((i.worker for i in self.integrations if i.name == name), None)

    @property
    def worker(self) -> OutboxWorker | None:
        return self.worker_of("slack")

    def _workers(self, *, gated: bool | None = None) -> list[OutboxWorker]:
        return [
            i.worker
            for i in self.integrations
            if i.worker is not None and (gated is None or i.gated == gated)
        ]

    def start(self) -> None:
        if self.scheduler is not None:
            self.scheduler.start()  # first: a second scheduler on one SQLite file stops here
        for worker in self._workers(gated=False):
            worker.start()
            worker.wake()  # whatever was left pending by the last run
        if self.slack_readiness is not None:
            self.slack_readiness.start()  # raises SlackTokenError on a token Slack refuses
        else:
            self._start_gated()

    def _start_gated(self) -> None:
        for worker in self._workers(gated=True):
            worker.start()
            worker.wake()  # whatever was left pending by the last run

    def stop(self) -> None:
        if self.slack_readiness is not None:
            self.slack_readiness.stop()
        if self.socket is not None:
            self.socket.close()  # type: ignore[no-untyped-call]  # untyped in slack_bolt
        for pool in (self.clicks, self.listeners):  # clicks hand their work to listeners
            if pool is not None:
                pool.shutdown(wait=True)  # work after an answer finishes before we go
        if self.scheduler is not None:
            self.scheduler.stop()
        for worker in self._workers():
            worker.stop()
        self.engine.dispose()


def wake_all(integrations: list[Integration]) -> Callable[[], None]:
    """Wakes every platform's sender: something was queued (each claims only its own).
    Reads `integrations` when called, so it can be handed out before the list is full."""

    def wake() -> None:
        for integration in integrations:
            if integration.worker is not None:
                integration.worker.wake()

    return wake


@contextmanager
def process_tuning() -> Iterator[None]:
    """The process-wide settings `serve` runs under, entered once its service is built
    and left once it has stopped; on exit the switch interval is what it was and nothing
    is left frozen.

    A thread that wants the GIL waits up to the switch interval for it (5 ms by default);
    the event loop answering requests is such a thread whenever a listener or the outbox
    holds it. 1 ms took the p50 of 50 concurrent clicks from 60 ms to 31 ms
    (docs/benchmarks.md).

    What is alive on entry (modules, tables, clients, settings) lives as long as the
    process; a full collection walked all of it, stalling every request for 50 to 130 ms
    (measured with gc.callbacks under 50 concurrent clicks). Frozen objects are left out
    of collections; what requests allocate later is collected as ever."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL)
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()  # a process that goes on (a test run) collects them again
        sys.setswitchinterval(interval)


def default_jobs() -> list[Job]:
    """What each tick runs after the SLA sweep."""
    from bot.app.summaries import enqueue_due_summaries

    return [enqueue_due_summaries]


@dataclass(frozen=True)
class TeamsSetup:
    """What Teams delivery needs from the environment."""

    base_url: str
    signer: LinkSigner
    lease: timedelta = LEASE  # IGNORERATE_OUTBOX_LEASE, as for the Slack sender


def teams_setup(settings: Settings, env: Environment) -> TeamsSetup | None:
    """PUBLIC_BASE_URL (where the cards' links and chart images point) and
    IGNORERATE_LINK_SECRET (what signs them), required once any team has a
    teams_webhook; None when neither is set and no team needs them."""
    base_url = env.public_base_url
    secret = env.link_secret
    users = [t.name for t in settings.teams if t.teams_webhook]
    if users:
        why = f"team {users[0]} has a teams_webhook, whose cards link back to the bot"
        if not base_url:
            raise ConfigError(
                "environment",
                "PUBLIC_BASE_URL",
                f"not set; {why}: set it to the bot's public address, e.g. https://bot.example.com",
            )
        if not secret:
            raise ConfigError(
                "environment",
                "IGNORERATE_LINK_SECRET",
                f"not set; {why}: set it to a random secret of 16 characters or more",
            )
    if not base_url or not secret:
        return None
    if urlsplit(base_url).scheme not in ("http", "https") or not urlsplit(base_url).netloc:
        raise ConfigError(
            "environment", "PUBLIC_BASE_URL", f"expected an http(s) URL, got {base_url!r}"
        )
    try:
        signer = LinkSigner(secret)
    except ValueError as err:
        raise ConfigError("environment", "IGNORERATE_LINK_SECRET", str(err)) from None
    return TeamsSetup(base_url.rstrip("/"), signer, teams_lease(env) if users else LEASE)


def teams_lease(env: Environment) -> timedelta:
    """The Teams sender's lease: IGNORERATE_OUTBOX_LEASE, as the Slack sender's, and like
    it longer than one send may take (TeamsMessenger's timeout)."""
    lease = env.outbox_lease or LEASE
    if lease.total_seconds() <= DEFAULT_TIMEOUT:
        raise ConfigError(
            "environment",
            "IGNORERATE_OUTBOX_LEASE",
            f"{int(lease.total_seconds())}s is not longer than a Teams send may take "
            f"({int(DEFAULT_TIMEOUT)}s): a slow send would be taken over and sent twice",
        )
    return lease


@dataclass(frozen=True)
class _Common:
    """What every platform's parts are built from."""

    engine: Engine
    settings: Settings
    env: Environment
    clock: Clock
    metrics: Metrics
    lull: Lull  # what is answered over HTTP goes before the work in the background
    interval: float  # the outbox workers' longest sleep
    wake: Callable[[], None]  # wakes every platform's sender
    dashboard_url: str | None = None  # where `/ignorerate dashboard` points; None: off

    def count(self, status: str) -> None:
        self.metrics.outbox.labels(status).inc()


def build_service(
    settings: Settings,
    env: Environment,
    clock: Clock,
    outbox_interval: float = 5.0,
    *,
    scheduler_interval: float | None = 60.0,
    dashboard_auth: WebAuth | None = None,
) -> Service:
    """`scheduler_interval` None: no SLA sweep or summaries in this process (tests that
    drive ticks by hand). `dashboard_auth`: the dashboard's sign-in when not the one the
    environment configures (the demo's)."""
    teams = teams_setup(settings, env)  # first: a missing variable stops the start at once
    if dashboard_auth is None:
        dashboard_auth = _dashboard_auth(settings, env, clock)
    engine = ready_engine(settings.database_url)
    integrations: list[Integration] = []
    common = _Common(
        engine,
        settings,
        env,
        clock,
        Metrics(),
        Lull(),
        outbox_interval,
        wake_all(integrations),
        dashboard_url=f"{dashboard_auth.config.public_url}/" if dashboard_auth else None,
    )
    integrations.append(_teams(common, teams))
    crm = _crm(common)
    integrations += crm.integrations
    slack = _slack(common)
    if slack is not None:
        integrations.append(slack.integration)
    if dashboard_auth is not None:
        integrations.append(
            Integration(
                "dashboard",
                [*dashboard_auth.routes, *dashboard_routes(engine, settings, clock)],
                middleware=dashboard_auth.middleware(),
            )
        )
    door = HandoffDoor(
        engine,
        settings,
        env.webhook_secret,
        clock,
        common.metrics,
        token=env.webhook_token,
        directory=slack.directory if slack is not None else None,
        wake_outbox=common.wake,
    )
    action_door = ActionDoor(
        engine, settings, env.webhook_secret, clock, common.metrics, token=env.webhook_token
    )
    server = Server(
        engine,
        common.metrics,
        door,
        slack.bolt if slack is not None else None,
        extra_routes=[route for i in integrations for route in i.routes],
        middleware=[m for i in integrations for m in i.middleware],
        answers_later=answers_later,
        background=slack.clicks if slack is not None else None,
        verifier=slack.verifier if slack is not None else None,
        lull=common.lull,
        slack_link=slack.readiness if slack is not None else None,
        metrics_token=env.metrics_token,
        action=action_door,
        crm_health=crm.health,
    )
    scheduler = _scheduler(common, scheduler_interval, crm.periodic)
    crm.scheduler = scheduler
    return Service(
        app=server.app(),
        engine=engine,
        metrics=common.metrics,
        slack_mode=slack.mode if slack is not None else "off",
        server=server,
        integrations=integrations,
        socket=slack.socket if slack is not None else None,
        listeners=slack.listeners if slack is not None else None,
        scheduler=scheduler,
        clicks=slack.clicks if slack is not None else None,
        slack_readiness=slack.readiness if slack is not None else None,
        sync_crm=crm.periodic[0].run if crm.periodic else None,
    )


def _scheduler(
    common: _Common, interval: float | None, periodic: list[Periodic]
) -> Scheduler | None:
    if interval is None:
        return None
    ticker = Ticker(
        common.engine,
        common.settings,
        common.clock,
        jobs=default_jobs(),
        on_queued=common.wake,
        on_tick=lambda result: common.metrics.ticks.labels(result).inc(),
    )
    return Scheduler(ticker, interval, periodic)


@dataclass(frozen=True)
class _SlackParts:
    integration: Integration
    mode: str  # "http" or "socket"
    directory: Directory
    bolt: App | None  # served over HTTP; None in Socket Mode
    verifier: SignatureVerifier | None
    socket: SocketModeHandler | None
    listeners: ThreadPoolExecutor
    clicks: ThreadPoolExecutor
    readiness: SlackReadiness


def _slack(common: _Common) -> _SlackParts | None:
    """Slack, when its tokens are set: the Bolt app (served over HTTP or Socket Mode),
    its sender, and the readiness check its sender waits for."""
    env, engine, clock = common.env, common.engine, common.clock
    token = env.slack_bot_token
    signing_secret = env.slack_signing_secret
    app_token = env.slack_app_token
    if not token or not (signing_secret or app_token):
        missing = [
            name
            for name, value in (
                ("SLACK_BOT_TOKEN", token),
                ("SLACK_SIGNING_SECRET or SLACK_APP_TOKEN", signing_secret or app_token),
            )
            if not value
        ]
        log.warning(
            "Slack is off: %s not set. Serving the handoff webhook only; Slack's lead cards "
            "wait in the outbox until Slack is configured.",
            " and ".join(missing),
        )
        return None
    timeout = env.slack_api_timeout
    lease = env.outbox_lease or LEASE
    if env.outbox_lease is not None and lease <= timedelta(seconds=timeout):
        raise ConfigError(
            "environment",
            "IGNORERATE_OUTBOX_LEASE",
            f"{int(lease.total_seconds())}s is not longer than SLACK_API_TIMEOUT "
            f"({timeout}s): a slow send would be taken over and sent twice",
        )
    api_url = env.slack_api_url
    messenger = SlackMessenger(make_client(token, api_url, timeout))
    directory = Directory(engine, messenger, clock)
    sender = SlackMessenger(make_client(token, api_url, timeout, interactive=False))
    outbox = slack_outbox(
        engine,
        common.settings,
        sender,
        Directory(engine, sender, clock),
        clock=clock,
        on_result=common.count,
        lease=lease,
    )
    worker = OutboxWorker(outbox, common.interval, yield_to=common.lull.wait)
    ctx = SlackContext(
        engine,
        common.settings,
        messenger,
        directory,
        clock,
        common.metrics,
        common.wake,
        dashboard_url=common.dashboard_url,
    )
    socket_mode = bool(app_token)
    listeners = ThreadPoolExecutor(max_workers=16, thread_name_prefix="bolt")
    # a click's card can wait out a burst of requests; a slash command's answer, which
    # its sender waits for, goes to `listeners` at once
    clicks = BackgroundExecutor(common.lull, max_workers=4, thread_name_prefix="click")
    # the token checked at start and, while Slack is down, in the background (Bolt would
    # call auth.test while building the app and fail the start)
    readiness = SlackReadiness([("SLACK_BOT_TOKEN", sender.client.auth_test)])
    bolt = build_app(
        ctx,
        signing_secret or "",
        listeners,
        authorize=_authorize(readiness, token),
        # the server checks every signature before Bolt sees a request (bot/http/server.py);
        # Socket Mode's requests come over the socket, already Slack's
        request_verification_enabled=False,
    )
    socket = _socket_mode(bolt, app_token, readiness)
    if socket_mode:
        log.info("Slack is on, over Socket Mode")
    else:
        log.info("Slack is on, over HTTP at POST /slack/events")
    return _SlackParts(
        Integration("slack", worker=worker, gated=True),
        "socket" if socket_mode else "http",
        directory,
        None if socket_mode else bolt,
        SignatureVerifier(signing_secret) if signing_secret else None,
        socket,
        listeners,
        clicks,
        readiness,
    )


def _authorize(readiness: SlackReadiness, token: str) -> Callable[[], AuthorizeResult | None]:
    """Who the bot is, for Bolt, from the auth.test that `readiness` made: no request waits
    for a Web API call of its own (requests are refused until readiness has passed)."""
    known: list[AuthorizeResult] = []

    def authorize() -> AuthorizeResult | None:
        if not known:
            response = readiness.results.get("SLACK_BOT_TOKEN")
            if not isinstance(response, SlackResponse):
                return None  # not checked yet: Bolt answers its "not authorized" message
            known.append(
                AuthorizeResult.from_auth_test_response(
                    bot_token=token, auth_test_response=response
                )
            )
        return known[0]

    return authorize


def _socket_mode(
    bolt: App, app_token: str | None, readiness: SlackReadiness
) -> SocketModeHandler | None:
    """With SLACK_APP_TOKEN, Socket Mode's handler, whose connection `readiness` opens
    once the bot token has passed (with a URL of its own each try: one issued to a try
    that failed may be spent)."""
    if not app_token:
        return None
    socket = SocketModeHandler(bolt, app_token)

    def open_socket() -> None:
        socket.client.wss_uri = None
        socket.connect()  # type: ignore[no-untyped-call]  # untyped in slack_bolt

    readiness.steps.append(("SLACK_APP_TOKEN", open_socket))
    return socket


def _teams(common: _Common, teams: TeamsSetup | None) -> Integration:
    """The Teams doors (an @mention's outgoing webhook; with PUBLIC_BASE_URL and
    IGNORERATE_LINK_SECRET, the one-click pages and chart images) and, when some team has a
    webhook, its sender, which runs whether Slack is on or off."""
    engine, settings, clock, metrics = common.engine, common.settings, common.clock, common.metrics
    outgoing = OutgoingDoor(
        engine,
        settings,
        common.env.teams_outgoing_secret,
        clock,
        metrics,
        dashboard_url=common.dashboard_url,
    )
    routes: list[BaseRoute] = [Route("/teams/outgoing", outgoing.handle, methods=["POST"])]
    if teams is None:
        return Integration("teams", routes)
    routes.append(chart_route(engine, settings, teams.signer, clock))
    routes += ack_routes(engine, settings, teams.signer, clock, metrics)
    count = sum(1 for team in settings.teams if team.teams_webhook)
    if not count:
        return Integration("teams", routes)
    outbox = teams_outbox(
        engine,
        settings,
        TeamsMessenger(),
        base_url=teams.base_url,
        signer=teams.signer,
        clock=clock,
        on_result=common.count,
        lease=teams.lease,
    )
    log.info("Teams is on: cards go to %d team channels", count)
    worker = OutboxWorker(outbox, common.interval, name="outbox-teams", yield_to=common.lull.wait)
    return Integration("teams", routes, worker)


def crm_sources(settings: Settings, clock: Clock) -> list[CrmSource]:
    """The configured CRMs, as the sync reads them (Salesforce first)."""
    from bot.crm.hubspot import HubspotSource
    from bot.crm.salesforce import SalesforceSource

    sources: list[CrmSource] = []
    if settings.crm.salesforce is not None:
        sources.append(SalesforceSource(settings.crm.salesforce, clock=clock))
    if settings.crm.hubspot is not None:
        sources.append(HubspotSource(settings.crm.hubspot, clock=clock))
    return sources


def crm_senders(engine: Engine, settings: Settings, clock: Clock) -> list[Sender]:
    """The write-back senders of the CRMs that take write-backs."""
    from bot.app.crm import writes_back
    from bot.crm.hubspot import HubspotSender
    from bot.crm.salesforce import SalesforceSender

    senders: list[Sender] = []
    sf, hs = settings.crm.salesforce, settings.crm.hubspot
    if sf is not None and writes_back(settings, "salesforce"):
        senders.append(SalesforceSender(engine, sf, clock=clock))
    if hs is not None and writes_back(settings, "hubspot"):
        senders.append(HubspotSender(engine, hs, clock=clock))
    return senders


def _dashboard_auth(settings: Settings, env: Environment, clock: Clock) -> WebAuth | None:
    """The dashboard's sign-in as the environment configures it; None (the dashboard off)
    when it names none of its settings. Half of them stops the start, naming what is
    missing (`auth_config`)."""
    if not (env.session_secret or env.oidc_client_id or env.oidc_client_secret):
        log.info(
            "dashboard off: set IGNORERATE_SESSION_SECRET, IGNORERATE_OIDC_CLIENT_ID, "
            "IGNORERATE_OIDC_CLIENT_SECRET and PUBLIC_BASE_URL to serve it"
        )
        return None
    return WebAuth(auth_config(env), settings, clock)


@dataclass
class _CrmParts:
    integrations: list[Integration] = field(default_factory=list)
    periodic: list[Periodic] = field(default_factory=list)
    health: Callable[[], list[CrmHealth]] | None = None
    scheduler: Scheduler | None = None  # set once built: a CRM's webhook wakes the sync
    # woken while a sync runs: that sync may have read past the change before it was
    # made, so it runs once more when it ends (the scheduler starts no second instance)
    again: threading.Event = field(default_factory=threading.Event)

    def wake_sync(self) -> None:
        self.again.set()
        if self.scheduler is not None:
            self.scheduler.wake(CRM_JOB)


CRM_JOB = "crm-sync"


def _crm(common: _Common) -> _CrmParts:
    """Each configured CRM: its sync (a periodic job of the scheduler, one replica at a
    time), its write-back sender and, for HubSpot, its webhook door."""
    engine, settings, clock, metrics = common.engine, common.settings, common.clock, common.metrics
    parts = _CrmParts()
    if not settings.crm.configured:
        return parts
    sources = crm_sources(settings, clock)
    parts.health = lambda: health(engine, settings, clock.now())

    def run() -> None:
        parts.again.clear()
        once()
        while parts.again.is_set():  # woken meanwhile: once more
            parts.again.clear()
            once()

    def once() -> None:
        try:
            runs = sync_once(engine, settings, sources, clock)
        except Exception:
            log.exception("crm sync failed; the next one tries again")
            metrics.crm_syncs.labels("all", "all", "failed").inc()
            return
        if runs is None:
            metrics.crm_syncs.labels("all", "all", "skipped").inc()
            return
        for r in runs:
            metrics.crm_syncs.labels(r.source, r.object, "failed" if r.error else "done").inc()
            t = r.tally
            for result, n in (
                ("lead_new", t.leads_new),
                ("lead_known", t.leads_known),
                ("action_new", t.actions_new),
                ("action_known", t.actions_known),
                ("not_ours", t.not_ours),
                ("before_handoff", t.before_handoff),
                ("written_back", t.written_back),
            ):
                if n:
                    metrics.crm_records.labels(r.source, result).inc(n)
        if any(r.tally.leads_new or r.tally.actions_new for r in runs):
            common.wake()  # new leads' cards, and cards that now show an action

    parts.periodic.append(Periodic(CRM_JOB, float(settings.crm.poll_seconds), run))
    for sender in crm_senders(engine, settings, clock):
        outbox = Outbox(engine, settings, sender, clock=clock, on_result=common.count, lease=LEASE)
        worker = OutboxWorker(
            outbox, common.interval, name=f"outbox-{sender.platform}", yield_to=common.lull.wait
        )
        parts.integrations.append(Integration(str(sender.platform), worker=worker))
    if settings.crm.hubspot is not None:
        from bot.crm.hubspot_door import hubspot_routes

        routes = hubspot_routes(
            settings.crm.hubspot,
            clock=clock,
            wake=parts.wake_sync,
            base_url=common.env.public_base_url or None,
        )
        parts.integrations.append(Integration("hubspot-door", routes))
    log.info(
        "CRM sync is on: %s every %ss",
        ", ".join(settings.crm.configured),
        settings.crm.poll_seconds,
    )
    return parts
