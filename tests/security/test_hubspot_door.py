"""`POST /hooks/hubspot` over real HTTP: a request signed as HubSpot signs (v3) wakes the
sync; a forged, stale, unsigned or malformed one is refused and wakes nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from starlette.applications import Starlette

from bot.clock import FixedClock
from bot.crm.hubspot import hubspot_routes
from bot.crm.hubspot_door import MAX_BODY
from bot.crmconfig import HubspotConfig
from tests.fake_hubspot import CLIENT_SECRET, TOKEN
from tests.fakes import serve

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
PUBLIC = "https://bot.example.com"
EVENTS = [
    {
        "eventId": 1,
        "subscriptionType": "contact.propertyChange",
        "objectId": 1001,
        "propertyName": "lifecyclestage",
        "propertyValue": "marketingqualifiedlead",
        "occurredAt": 1793581200000,
    },
    {"eventId": 2, "subscriptionType": "call.creation", "objectId": 2001},
]
CONFIG = HubspotConfig(token=TOKEN, client_secret=CLIENT_SECRET)


class Door:
    def __init__(self, url: str, woken: list[int]) -> None:
        self.url = url
        self.woken = woken


def served(config: HubspotConfig, base_url: str | None = PUBLIC) -> Iterator[Door]:
    woken: list[int] = []
    routes = hubspot_routes(
        config, clock=FixedClock(T0), wake=lambda: woken.append(1), base_url=base_url
    )
    with serve(Starlette(routes=routes)) as url:
        yield Door(url, woken)


@pytest.fixture
def door() -> Iterator[Door]:
    yield from served(CONFIG)


def sign(uri: str, body: bytes, stamp: str, secret: str = CLIENT_SECRET) -> str:
    """HubSpot's v3 signature, written out here from its documentation."""
    source = b"POST" + uri.encode() + body + stamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), source, hashlib.sha256).digest()).decode()


def post(
    door: Door,
    body: bytes,
    *,
    signed_as: str | None = None,
    stamp: datetime = T0,
    secret: str = CLIENT_SECRET,
    query: str = "",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    path = "/hooks/hubspot" + (f"?{query}" if query else "")
    ms = str(int(stamp.timestamp() * 1000))
    uri = signed_as if signed_as is not None else PUBLIC + path
    sent = {
        "Content-Type": "application/json",
        "X-HubSpot-Signature-v3": sign(uri, body, ms, secret),
        "X-HubSpot-Request-Timestamp": ms,
    }
    if headers is not None:
        sent = headers
    return httpx.post(door.url + path, content=body, headers=sent, timeout=10)


def test_a_signed_request_wakes_the_sync(door: Door, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    answer = post(door, json.dumps(EVENTS).encode())
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"ok": True, "events": 2}
    assert door.woken == [1]
    assert CLIENT_SECRET not in caplog.text


def test_the_signed_uri_has_the_query_and_hubspot_s_decoded_escapes(door: Door) -> None:
    body = json.dumps(EVENTS[:1]).encode()
    signed = f"{PUBLIC}/hooks/hubspot?portal=62515&from=a:b,c"  # as HubSpot signs it
    answer = post(door, body, signed_as=signed, query="portal=62515&from=a%3Ab%2Cc")
    assert answer.status_code == 200, answer.text
    assert door.woken == [1]


def test_without_a_public_url_the_url_called_is_signed() -> None:
    for door in served(CONFIG, base_url=None):
        body = json.dumps(EVENTS).encode()
        assert post(door, body, signed_as=door.url + "/hooks/hubspot").status_code == 200
        assert post(door, body).status_code == 401  # the public URL is not what was called
        assert door.woken == [1]


@pytest.mark.parametrize(
    ("case", "stamp", "secret", "tamper"),
    [
        ("forged", T0, "another-secret", False),
        ("stale", T0 - timedelta(minutes=5, seconds=1), CLIENT_SECRET, False),
        ("from the future", T0 + timedelta(minutes=5, seconds=1), CLIENT_SECRET, False),
        ("body changed after signing", T0, CLIENT_SECRET, True),
    ],
)
def test_forged_or_stale_requests_are_refused_and_wake_nothing(
    door: Door, case: str, stamp: datetime, secret: str, tamper: bool
) -> None:
    body = json.dumps(EVENTS).encode()
    ms = str(int(stamp.timestamp() * 1000))
    headers = {
        "X-HubSpot-Signature-v3": sign(PUBLIC + "/hooks/hubspot", body, ms, secret),
        "X-HubSpot-Request-Timestamp": ms,
    }
    sent = body.replace(b"1001", b"1002") if tamper else body
    answer = post(door, sent, headers=headers)
    assert answer.status_code == 401, case
    assert door.woken == []


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-HubSpot-Request-Timestamp": "1793581200000"},
        {"X-HubSpot-Signature-v3": "abc="},
        {"X-HubSpot-Signature-v3": "abc=", "X-HubSpot-Request-Timestamp": "yesterday"},
        {"X-HubSpot-Signature-v3": "abc=", "X-HubSpot-Request-Timestamp": "9" * 40},
    ],
)
def test_unsigned_requests_are_refused(door: Door, headers: dict[str, str]) -> None:
    answer = post(door, json.dumps(EVENTS).encode(), headers=headers)
    assert answer.status_code == 401
    assert "error" in answer.json()
    assert door.woken == []


@pytest.mark.parametrize("body", [b"not json", b'{"events": []}', b"[1, 2]"])
def test_a_signed_body_that_is_no_event_array_is_refused_and_wakes_nothing(
    door: Door, body: bytes
) -> None:
    answer = post(door, body)
    assert answer.status_code == 400
    assert "array of event objects" in answer.json()["error"]
    assert door.woken == []


def test_a_body_over_the_cap_is_refused(door: Door) -> None:
    answer = post(door, b"[" + b" " * MAX_BODY + b"]")
    assert answer.status_code == 413
    assert door.woken == []


def test_without_a_client_secret_the_door_is_off() -> None:
    for door in served(replace(CONFIG, client_secret=None)):
        answer = post(door, json.dumps(EVENTS).encode())
        assert answer.status_code == 503
        assert answer.json()["error"].startswith("off")
        assert door.woken == []
