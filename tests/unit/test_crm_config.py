"""The `crm:` section: what it reads, and every mistake stopping the start with its key
path (an unknown kind, reason or team; a configured CRM without its credentials)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.config import ConfigError, parse_settings
from bot.crmconfig import CrmKind, TeamFrom
from metrics.model import ActionKind

SF_ENV = {"SALESFORCE_CLIENT_ID": "3MVG9-client", "SALESFORCE_CLIENT_SECRET": "s" * 32}
HS_ENV = {"HUBSPOT_ACCESS_TOKEN": "pat-na1-" + "x" * 36}
TEAMS = [
    {"name": "enterprise", "sla": {"minutes": 60}, "reps": ["a@example.com"]},
    {"name": "smb", "sla": {"minutes": 60}},
]


def parse(crm: Any, env: dict[str, str] | None = None) -> Any:
    raw = {"teams": TEAMS, "crm": crm}
    return parse_settings(raw, "ignorerate.yml", env=env if env is not None else SF_ENV | HS_ENV)


def refused(crm: Any, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as err:
        parse(crm, env)
    return str(err.value)


def test_the_issue_s_example_reads_as_written() -> None:
    settings = parse(
        {
            "poll_seconds": 60,
            "salesforce": {
                "handoff": {
                    "object": "Lead",
                    "when": "Status = 'Marketing Qualified'",
                    "at": "MQL_Date__c",
                },
                "team_from": {"field": "Region__c", "map": {"APAC": "enterprise", "NA": "smb"}},
                "actions": {
                    "tasks": {"subtypes": ["Call", "Email"]},
                    "events": True,
                    "status": {
                        "Working - Contacted": "contacted:other",
                        "Unqualified": "rejected:not_a_fit",
                        "Duplicate": "excluded:duplicate",
                    },
                },
                "write_back": {"task": True, "status": "Working - Contacted"},
            },
            "hubspot": {
                "handoff": {"property": "lifecyclestage", "value": "marketingqualifiedlead"},
                "actions": {
                    "types": ["calls", "emails", "meetings"],
                    "lead_status": {"UNQUALIFIED": "rejected:not_a_fit"},
                },
                "write_back": {"engagement": "call"},
            },
        }
    )
    sf, hs = settings.crm.salesforce, settings.crm.hubspot
    assert settings.crm.configured == ("salesforce", "hubspot")
    assert sf.handoff_at == "MQL_Date__c"
    assert sf.team_from == TeamFrom("Region__c", {"APAC": "enterprise", "NA": "smb"})
    assert dict(sf.task_subtypes) == {"Call": "call", "Email": "email"}
    assert sf.status["Unqualified"] == CrmKind(ActionKind.REJECTED, reason="not_a_fit")
    assert sf.status["Duplicate"] == CrmKind(ActionKind.EXCLUDED, reason="duplicate")
    assert sf.status["Working - Contacted"] == CrmKind(ActionKind.CONTACTED, channel="other")
    assert sf.write_back_task
    assert sf.client_secret == SF_ENV["SALESFORCE_CLIENT_SECRET"]
    assert sf.login_url == "https://login.salesforce.com"
    assert hs.lead_status["UNQUALIFIED"].reason == "not_a_fit"
    assert hs.write_back == "call"
    assert hs.token == HS_ENV["HUBSPOT_ACCESS_TOKEN"]


def test_no_crm_section_configures_none() -> None:
    settings = parse_settings({"teams": TEAMS}, "ignorerate.yml", env={})
    assert settings.crm.configured == ()


@pytest.mark.parametrize(
    ("crm", "path", "says"),
    [
        (
            {"salesforce": {"actions": {"status": {"Junk": "rejected:spam"}}}},
            "crm.salesforce.actions.status.Junk",
            'unknown reason "spam"',
        ),
        (
            {"salesforce": {"actions": {"status": {"Junk": "ignored"}}}},
            "crm.salesforce.actions.status.Junk",
            "is not a kind",
        ),
        (
            {"salesforce": {"actions": {"status": {"X": "contacted:pigeon"}}}},
            "crm.salesforce.actions.status.X",
            "channels: call, email, meeting, message, other",
        ),
        (
            {"hubspot": {"actions": {"lead_status": {"BAD": "excluded:nope"}}}},
            "crm.hubspot.actions.lead_status.BAD",
            'unknown reason "nope"',
        ),
        (
            {"salesforce": {"team_from": {"field": "Region__c", "map": {"EU": "emea"}}}},
            "crm.salesforce.team_from.map.EU",
            'unknown team "emea"; configured teams: enterprise, smb',
        ),
        (
            {"hubspot": {"team_from": {"default": "nobody"}}},
            "crm.hubspot.team_from.default",
            'unknown team "nobody"',
        ),
        ({"hubspot": {"actions": {"types": ["faxes"]}}}, "crm.hubspot.actions.types[0]", "faxes"),
        ({"salesforce": {"handoff": {"object": "Account"}}}, "crm.salesforce.handoff.object", ""),
        ({"salesforce": {"token": "x"}}, "crm.salesforce.token", "environment"),
        ({"zoho": {}}, "crm.zoho", "unknown key"),
        ({"poll_seconds": 0}, "crm.poll_seconds", "positive integer"),
    ],
)
def test_a_mistake_names_its_key_path(crm: Any, path: str, says: str) -> None:
    message = refused(crm)
    assert f"ignorerate.yml: {path}: " in message
    assert says in message


@pytest.mark.parametrize(
    ("crm", "env", "variable"),
    [
        ({"salesforce": {}}, {}, "SALESFORCE_CLIENT_ID"),
        (
            {"salesforce": {}},
            {"SALESFORCE_CLIENT_ID": "cid", "SALESFORCE_USERNAME": "bot@example.com"},
            "SALESFORCE_PRIVATE_KEY_FILE",
        ),
        ({"hubspot": {}}, {}, "HUBSPOT_ACCESS_TOKEN"),
        ({"hubspot": {}}, {"HUBSPOT_ACCESS_TOKEN": "  "}, "HUBSPOT_ACCESS_TOKEN"),
    ],
)
def test_a_configured_crm_without_credentials_stops_the_start(
    crm: Any, env: dict[str, str], variable: str
) -> None:
    message = refused(crm, env)
    assert variable in message
    for secret in (*SF_ENV.values(), *HS_ENV.values()):
        assert secret not in message


def test_jwt_bearer_needs_the_username_and_the_key_file() -> None:
    env = {
        "SALESFORCE_CLIENT_ID": "cid",
        "SALESFORCE_USERNAME": "integration@example.com",
        "SALESFORCE_PRIVATE_KEY_FILE": "/run/secrets/sf.key",
        "SALESFORCE_LOGIN_URL": "https://test.salesforce.com/",
    }
    sf = parse({"salesforce": {}}, env).crm.salesforce
    assert (sf.username, sf.private_key_file, sf.client_secret) == (
        "integration@example.com",
        "/run/secrets/sf.key",
        None,
    )
    assert sf.login_url == "https://test.salesforce.com"


def test_secrets_stay_out_of_the_settings_repr() -> None:
    settings = parse({"salesforce": {}, "hubspot": {}})
    text = repr(settings)
    for secret in (*SF_ENV.values(), *HS_ENV.values()):
        assert secret not in text
