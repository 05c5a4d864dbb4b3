"""Settings: the one YAML file plus the environment, read once at start into frozen data.

A bad file fails at start with the file, the key path and what was expected:
`ignorerate.yml: teams[1].sla.minutes: expected a positive integer, got "abc"`.
Secrets never live in the file; they are read from the environment, once, into
`Environment`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Container, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, NoReturn
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holiday_data
import yaml

from bot.crmconfig import CrmConfig, parse_crm
from metrics.calendar import (
    MAX_DAYS,
    BusinessCalendar,
    Window,
    guaranteed_minutes,
    parse_weekly_hours,
)
from metrics.errors import CalendarError
from metrics.model import RejectReason
from metrics.nudges import NudgePolicy, SummaryPolicy
from metrics.sla import SlaPolicy
from storage.engine import DEFAULT_URL

DEFAULT_CONFIG = "ignorerate.yml"
DEFAULT_HOURS = {"mon-fri": "09:00-18:00"}
LOCALES = ("en", "ja")
Locale = Literal["en", "ja"]

DEFAULT_REJECT_REASONS = (
    RejectReason("not_a_fit", excludes=False),
    RejectReason("no_budget", excludes=False),
    RejectReason("bad_timing", excludes=False),
    RejectReason("competitor", excludes=False),
    RejectReason("other", excludes=False),
    RejectReason("duplicate", excludes=True),
    RejectReason("test_or_spam", excludes=True),
    RejectReason("invalid_contact", excludes=True),
    RejectReason("existing_customer", excludes=True),
)

SECRET_HINTS = ("token", "secret", "password", "signing")

# The longest SLA and nudge delay (365 days), and the furthest back a lead is chased
# (about ten years): every deadline from a supported instant (metrics/instants.py)
# stays computable, and a typo of a few zeros is caught at start.
MAX_MINUTES = 525_600
MAX_LOOKBACK_DAYS = 3_660
# public holidays a year assumed of any country when checking that a business-hours
# delay fits the calendar's walk (metrics.calendar.MAX_DAYS); real countries have fewer
COUNTRY_HOLIDAYS_A_YEAR = 30


class ConfigError(Exception):
    """A setting that cannot be used; the message names the file and the key path."""

    def __init__(self, source: str, key: str, message: str) -> None:
        self.source = source
        self.key = key
        super().__init__(f"{source}: {key}: {message}" if key else f"{source}: {message}")


class TeamHolidays:
    """Listed dates plus a country's public holidays (from the `holidays` package)."""

    def __init__(self, listed: frozenset[date], country: str | None) -> None:
        self.listed = listed
        self.country = country
        self._public: Container[date] = (
            holiday_data.country_holidays(country) if country else frozenset()
        )

    def __contains__(self, day: object) -> bool:
        return day in self.listed or day in self._public


@dataclass(frozen=True)
class HandoffChannel:
    """A Slack channel where other apps announce handoffs. Messages carrying metadata of
    type `lead_handoff` are always read; plain text only when `pattern` is set (a regular
    expression with named groups: external_id, handed_off_at, owner_email, name, ...)."""

    channel: str
    source: str
    pattern: re.Pattern[str] | None = None


PATTERN_GROUPS = (
    "source",
    "external_id",
    "handed_off_at",
    "owner_email",
    "name",
    "company",
    "email",
    "campaign",
)


@dataclass(frozen=True)
class TeamConfig:
    name: str
    timezone: ZoneInfo
    sla: SlaPolicy
    hours: Mapping[int, tuple[Window, ...]]
    holidays: TeamHolidays
    slack_channel: str | None = None
    managers: tuple[str, ...] = ()
    reps: tuple[str, ...] = ()
    handoff_channels: tuple[HandoffChannel, ...] = ()
    post_to_channel: bool = False  # lead cards also go to the team channel
    nudges: NudgePolicy = field(default_factory=NudgePolicy)
    summary: SummaryPolicy = field(default_factory=SummaryPolicy)
    # a Microsoft Teams channel's Workflows webhook URL (its query carries a signature:
    # keep it in the environment with `teams_webhook: env:NAME`), and that channel's id,
    # which an @mention of the bot there arrives with
    teams_webhook: str | None = field(default=None, repr=False)
    teams_channel: str | None = None

    @property
    def escalate_channel(self) -> str | None:
        return self.slack_channel if self.nudges.escalate_to_channel else None

    @cached_property
    def calendar(self) -> BusinessCalendar:
        return BusinessCalendar(self.timezone, self.hours, self.holidays)


@dataclass(frozen=True)
class Delivery:
    """How the outbox sends: tries before a message is parked as dead, and its pace
    (Slack allows about one message a second a channel, and a workspace-wide budget)."""

    max_attempts: int = 8
    per_channel_per_second: float = 1.0
    per_second: float = 20.0


@dataclass(frozen=True)
class Settings:
    source: str
    timezone: ZoneInfo
    locale: Locale
    teams: tuple[TeamConfig, ...]
    admins: tuple[str, ...] = ()
    reject_reasons: tuple[RejectReason, ...] = DEFAULT_REJECT_REASONS
    database_url: str = DEFAULT_URL
    delivery: Delivery = Delivery()
    crm: CrmConfig = field(default_factory=CrmConfig)
    _by_name: dict[str, TeamConfig] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_name.update({t.name: t for t in self.teams})

    @property
    def team_names(self) -> Mapping[str, TeamConfig]:
        return self._by_name

    def team(self, name: str) -> TeamConfig | None:
        return self._by_name.get(name)

    def team_of_channel(self, channel: str | None) -> TeamConfig | None:
        return next((t for t in self.teams if channel and t.slack_channel == channel), None)

    def handoff_channel(self, channel: str | None) -> tuple[TeamConfig, HandoffChannel] | None:
        for team in self.teams:
            for entry in team.handoff_channels:
                if entry.channel == channel:
                    return team, entry
        return None

    def reason(self, code: str) -> RejectReason | None:
        wanted = normalise_code(code)
        return next((r for r in self.reject_reasons if r.code == wanted), None)


def normalise_code(text: str) -> str:
    return "_".join(text.strip().lower().replace("-", " ").replace("/", " ").split())


class _Reader:
    """Walks the parsed YAML, keeping the key path for messages."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, message: str) -> NoReturn:
        raise ConfigError(self.source, key, message)

    def mapping(self, value: Any, key: str, known: tuple[str, ...]) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            self.fail(key, f"expected a mapping, got {_show(value)}")
        for name in value:
            # a blank or non-text key (YAML allows both) is quoted, so the path names it
            label = str(name) if isinstance(name, str) and name.strip() else _show(name)
            where = f"{key}.{label}" if key else label
            if name in known:
                continue
            if any(h in str(name).lower() for h in SECRET_HINTS):
                self.fail(where, "secrets are read from the environment, never from this file")
            self.fail(where, "unknown key; known keys here: " + ", ".join(known))
        return value

    def text(self, value: Any, key: str) -> str:
        if not isinstance(value, str) or not value.strip():
            self.fail(key, f"expected a non-empty string, got {_show(value)}")
        return value.strip()

    def positive_int(self, value: Any, key: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            self.fail(key, f"expected a positive integer, got {_show(value)}")
        return value

    def minutes(self, value: Any, key: str) -> int:
        """A delay in minutes: a positive integer up to MAX_MINUTES."""
        minutes = self.positive_int(value, key)
        if minutes > MAX_MINUTES:
            self.fail(key, f"expected at most {MAX_MINUTES} minutes (365 days), got {minutes}")
        return minutes

    def positive_number(self, value: Any, key: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            self.fail(key, f"expected a positive number, got {_show(value)}")
        return float(value)

    def boolean(self, value: Any, key: str) -> bool:
        if not isinstance(value, bool):
            self.fail(key, f"expected true or false, got {_show(value)}")
        return value

    def zone(self, value: Any, key: str) -> ZoneInfo:
        name = self.text(value, key)
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            self.fail(key, f'expected an IANA time zone such as "Asia/Tokyo", got {_show(value)}')

    def emails(self, value: Any, key: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.fail(key, f"expected a list of email addresses, got {_show(value)}")
        out = []
        for i, item in enumerate(value):
            email = self.text(item, f"{key}[{i}]").lower()
            if "@" not in email:
                self.fail(f"{key}[{i}]", f"expected an email address, got {_show(item)}")
            out.append(email)
        return tuple(out)


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if value is None:
        return "nothing"
    return repr(value)


TOP_KEYS = (
    "timezone",
    "locale",
    "teams",
    "admins",
    "reject_reasons",
    "database_url",
    "delivery",
    "crm",
)
TEAM_KEYS = (
    "name",
    "timezone",
    "sla",
    "business_hours",
    "holidays",
    "holiday_country",
    "slack_channel",
    "managers",
    "reps",
    "handoff_channels",
    "post_to_channel",
    "nudges",
    "summary",
    "teams_webhook",
    "teams_channel",
)
NUDGE_KEYS = (
    "heads_up_minutes",
    "escalate_after_minutes",
    "escalate_to_channel",
    "reassign_after_minutes",
    "max_reassignments",
    "business_hours",
    "lookback_days",
)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_settings(raw: Any, source: str, env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    r = _Reader(source)
    top = r.mapping(raw if raw is not None else {}, "", TOP_KEYS)
    org_tz = r.zone(top.get("timezone", "UTC"), "timezone")
    locale = top.get("locale", "en")
    if locale not in LOCALES:
        r.fail("locale", f"expected one of {', '.join(LOCALES)}, got {_show(locale)}")
    # no `teams` key at all is a file for commands that need only the database
    # (`db upgrade`); a `teams` key that lists none is a mistake
    teams_raw = top.get("teams", [])
    if "teams" in top and (teams_raw is None or teams_raw == []):
        r.fail("teams", "lists no team; expected at least one {name, sla, ...}")
    if not isinstance(teams_raw, list):
        r.fail("teams", f"expected a list of teams, got {_show(teams_raw)}")
    teams = tuple(_team(r, t, f"teams[{i}]", org_tz, env) for i, t in enumerate(teams_raw))
    seen: set[str] = set()
    for i, team in enumerate(teams):
        if team.name in seen:
            r.fail(f"teams[{i}].name", f'"{team.name}" names two teams')
        seen.add(team.name)
    reasons = _reasons(r, top.get("reject_reasons"))
    url = env.get("DATABASE_URL") or top.get("database_url") or DEFAULT_URL
    if not env.get("DATABASE_URL") and "database_url" in top:
        url = _from_env(r, r.text(url, "database_url"), "database_url", env)
    return Settings(
        source=source,
        timezone=org_tz,
        locale=locale,
        teams=teams,
        admins=r.emails(top.get("admins"), "admins"),
        reject_reasons=reasons,
        database_url=r.text(url, "database_url"),
        delivery=_delivery(r, top.get("delivery")),
        crm=parse_crm(
            r, top.get("crm"), reasons=reasons, teams=tuple(t.name for t in teams), env=env
        ),
    )


def _delivery(r: _Reader, raw: Any) -> Delivery:
    if raw is None:
        return Delivery()
    d = r.mapping(raw, "delivery", ("max_attempts", "per_channel_per_second", "per_second"))
    default = Delivery()
    return Delivery(
        max_attempts=r.positive_int(
            d.get("max_attempts", default.max_attempts), "delivery.max_attempts"
        ),
        per_channel_per_second=r.positive_number(
            d.get("per_channel_per_second", default.per_channel_per_second),
            "delivery.per_channel_per_second",
        ),
        per_second=r.positive_number(
            d.get("per_second", default.per_second), "delivery.per_second"
        ),
    )


def _optional_minutes(
    r: _Reader, n: Mapping[str, Any], name: str, key: str, default: int | None
) -> int | None:
    if name not in n:
        return default
    if n[name] is None or n[name] is False:
        return None
    return r.minutes(n[name], f"{key}.{name}")


def _nudges(r: _Reader, raw: Any, key: str, sla: SlaPolicy) -> NudgePolicy:
    default = NudgePolicy()
    if raw is None:
        return NudgePolicy(business_hours=sla.business_hours)
    n = r.mapping(raw, key, NUDGE_KEYS)
    lookback = r.positive_int(n.get("lookback_days", default.lookback_days), f"{key}.lookback_days")
    if lookback > MAX_LOOKBACK_DAYS:
        r.fail(
            f"{key}.lookback_days",
            f"expected at most {MAX_LOOKBACK_DAYS} days (about ten years), got {lookback}",
        )
    max_times = n.get("max_reassignments", default.max_reassignments)
    if isinstance(max_times, bool) or not isinstance(max_times, int) or max_times < 0:
        r.fail(
            f"{key}.max_reassignments",
            f"expected a whole number, 0 or more, got {_show(max_times)}",
        )
    return NudgePolicy(
        heads_up_minutes=_optional_minutes(r, n, "heads_up_minutes", key, None),
        escalate_after_minutes=_optional_minutes(
            r, n, "escalate_after_minutes", key, default.escalate_after_minutes
        ),
        escalate_to_channel=r.boolean(
            n.get("escalate_to_channel", False), f"{key}.escalate_to_channel"
        ),
        reassign_after_minutes=_optional_minutes(r, n, "reassign_after_minutes", key, None),
        max_reassignments=max_times,
        business_hours=r.boolean(
            n.get("business_hours", sla.business_hours), f"{key}.business_hours"
        ),
        lookback_days=lookback,
    )


def _summary(r: _Reader, raw: Any, key: str) -> SummaryPolicy:
    if raw is None:
        return SummaryPolicy()
    if raw is False:
        return SummaryPolicy(enabled=False)
    s = r.mapping(raw, key, ("day", "time"))
    day = str(s.get("day", "mon")).strip().lower()[:3]
    if day not in WEEKDAYS:
        r.fail(f"{key}.day", f"expected a day mon..sun, got {_show(s.get('day'))}")
    at_raw = s.get("time", "09:00")
    try:
        hours, _, minutes = str(at_raw).partition(":")
        at = time(int(hours), int(minutes))
    except ValueError:
        r.fail(f"{key}.time", f'expected a local time HH:MM such as "09:00", got {_show(at_raw)}')
    return SummaryPolicy(weekday=WEEKDAYS.index(day), at=at)


def _team(r: _Reader, raw: Any, key: str, org_tz: ZoneInfo, env: Mapping[str, str]) -> TeamConfig:
    t = r.mapping(raw, key, TEAM_KEYS)
    name = r.text(t.get("name"), f"{key}.name")
    if name.lower() == "all":
        r.fail(f"{key}.name", '"all" is reserved for reports across every team')
    tz = r.zone(t["timezone"], f"{key}.timezone") if "timezone" in t else org_tz
    if "sla" not in t:
        r.fail(f"{key}.sla", "missing; expected {minutes: N, business_hours: true|false}")
    sla_raw = r.mapping(t["sla"], f"{key}.sla", ("minutes", "business_hours"))
    sla = SlaPolicy(
        minutes=r.minutes(sla_raw.get("minutes"), f"{key}.sla.minutes"),
        business_hours=r.boolean(sla_raw.get("business_hours", True), f"{key}.sla.business_hours"),
    )
    hours_raw = t.get("business_hours", DEFAULT_HOURS)
    if not isinstance(hours_raw, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in hours_raw.items()
    ):
        r.fail(
            f"{key}.business_hours",
            f'expected a mapping like {{mon-fri: "09:00-18:00"}}, got {_show(hours_raw)}',
        )
    try:
        hours = parse_weekly_hours(hours_raw)
    except CalendarError as err:
        r.fail(f"{key}.business_hours", str(err))
    listed_raw = t.get("holidays") or []
    if not isinstance(listed_raw, list):
        r.fail(f"{key}.holidays", f"expected a list of dates, got {_show(listed_raw)}")
    listed = set()
    for i, item in enumerate(listed_raw):
        if isinstance(item, date):  # YAML reads 2026-11-23 as a date already
            listed.add(item)
            continue
        try:
            listed.add(date.fromisoformat(str(item)))
        except ValueError:
            r.fail(f"{key}.holidays[{i}]", f"expected a date YYYY-MM-DD, got {_show(item)}")
    country = t.get("holiday_country")
    if country is not None:
        country = r.text(country, f"{key}.holiday_country").upper()
        if country not in holiday_data.list_supported_countries():
            r.fail(
                f"{key}.holiday_country",
                f"expected an ISO 3166 country code the holidays package knows (JP, US, DE, ...), "
                f"got {_show(t.get('holiday_country'))}",
            )
    nudges = _nudges(r, t.get("nudges"), f"{key}.nudges", sla)
    _check_fits_calendar(
        r, key, hours=hours, listed=len(listed), country=country, sla=sla, nudges=nudges
    )
    channel = t.get("slack_channel")
    return TeamConfig(
        name=name,
        timezone=tz,
        sla=sla,
        hours=hours,
        holidays=TeamHolidays(frozenset(listed), country),
        slack_channel=r.text(channel, f"{key}.slack_channel") if channel is not None else None,
        managers=r.emails(t.get("managers"), f"{key}.managers"),
        reps=r.emails(t.get("reps"), f"{key}.reps"),
        handoff_channels=_handoff_channels(r, t.get("handoff_channels"), f"{key}.handoff_channels"),
        post_to_channel=r.boolean(t.get("post_to_channel", False), f"{key}.post_to_channel"),
        nudges=nudges,
        summary=_summary(r, t.get("summary"), f"{key}.summary"),
        teams_webhook=_webhook(r, t.get("teams_webhook"), f"{key}.teams_webhook", env),
        teams_channel=(
            r.text(t["teams_channel"], f"{key}.teams_channel") if "teams_channel" in t else None
        ),
    )


def _check_fits_calendar(
    r: _Reader,
    key: str,
    *,
    hours: Mapping[int, tuple[Window, ...]],
    listed: int,
    country: str | None,
    sla: SlaPolicy,
    nudges: NudgePolicy,
) -> None:
    """Business-hours delays the team's calendar can count: metrics.calendar walks at
    most MAX_DAYS days for a deadline, so hours that open too rarely for that many
    minutes would fail on every lead instead of at start."""
    years = MAX_DAYS // 365 + 1
    days_off = listed + (COUNTRY_HOLIDAYS_A_YEAR * years if country else 0)
    most = guaranteed_minutes(hours, days_off)
    delays = [("sla.minutes", sla.minutes if sla.business_hours else None)]
    if nudges.business_hours:
        delays += [
            ("nudges.escalate_after_minutes", nudges.escalate_after_minutes),
            ("nudges.reassign_after_minutes", nudges.reassign_after_minutes),
        ]
    for name, minutes in delays:
        if minutes is not None and minutes > most:
            r.fail(
                f"{key}.{name}",
                f"{minutes} business minutes do not fit these business hours "
                f"({key}.business_hours and holidays): a deadline could lie more than "
                f"{MAX_DAYS} days ahead; at most {most} here",
            )


def _from_env(r: _Reader, text: str, key: str, env: Mapping[str, str]) -> str:
    """`text` itself, or for `env:NAME` the value of that environment variable."""
    if not text.startswith("env:"):
        return text
    name = text[4:].strip()
    value = env.get(name)
    if not value:
        r.fail(key, f"the environment variable {name} is not set")
    return value.strip()


def _webhook(r: _Reader, raw: Any, key: str, env: Mapping[str, str]) -> str | None:
    """An https URL, or `env:NAME` for one kept in the environment."""
    if raw is None:
        return None
    text = _from_env(r, r.text(raw, key), key, env)
    local = text.startswith(("http://127.0.0.1", "http://localhost"))  # tests, dev
    if not (text.startswith("https://") or local):
        r.fail(key, "expected the https:// URL of a Teams Workflows webhook, or env:NAME")
    return text


def _handoff_channels(r: _Reader, raw: Any, key: str) -> tuple[HandoffChannel, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        r.fail(key, f"expected a list of {{channel, source, pattern}}, got {_show(raw)}")
    out = []
    for i, item in enumerate(raw):
        where = f"{key}[{i}]"
        entry = r.mapping(item, where, ("channel", "source", "pattern"))
        pattern = None
        if entry.get("pattern") is not None:
            text = r.text(entry["pattern"], f"{where}.pattern")
            try:
                pattern = re.compile(text)
            except re.error as err:
                r.fail(f"{where}.pattern", f"not a valid regular expression: {err}")
            unknown = set(pattern.groupindex) - set(PATTERN_GROUPS)
            if unknown:
                r.fail(
                    f"{where}.pattern",
                    f"unknown group {', '.join(sorted(unknown))}; "
                    f"named groups may be {', '.join(PATTERN_GROUPS)}",
                )
            if "external_id" not in pattern.groupindex:
                r.fail(f"{where}.pattern", "needs a named group (?P<external_id>...)")
        out.append(
            HandoffChannel(
                channel=r.text(entry.get("channel"), f"{where}.channel"),
                source=r.text(entry.get("source", "slack"), f"{where}.source"),
                pattern=pattern,
            )
        )
    return tuple(out)


def _reasons(r: _Reader, raw: Any) -> tuple[RejectReason, ...]:
    if raw is None:
        return DEFAULT_REJECT_REASONS
    if not isinstance(raw, list) or not raw:
        r.fail("reject_reasons", f"expected a list of {{code, excludes}}, got {_show(raw)}")
    out = []
    first: dict[str, int] = {}
    for i, item in enumerate(raw):
        entry = r.mapping(item, f"reject_reasons[{i}]", ("code", "excludes"))
        code = normalise_code(r.text(entry.get("code"), f"reject_reasons[{i}].code"))
        if code in first:
            r.fail(
                f"reject_reasons[{i}].code",
                f'"{code}" is already reject_reasons[{first[code]}]; each code once',
            )
        first[code] = i
        excludes = r.boolean(entry.get("excludes", False), f"reject_reasons[{i}].excludes")
        out.append(RejectReason(code, excludes))
    return tuple(out)


def config_path(explicit: str | None = None, env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    return Path(explicit or env.get("IGNORERATE_CONFIG") or DEFAULT_CONFIG)


def load_settings(path: Path, env: Mapping[str, str] | None = None) -> Settings:
    source = str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            source, "", "no such file; `ignorerate init` writes a commented example"
        ) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise ConfigError(
            source,
            "",
            f"not UTF-8 text (byte 0x{data[err.start]:02x} on line {line}); "
            "expected the file saved as UTF-8",
        ) from None
    try:
        raw = _safe_load_unique(text, source)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(
            source, "", f"not valid YAML: {where}{getattr(err, 'problem', err)}"
        ) from None
    _refuse_literal_secrets(raw, source)
    return parse_settings(raw, source, env)


DEFAULT_SLACK_API_TIMEOUT = 10  # seconds
# Sign in with Slack is OpenID Connect with discovery under this issuer
# (https://slack.com/.well-known/openid-configuration names it as its "issuer")
DEFAULT_OIDC_ISSUER = "https://slack.com"
DEFAULT_SESSION_MAX_AGE = 12 * 3600  # seconds a dashboard sign-in lasts


@dataclass(frozen=True)
class Environment:
    """The environment variables `ignorerate serve` reads besides the file's own
    (DATABASE_URL, IGNORERATE_CONFIG and `env:NAME` values, read with the settings), read
    once at start by `read_environment`. The README's environment table lists them."""

    slack_bot_token: str | None = field(default=None, repr=False)  # SLACK_BOT_TOKEN
    slack_signing_secret: str | None = field(default=None, repr=False)  # SLACK_SIGNING_SECRET
    slack_app_token: str | None = field(default=None, repr=False)  # SLACK_APP_TOKEN
    slack_api_url: str | None = None  # SLACK_API_URL; None: Slack's own
    slack_api_timeout: int = DEFAULT_SLACK_API_TIMEOUT  # SLACK_API_TIMEOUT, whole seconds
    # IGNORERATE_OUTBOX_LEASE; None when not set: the outbox's own (bot.outbox.engine.LEASE)
    outbox_lease: timedelta | None = None
    webhook_secret: str | None = field(default=None, repr=False)  # IGNORERATE_WEBHOOK_SECRET
    # IGNORERATE_WEBHOOK_TOKEN: the webhooks also take `Authorization: Bearer <it>`
    webhook_token: str | None = field(default=None, repr=False)
    public_base_url: str = ""  # PUBLIC_BASE_URL, stripped; "" when not set
    link_secret: str = field(default="", repr=False)  # IGNORERATE_LINK_SECRET
    metrics_token: str | None = field(default=None, repr=False)  # IGNORERATE_METRICS_TOKEN
    teams_outgoing_secret: str | None = field(default=None, repr=False)  # TEAMS_OUTGOING_SECRET
    # the dashboard's sign-in (bot/web/auth.py checks them when the dashboard is built)
    oidc_issuer: str = DEFAULT_OIDC_ISSUER  # IGNORERATE_OIDC_ISSUER
    oidc_client_id: str | None = None  # IGNORERATE_OIDC_CLIENT_ID
    # IGNORERATE_OIDC_CLIENT_SECRET
    oidc_client_secret: str | None = field(default=None, repr=False)
    session_secret: str | None = field(default=None, repr=False)  # IGNORERATE_SESSION_SECRET
    session_max_age: int = DEFAULT_SESSION_MAX_AGE  # IGNORERATE_SESSION_MAX_AGE, whole seconds


def read_environment(env: Mapping[str, str] | None = None) -> Environment:
    """The variables of `Environment` from `env` (the process's environment by default);
    a number that is not one fails here, naming the variable."""
    env = os.environ if env is None else env
    return Environment(
        slack_bot_token=env.get("SLACK_BOT_TOKEN"),
        slack_signing_secret=env.get("SLACK_SIGNING_SECRET"),
        slack_app_token=env.get("SLACK_APP_TOKEN"),
        slack_api_url=env.get("SLACK_API_URL"),
        slack_api_timeout=_whole_seconds(
            env.get("SLACK_API_TIMEOUT", str(DEFAULT_SLACK_API_TIMEOUT)), "SLACK_API_TIMEOUT"
        ),
        outbox_lease=_lease(env.get("IGNORERATE_OUTBOX_LEASE")),
        webhook_secret=env.get("IGNORERATE_WEBHOOK_SECRET"),
        webhook_token=_webhook_token(env.get("IGNORERATE_WEBHOOK_TOKEN")),
        public_base_url=(env.get("PUBLIC_BASE_URL") or "").strip(),
        link_secret=env.get("IGNORERATE_LINK_SECRET") or "",
        metrics_token=env.get("IGNORERATE_METRICS_TOKEN") or None,
        teams_outgoing_secret=env.get("TEAMS_OUTGOING_SECRET"),
        oidc_issuer=(env.get("IGNORERATE_OIDC_ISSUER") or "").strip() or DEFAULT_OIDC_ISSUER,
        oidc_client_id=(env.get("IGNORERATE_OIDC_CLIENT_ID") or "").strip() or None,
        oidc_client_secret=env.get("IGNORERATE_OIDC_CLIENT_SECRET") or None,
        session_secret=env.get("IGNORERATE_SESSION_SECRET") or None,
        session_max_age=_whole_seconds(
            env.get("IGNORERATE_SESSION_MAX_AGE", str(DEFAULT_SESSION_MAX_AGE)),
            "IGNORERATE_SESSION_MAX_AGE",
        ),
    )


MIN_WEBHOOK_TOKEN = 16  # characters


def _webhook_token(value: str | None) -> str | None:
    """IGNORERATE_WEBHOOK_TOKEN, for the tools that can send a fixed header but cannot
    sign: long enough not to be guessed, and of the characters a header carries as sent.
    The message never shows the value."""
    if not value:
        return None
    if len(value) < MIN_WEBHOOK_TOKEN:
        raise ConfigError(
            "environment",
            "IGNORERATE_WEBHOOK_TOKEN",
            f"is {len(value)} characters; a token needs {MIN_WEBHOOK_TOKEN} or more "
            "(e.g. `openssl rand -hex 32`)",
        )
    if not all("!" <= c <= "~" for c in value):
        raise ConfigError(
            "environment",
            "IGNORERATE_WEBHOOK_TOKEN",
            "has a space, a control character or a character outside ASCII; a token is "
            "sent in a header: use visible ASCII only (e.g. `openssl rand -hex 32`)",
        )
    return value


def _lease(value: str | None) -> timedelta | None:
    """IGNORERATE_OUTBOX_LEASE: whole seconds a sender's claim on a message lasts. A
    sender killed mid-send leaves its claim to expire before the message goes again, so
    this is how long such a message waits; it must exceed one send (above all
    SLACK_API_TIMEOUT), or a slow send could be taken over and sent twice."""
    if value is None:
        return None
    return timedelta(seconds=_whole_seconds(value, "IGNORERATE_OUTBOX_LEASE"))


def _whole_seconds(value: str, name: str) -> int:
    """A positive whole number of seconds, as written in the variable `name`."""
    if value.isdigit():
        try:
            seconds = int(value)
        except ValueError:  # a digit int() does not read, such as "²"
            seconds = 0
        if seconds >= 1:
            return seconds
    raise ConfigError("environment", name, f"expected whole seconds, got {value!r}")


# Keys that take `env:NAME` for a value that carries a secret (a Workflows URL's
# signature, a database password); a secret anywhere else has no place in the file.
ENV_KEYS = ("teams_webhook", "database_url")
# query parameters that carry a credential in the URLs people paste (Workflows' sig=,
# Azure SAS, API keys, tokens)
SECRET_PARAMS = frozenset(
    {
        "sig",
        "signature",
        "token",
        "access_token",
        "auth",
        "key",
        "api_key",
        "apikey",
        "secret",
        "client_secret",
        "password",
    }
)
# Slack tokens (bot, user, app-level, refresh and the rest) and other well-known shapes
SECRET_TEXT = re.compile(
    r"\b(?:xox[a-z]-|xoxe\.xox|xapp-|gh[pousr]_[A-Za-z0-9]{20}|sk-[A-Za-z0-9]{20})"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----"
)


def _secret_in(text: str) -> str | None:
    """What kind of secret `text` carries, if it looks like one."""
    match = SECRET_TEXT.search(text)
    if match:
        return "a Slack token" if match[0].startswith("x") else "a credential"
    if "://" not in text:
        return None
    try:
        url = urlsplit(text.strip())
        password = url.password
    except ValueError:
        return None
    if password:
        return "a URL with a password"
    names = sorted({k.lower() for k, _ in parse_qsl(url.query, keep_blank_values=True)})
    carried = [n for n in names if n in SECRET_PARAMS]
    return f"a URL carrying {carried[0]}=" if carried else None


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(item, _label(path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, f"{path}[{i}]")


def _refuse_literal_secrets(raw: Any, source: str) -> None:
    """A secret written into the file (a Workflows URL with its sig=, a token, a database
    password) would be in every copy and backup of it; it belongs in the environment."""
    for path, text in _strings(raw, ""):
        what = _secret_in(text)
        if what is None:
            continue
        if path.rsplit(".", 1)[-1] in ENV_KEYS:
            advice = "put it in an environment variable and write env:NAME here"
        else:
            advice = "secrets are read from the environment, never from this file"
        raise ConfigError(
            source, path, f"looks like a secret written into the file ({what}); {advice}"
        )


def _label(path: str, key: Any) -> str:
    """A key path as the messages write it: teams[1].sla.minutes."""
    label = str(key) if isinstance(key, str) and key.strip() else _show(key)
    return f"{path}.{label}" if path else label


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, which keeps the last of two equal keys in a mapping; this
    one refuses them, naming the key path and both lines."""

    def check_unique_keys(self, node: yaml.Node, path: str, source: str) -> None:
        seen: set[int] = set()
        todo: list[tuple[yaml.Node, str]] = [(node, path)]
        while todo:
            node, path = todo.pop()
            if id(node) in seen:  # an alias: its anchor's node is walked once
                continue
            seen.add(id(node))
            inner: list[tuple[yaml.Node, str]] = []
            if isinstance(node, yaml.SequenceNode):
                inner = [(item, f"{path}[{i}]") for i, item in enumerate(node.value)]
            elif isinstance(node, yaml.MappingNode):
                inner = self._unique_keys(node, path, source)
            todo += reversed(inner)  # the first mistake in the file is the one named

    def _unique_keys(
        self, node: yaml.MappingNode, path: str, source: str
    ) -> list[tuple[yaml.Node, str]]:
        """The mapping's values with their paths, once its keys are known to differ."""
        lines: dict[Any, int] = {}
        inner: list[tuple[yaml.Node, str]] = []
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *defaults` may override
                inner.append((value_node, path))
                continue
            key = self.construct_object(key_node, deep=True)
            where = _label(path, key)
            line = key_node.start_mark.line + 1
            try:
                first = lines.get(key)
            except TypeError:  # an unhashable key: parse_settings names it
                continue
            if first is not None:
                raise ConfigError(source, where, f"given twice, on line {first} and on line {line}")
            lines[key] = line
            inner.append((value_node, where))
        return inner


def _safe_load_unique(text: str, source: str) -> Any:
    loader = _UniqueKeyLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        loader.check_unique_keys(node, "", source)
        return loader.construct_document(node)
    finally:
        loader.dispose()
