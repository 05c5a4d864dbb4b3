"""The `crm:` section of the config file, and the CRM credentials from the environment.

    crm:
      poll_seconds: 60          # how often `serve` syncs (default 60)
      overlap_seconds: 300      # each sync re-reads this much before its cursor (default 300)
      salesforce:
        handoff: {object: Lead, when: "Status = 'Marketing Qualified'", at: MQL_Date__c}
        team_from: owner        # or {field: Region__c, map: {APAC: enterprise}, default: smb}
        actions:
          tasks: {subtypes: [Call, Email]}      # or {subtypes: {Call: call, Email: email}}
          events: true
          status: {"Working - Contacted": "contacted:other", "Unqualified": "rejected:not_a_fit"}
          converted: true
        write_back: {task: true, status: "Working - Contacted"}
        api_headroom_percent: 10
      hubspot:
        handoff: {property: lifecyclestage, value: marketingqualifiedlead}
        team_from: owner
        actions:
          types: [calls, emails, meetings]
          lead_status: {UNQUALIFIED: "rejected:not_a_fit"}
        write_back: {engagement: call}          # call or note; leave out for none

A kind, reason or team the file names that does not exist stops the start with its key
path; so does a configured CRM whose credentials the environment lacks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from metrics.model import ActionKind, ContactChannel, RejectReason

if TYPE_CHECKING:
    from bot.config import _Reader

CRM_KEYS = ("poll_seconds", "overlap_seconds", "salesforce", "hubspot")
SALESFORCE_KEYS = ("handoff", "team_from", "actions", "write_back", "api_headroom_percent")
HUBSPOT_KEYS = ("handoff", "team_from", "actions", "write_back")
DEFAULT_LOGIN_URL = "https://login.salesforce.com"
DEFAULT_HUBSPOT_URL = "https://api.hubapi.com"
# Salesforce's TaskSubtype values and the channel each counts as, when the file lists them
TASK_SUBTYPES = {"Call": "call", "Email": "email", "ListEmail": "email", "Cadence": "other"}
HUBSPOT_TYPES = ("calls", "emails", "meetings")


@dataclass(frozen=True)
class CrmKind:
    """What a CRM value counts as: `contacted:<channel>`, `rejected:<reason>` or
    `excluded:<reason>`."""

    kind: ActionKind
    channel: str | None = None
    reason: str | None = None

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.channel or self.reason}"


@dataclass(frozen=True)
class TeamFrom:
    """Which team a CRM lead joins: its owner's (the team listing the owner among its reps
    or managers) when `by_field` is None, else `map[value of by_field]`; `default` when neither
    names one (None: the lead is skipped and the skip is reported)."""

    by_field: str | None = None
    map: Mapping[str, str] = field(default_factory=dict)
    default: str | None = None


@dataclass(frozen=True)
class SalesforceConfig:
    handoff_object: str = "Lead"
    handoff_when: str = "Status = 'Marketing Qualified'"
    handoff_at: str | None = None  # a datetime field; None: LeadHistory, else first seen
    team_from: TeamFrom = TeamFrom()
    task_subtypes: Mapping[str, str] = field(default_factory=lambda: dict(TASK_SUBTYPES))
    events: bool = True
    status: Mapping[str, CrmKind] = field(default_factory=dict)
    converted: bool = True
    write_back_task: bool = False
    write_back_status: str | None = None
    api_headroom_percent: int = 10
    # from the environment
    login_url: str = DEFAULT_LOGIN_URL  # SALESFORCE_LOGIN_URL
    client_id: str = field(default="", repr=False)  # SALESFORCE_CLIENT_ID (consumer key)
    username: str | None = None  # SALESFORCE_USERNAME: JWT bearer
    private_key_file: str | None = None  # SALESFORCE_PRIVATE_KEY_FILE: JWT bearer
    client_secret: str | None = field(default=None, repr=False)  # SALESFORCE_CLIENT_SECRET


@dataclass(frozen=True)
class HubspotConfig:
    handoff_property: str = "lifecyclestage"
    handoff_value: str = "marketingqualifiedlead"
    team_from: TeamFrom = TeamFrom()
    types: tuple[str, ...] = HUBSPOT_TYPES
    lead_status: Mapping[str, CrmKind] = field(default_factory=dict)
    write_back: str | None = None  # "call" or "note"
    # from the environment
    api_url: str = DEFAULT_HUBSPOT_URL  # HUBSPOT_API_URL
    token: str = field(default="", repr=False)  # HUBSPOT_ACCESS_TOKEN (private app)
    client_secret: str | None = field(default=None, repr=False)  # HUBSPOT_CLIENT_SECRET


@dataclass(frozen=True)
class CrmConfig:
    poll_seconds: int = 60
    overlap_seconds: int = 300
    salesforce: SalesforceConfig | None = None
    hubspot: HubspotConfig | None = None

    @property
    def configured(self) -> tuple[str, ...]:
        """The CRMs configured, by name, in the order a sync reads them."""
        return tuple(
            name
            for name, part in (("salesforce", self.salesforce), ("hubspot", self.hubspot))
            if part is not None
        )


def parse_crm(
    r: _Reader,
    raw: Any,
    *,
    reasons: tuple[RejectReason, ...],
    teams: tuple[str, ...],
    env: Mapping[str, str],
) -> CrmConfig:
    if raw is None:
        return CrmConfig()
    c = r.mapping(raw, "crm", CRM_KEYS)
    checks = _Checks(r, reasons, teams)
    return CrmConfig(
        poll_seconds=r.positive_int(c.get("poll_seconds", 60), "crm.poll_seconds"),
        overlap_seconds=r.positive_int(c.get("overlap_seconds", 300), "crm.overlap_seconds"),
        salesforce=(
            _salesforce(checks, c["salesforce"], env) if c.get("salesforce") is not None else None
        ),
        hubspot=_hubspot(checks, c["hubspot"], env) if c.get("hubspot") is not None else None,
    )


@dataclass(frozen=True)
class _Checks:
    r: _Reader
    reasons: tuple[RejectReason, ...]
    teams: tuple[str, ...]

    def kind(self, value: Any, key: str) -> CrmKind:
        text = self.r.text(value, key).lower()
        word, _, rest = text.partition(":")
        forms = (
            "contacted:<channel>, rejected:<reason> or excluded:<reason>; channels: "
            + ", ".join(c.value for c in ContactChannel)
            + "; reasons: "
            + ", ".join(r.code for r in self.reasons)
        )
        if word == "contacted" and rest in {c.value for c in ContactChannel}:
            return CrmKind(ActionKind.CONTACTED, channel=rest)
        if word in ("rejected", "excluded"):
            if rest in {r.code for r in self.reasons}:
                return CrmKind(ActionKind(word), reason=rest)
            self.r.fail(key, f'unknown reason "{rest}" in "{value}"; expected {forms}')
        return self.r.fail(key, f'"{value}" is not a kind; expected {forms}')

    def kinds(self, raw: Any, key: str) -> dict[str, CrmKind]:
        if raw is None:
            return {}
        if not isinstance(raw, Mapping):
            self.r.fail(key, 'expected a mapping of CRM value to kind, e.g. {X: "contacted:call"}')
        return {
            self.r.text(name, key): self.kind(value, f"{key}.{name}") for name, value in raw.items()
        }

    def team(self, value: Any, key: str) -> str:
        name = self.r.text(value, key)
        if name not in self.teams:
            known = ", ".join(self.teams) or "none configured"
            self.r.fail(key, f'unknown team "{name}"; configured teams: {known}')
        return name

    def team_from(self, raw: Any, key: str) -> TeamFrom:
        if raw is None or raw == "owner":
            return TeamFrom()
        if isinstance(raw, str):
            self.r.fail(key, f'expected "owner" or {{field, map, default}}, got "{raw}"')
        t = self.r.mapping(raw, key, ("field", "map", "default"))
        field_name = self.r.text(t.get("field"), f"{key}.field") if "field" in t else None
        mapping_raw = t.get("map") or {}
        if not isinstance(mapping_raw, Mapping):
            self.r.fail(f"{key}.map", "expected a mapping of field value to team")
        if mapping_raw and field_name is None:
            self.r.fail(f"{key}.field", "a map needs the field whose value it maps")
        mapping = {str(v): self.team(team, f"{key}.map.{v}") for v, team in mapping_raw.items()}
        default = self.team(t["default"], f"{key}.default") if "default" in t else None
        return TeamFrom(field_name, mapping, default)


def _need(r: _Reader, env: Mapping[str, str], name: str, why: str) -> str:
    value = (env.get(name) or "").strip()
    if not value:
        r.fail(f"environment.{name}", f"not set; {why}")
    return value


def _salesforce(c: _Checks, raw: Any, env: Mapping[str, str]) -> SalesforceConfig:
    r, key = c.r, "crm.salesforce"
    s = r.mapping(raw, key, SALESFORCE_KEYS)
    h = r.mapping(s.get("handoff") or {}, f"{key}.handoff", ("object", "when", "at"))
    obj = r.text(h.get("object", "Lead"), f"{key}.handoff.object")
    if obj not in ("Lead", "Contact"):
        r.fail(f"{key}.handoff.object", f'expected Lead or Contact, got "{obj}"')
    when = r.text(h.get("when", SalesforceConfig.handoff_when), f"{key}.handoff.when")
    at = r.text(h["at"], f"{key}.handoff.at") if "at" in h else None
    a = r.mapping(
        s.get("actions") or {}, f"{key}.actions", ("tasks", "events", "status", "converted")
    )
    subtypes = dict(TASK_SUBTYPES)
    if a.get("tasks") is not None:
        tasks = r.mapping(a["tasks"], f"{key}.actions.tasks", ("subtypes",))
        listed = tasks.get("subtypes", list(TASK_SUBTYPES))
        if isinstance(listed, list):
            subtypes = {
                r.text(n, f"{key}.actions.tasks.subtypes[{i}]"): TASK_SUBTYPES.get(str(n), "other")
                for i, n in enumerate(listed)
            }
        elif isinstance(listed, Mapping):
            subtypes = {
                str(n): c.kind(f"contacted:{ch}", f"{key}.actions.tasks.subtypes.{n}").channel
                or "other"
                for n, ch in listed.items()
            }
        else:
            r.fail(f"{key}.actions.tasks.subtypes", "expected a list or a mapping to channels")
    w = r.mapping(s.get("write_back") or {}, f"{key}.write_back", ("task", "status"))
    headroom = s.get("api_headroom_percent", 10)
    if isinstance(headroom, bool) or not isinstance(headroom, int) or not 0 <= headroom < 100:
        r.fail(f"{key}.api_headroom_percent", f"expected a whole percent 0-99, got {headroom!r}")
    client_id = _need(r, env, "SALESFORCE_CLIENT_ID", "crm.salesforce is configured")
    username = (env.get("SALESFORCE_USERNAME") or "").strip() or None
    key_file = (env.get("SALESFORCE_PRIVATE_KEY_FILE") or "").strip() or None
    secret = (env.get("SALESFORCE_CLIENT_SECRET") or "").strip() or None
    if not ((username and key_file) or secret):
        r.fail(
            "environment.SALESFORCE_PRIVATE_KEY_FILE",
            "crm.salesforce needs SALESFORCE_USERNAME and SALESFORCE_PRIVATE_KEY_FILE (JWT "
            "bearer) or SALESFORCE_CLIENT_SECRET (client credentials)",
        )
    return SalesforceConfig(
        handoff_object=obj,
        handoff_when=when,
        handoff_at=at,
        team_from=c.team_from(s.get("team_from"), f"{key}.team_from"),
        task_subtypes=subtypes,
        events=r.boolean(a.get("events", True), f"{key}.actions.events"),
        status=c.kinds(a.get("status"), f"{key}.actions.status"),
        converted=r.boolean(a.get("converted", True), f"{key}.actions.converted"),
        write_back_task=r.boolean(w.get("task", False), f"{key}.write_back.task"),
        write_back_status=(
            r.text(w["status"], f"{key}.write_back.status") if "status" in w else None
        ),
        api_headroom_percent=headroom,
        login_url=(env.get("SALESFORCE_LOGIN_URL") or DEFAULT_LOGIN_URL).strip().rstrip("/"),
        client_id=client_id,
        username=username,
        private_key_file=key_file,
        client_secret=secret,
    )


def _hubspot(c: _Checks, raw: Any, env: Mapping[str, str]) -> HubspotConfig:
    r, key = c.r, "crm.hubspot"
    s = r.mapping(raw, key, HUBSPOT_KEYS)
    h = r.mapping(s.get("handoff") or {}, f"{key}.handoff", ("property", "value"))
    a = r.mapping(s.get("actions") or {}, f"{key}.actions", ("types", "lead_status"))
    types_raw = a.get("types", list(HUBSPOT_TYPES))
    if not isinstance(types_raw, list) or not types_raw:
        r.fail(f"{key}.actions.types", f"expected a list of {', '.join(HUBSPOT_TYPES)}")
    for i, t in enumerate(types_raw):
        if t not in HUBSPOT_TYPES:
            r.fail(
                f"{key}.actions.types[{i}]",
                f"unknown type {t!r}; expected {', '.join(HUBSPOT_TYPES)}",
            )
    w = r.mapping(s.get("write_back") or {}, f"{key}.write_back", ("engagement",))
    engagement = w.get("engagement")
    if engagement is not None and engagement not in ("call", "note"):
        r.fail(f"{key}.write_back.engagement", f"expected call or note, got {engagement!r}")
    return HubspotConfig(
        handoff_property=r.text(h.get("property", "lifecyclestage"), f"{key}.handoff.property"),
        handoff_value=r.text(h.get("value", "marketingqualifiedlead"), f"{key}.handoff.value"),
        team_from=c.team_from(s.get("team_from"), f"{key}.team_from"),
        types=tuple(dict.fromkeys(types_raw)),
        lead_status=c.kinds(a.get("lead_status"), f"{key}.actions.lead_status"),
        write_back=engagement,
        api_url=(env.get("HUBSPOT_API_URL") or DEFAULT_HUBSPOT_URL).strip().rstrip("/"),
        token=_need(r, env, "HUBSPOT_ACCESS_TOKEN", "crm.hubspot is configured"),
        client_secret=(env.get("HUBSPOT_CLIENT_SECRET") or "").strip() or None,
    )
