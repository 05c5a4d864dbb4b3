"""The sign-in's pure parts: where `next` may lead, which claims make an identity, and
the environment the dashboard refuses to start without."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import ConfigError, Environment, read_environment
from bot.web.auth import AuthConfig, auth_config, safe_next, verified_identity

BASE = "https://dashboard.example.com"
GOOD = Environment(
    oidc_issuer="https://slack.com",
    oidc_client_id="123.456",
    oidc_client_secret="client-secret-value-not-real",
    session_secret="s" * 40,
    public_base_url=BASE,
)


def stays_here(target: str) -> bool:
    """As a browser reads a Location (tabs and newlines dropped, `\\` as `/`)."""
    seen = target.replace("\t", "").replace("\n", "").replace("\r", "").replace("\\", "/")
    resolved = urlsplit(urljoin(BASE + "/", seen))
    return (
        seen.startswith("/")
        and not seen.startswith("//")
        and (resolved.scheme, resolved.netloc) == ("https", "dashboard.example.com")
    )


@given(st.text() | st.from_regex(r"\A[/\\\t\n @:%.a-z0-9]{0,12}\Z"))
def test_next_is_always_a_path_on_this_site(target: str) -> None:
    assert stays_here(safe_next(target))


@pytest.mark.parametrize(
    "target", ["/", "/reports", "/reports?team=smb&period=last-month", "/leads#top", "/a/b/c"]
)
def test_a_path_on_this_site_is_kept(target: str) -> None:
    assert safe_next(target) == target


@pytest.mark.parametrize(
    "target",
    ["//evil.example", "/\\evil.example", "https://evil.example", "javascript:x", "/\t/e", None],
)
def test_anything_else_is_the_home_page(target: str | None) -> None:
    assert safe_next(target) == "/"


def claims(**changes: Any) -> dict[str, Any]:
    base = {"sub": "U1", "email": "Ann@Example.com", "email_verified": True, "name": " Ann "}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def test_a_verified_email_makes_an_identity() -> None:
    identity = verified_identity(claims())
    assert identity is not None
    assert (identity.email, identity.name, identity.subject) == ("ann@example.com", "Ann", "U1")


@pytest.mark.parametrize(
    "changes",
    [
        {"email_verified": False},
        {"email_verified": None},  # left out
        {"email_verified": "true"},  # a string is not the boolean the spec names
        {"email": None},
        {"email": "not-an-email"},
        {"sub": None},
    ],
)
def test_no_verified_email_no_identity(changes: dict[str, Any]) -> None:
    assert verified_identity(claims(**changes)) is None


def test_the_environment_is_read_with_slack_as_the_default_issuer() -> None:
    env = read_environment(
        {
            "IGNORERATE_OIDC_CLIENT_ID": " 123.456 ",
            "IGNORERATE_OIDC_CLIENT_SECRET": "client-secret-value-not-real",
            "IGNORERATE_SESSION_SECRET": "s" * 40,
            "IGNORERATE_SESSION_MAX_AGE": "3600",
            "PUBLIC_BASE_URL": BASE + "/",
        }
    )
    config = auth_config(env)
    assert config.issuer == "https://slack.com"
    assert config.discovery_url == "https://slack.com/.well-known/openid-configuration"
    assert config.client_id == "123.456"
    assert config.redirect_uri == BASE + "/auth/callback"
    assert config.session_max_age.total_seconds() == 3600
    assert config.secure


def test_secrets_stay_out_of_repr() -> None:
    config = auth_config(GOOD)
    for shown in (repr(config), repr(GOOD)):
        assert "client-secret-value-not-real" not in shown
        assert "s" * 40 not in shown
    assert isinstance(config, AuthConfig)


@pytest.mark.parametrize(
    ("changes", "variable", "words"),
    [
        ({"session_secret": None}, "IGNORERATE_SESSION_SECRET", "does not start without it"),
        ({"session_secret": "short"}, "IGNORERATE_SESSION_SECRET", "is 5 characters"),
        ({"oidc_client_id": None}, "IGNORERATE_OIDC_CLIENT_ID", "not set"),
        ({"oidc_client_secret": None}, "IGNORERATE_OIDC_CLIENT_SECRET", "not set"),
        ({"oidc_issuer": "http://slack.com"}, "IGNORERATE_OIDC_ISSUER", "https://"),
        ({"public_base_url": ""}, "PUBLIC_BASE_URL", "/auth/callback"),
        ({"public_base_url": "http://dash.example.com"}, "PUBLIC_BASE_URL", "https://"),
    ],
)
def test_the_dashboard_refuses_to_start_without_what_it_needs(
    changes: dict[str, Any], variable: str, words: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        auth_config(replace(GOOD, **changes))
    assert caught.value.key == variable
    assert words in str(caught.value)
    assert "s" * 40 not in str(caught.value)


def test_a_session_max_age_that_is_not_whole_seconds_fails_at_start() -> None:
    with pytest.raises(ConfigError, match="IGNORERATE_SESSION_MAX_AGE"):
        read_environment({"IGNORERATE_SESSION_MAX_AGE": "8h"})
