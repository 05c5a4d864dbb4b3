"""Every HTTP door of the running bot (Slack, the handoff webhook, the one-click pages,
the chart images, Teams' outgoing webhook) reads no more of a body than it takes, and
answers every request, however malformed, without a 5xx: unsigned ones 401/403, signed
but malformed ones 400. A refused request changes nothing, leaves no traceback in the
server's log and is not counted as a listener error."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import socket
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import select

from bot.links import LinkSigner, ack_token
from storage.tables import Team
from tests.e2e.conftest import SIGNING_SECRET, Bot, running_bot
from tests.e2e.test_clicks import new_lead
from tests.security.conftest import census

pytestmark = pytest.mark.one_backend  # the database is incidental here


LINK_SECRET = "link-secret-for-the-door-tests"
OUTGOING = base64.b64encode(b"teams-outgoing-secret-for-the-door-tests").decode()
ENV = {
    "TEAMS_OUTGOING_SECRET": OUTGOING,
    "PUBLIC_BASE_URL": "https://bot.example.test",
    "IGNORERATE_LINK_SECRET": LINK_SECRET,
}
SIGNER = LinkSigner(LINK_SECRET)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def bot(database_url: str) -> Iterator[Bot]:
    with running_bot(database_url, env_extra=ENV) as running:
        yield running


@pytest.fixture
def server_log(bot: Bot) -> Iterator[_Records]:
    """What the server logs, uvicorn's own errors included (they do not reach the root
    logger)."""
    handler = _Records()
    loggers = [
        logging.getLogger(),
        logging.getLogger("uvicorn"),
        logging.getLogger("uvicorn.error"),
    ]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


def assert_no_traceback(log: _Records) -> None:
    bad = [r for r in log.records if r.exc_info or "Traceback" in r.getMessage()]
    assert bad == [], [(r.name, r.getMessage()) for r in bad]


def sample(bot: Bot, name: str, **labels: str) -> float:
    return bot.service.metrics.registry.get_sample_value(name, labels) or 0.0


def listener_errors(bot: Bot) -> float:
    return sample(bot, "ignorerate_listener_errors_total")


# ------------------------------------------------------------------ requests


def slack_signed(
    body: bytes, *, content_type: str = "application/x-www-form-urlencoded"
) -> dict[str, str]:
    ts = str(int(time.time()))
    text = body.decode("utf-8")
    signature = str(SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=ts, body=text))
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
    }


def teams_signed(body: bytes) -> dict[str, str]:
    mac = hmac.new(base64.b64decode(OUTGOING), body, hashlib.sha256).digest()
    return {
        "Authorization": f"HMAC {base64.b64encode(mac).decode()}",
        "Content-Type": "application/json",
    }


def signed_token(
    purpose: str, data: dict[str, Any], bot: Bot, ttl: timedelta = timedelta(hours=1)
) -> str:
    return SIGNER.sign(purpose, data, bot.clock.now() + ttl)


def team_id(bot: Bot) -> int:
    with bot.engine.connect() as conn:
        found = conn.execute(
            select(Team.__table__.c.id).where(Team.__table__.c.name == "enterprise")
        ).scalar_one()
    return int(found)


def deep(depth: int) -> bytes:
    return b'{"text":' + b"[" * depth + b"]" * depth + b"}"


# ------------------------------------------------------------------ 2. bodies capped


def _chunked_answer(url: str, path: str, headers: dict[str, str], send: int) -> str:
    """Sends `send` bytes of a chunked body that never ends; the server must answer on
    its own (it cannot have read to the end). Returns the status line."""
    parts = urlsplit(url)
    head = f"POST {path} HTTP/1.1\r\nHost: {parts.hostname}\r\nTransfer-Encoding: chunked\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    with socket.create_connection((parts.hostname or "", parts.port or 80), timeout=10) as sock:
        sock.sendall(head.encode("latin-1"))
        chunk = b"%x\r\n%s\r\n" % (16384, b"a" * 16384)
        try:
            for _ in range(send // 16384 + 1):
                sock.sendall(chunk)
        except OSError:
            pass  # the server answered and closed: it read no further
        answer = b""
        try:
            while b"\r\n" not in answer:
                got = sock.recv(4096)
                if not got:
                    break
                answer += got
        except TimeoutError:
            raise AssertionError(f"{path}: no answer while the body was still being sent") from None
    return answer.split(b"\r\n", 1)[0].decode("latin-1")


def test_a_chunked_body_over_the_cap_is_refused_before_its_end_at_every_door(
    bot: Bot, server_log: _Records
) -> None:
    lead_id = new_lead(bot, "CAP-1")
    token = ack_token(SIGNER, lead_id, None, bot.clock.now())
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    doors = [
        ("/teams/outgoing", {"Content-Type": "application/json"}, 64 * 1024),
        ("/hooks/handoff", {"Content-Type": "application/json"}, 1024 * 1024),
        ("/hooks/action", {"Content-Type": "application/json"}, 1024 * 1024),
        ("/slack/events", form, 1024 * 1024),
        (f"/ack/{token}", form, 10 * 1024),
    ]
    before = census(bot.engine)
    for path, headers, cap in doors:
        status = _chunked_answer(bot.url, path, headers, 3 * cap)
        assert status.split(" ")[1] == "413", (path, status)
    assert census(bot.engine) == before
    assert listener_errors(bot) == 0
    assert_no_traceback(server_log)


def test_a_client_that_leaves_mid_body_leaves_no_traceback_at_any_door(
    bot: Bot, server_log: _Records
) -> None:
    """A body cut off (a chunked one left half-sent, or shorter than it declared) ends the
    request quietly: nobody is there to answer, and nothing is half-stored."""
    lead_id = new_lead(bot, "CUT-1")
    token = ack_token(SIGNER, lead_id, None, bot.clock.now())
    parts = urlsplit(bot.url)
    before = census(bot.engine)
    paths = ("/teams/outgoing", "/hooks/handoff", "/hooks/action", "/slack/events")
    for path in (*paths, f"/ack/{token}"):
        for framing in (
            "Transfer-Encoding: chunked\r\n\r\n10\r\nabc",
            "Content-Length: 50\r\n\r\nabc",
        ):
            head = f"POST {path} HTTP/1.1\r\nHost: {parts.hostname}\r\n{framing}"
            with socket.create_connection((parts.hostname or "", parts.port or 80), 10) as sock:
                sock.sendall(head.encode("latin-1"))
                time.sleep(0.2)  # let the server start reading before the client leaves
    assert httpx.get(f"{bot.url}/healthz").status_code == 200  # and it serves on
    assert census(bot.engine) == before
    assert listener_errors(bot) == 0
    assert_no_traceback(server_log)


# ------------------------------------------------------------------ 3. never a 500


def test_each_reported_request_is_refused_without_a_500_and_changes_nothing(
    bot: Bot, server_log: _Records
) -> None:
    lead_id = new_lead(bot, "NAMED-1")
    good = ack_token(SIGNER, lead_id, None, bot.clock.now())
    chart = signed_token("chart", {"t": team_id(bot), "w": "2026-W47"}, bot)
    huge = 10**30
    now = str(int(time.time()))
    cases: list[tuple[str, str, dict[str, Any], set[int]]] = [
        # (method, path, request options, statuses allowed)
        (
            "POST",
            "/hooks/handoff",
            {
                "content": b"{}",
                "headers": {
                    "Content-Type": "application/json",
                    "X-Ignorerate-Timestamp": "9" * 400,
                    "X-Ignorerate-Signature": "v0=00",
                },
            },
            {401},
        ),
        (
            "POST",
            "/hooks/action",
            {
                "content": b"{}",
                "headers": {
                    "Content-Type": "application/json",
                    "X-Ignorerate-Timestamp": "9" * 400,
                    "X-Ignorerate-Signature": "v0=00",
                    "Authorization": "Bearer \xe9\xe9".encode("latin-1"),
                },
            },
            {401},
        ),
        (
            "POST",
            "/slack/events",
            {
                "content": b"payload=%7B%7D",
                "headers": {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "X-Slack-Request-Timestamp": "9" * 400,
                    "X-Slack-Signature": "v0=00",
                },
            },
            {401},
        ),
        (
            "POST",
            "/slack/events",
            {
                "content": b"payload=%7B%7D",
                "headers": {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "X-Slack-Request-Timestamp": now,
                    "X-Slack-Signature": "v0=\xe9\xe9".encode("latin-1"),
                },
            },
            {401},
        ),
        ("GET", f"/ack/{good.split('.')[0]}.{quote('é')}", {}, {403}),
        ("POST", f"/ack/{good.split('.')[0]}.{quote('é')}", {}, {403}),
        ("GET", f"/charts/{chart.split('.')[0]}.{quote('é')}.png", {}, {403}),
        (
            "POST",
            "/teams/outgoing",
            {"content": b"{}", "headers": {"Authorization": "HMAC \xe9\xe9".encode("latin-1")}},
            {401},
        ),
        (
            "POST",
            "/slack/events",
            {"content": b"payload=notjson", "headers": slack_signed(b"payload=notjson")},
            {400},
        ),
        (
            "POST",
            "/slack/events",
            {"content": b"payload=[1]", "headers": slack_signed(b"payload=[1]")},
            {400},
        ),
        (
            "POST",
            "/slack/events",
            {"content": b"[1]", "headers": slack_signed(b"[1]", content_type="application/json")},
            {400},
        ),
        (
            "POST",
            "/slack/events",
            {
                "content": deep(50000),
                "headers": slack_signed(deep(50000), content_type="application/json"),
            },
            {400},
        ),
        (
            "POST",
            "/teams/outgoing",
            {"content": deep(20000), "headers": teams_signed(deep(20000))},
            {400},
        ),
        ("POST", "/teams/outgoing", {"content": b"[1]", "headers": teams_signed(b"[1]")}, {400}),
        (
            "POST",
            "/teams/outgoing",
            {"content": b"\xff{}", "headers": teams_signed(b"\xff{}")},
            {400},
        ),
        ("GET", f"/ack/{signed_token('ack', {'l': huge, 'r': None}, bot)}", {}, {403}),
        ("POST", f"/ack/{signed_token('ack', {'l': 2**63, 'r': None}, bot)}", {}, {403}),
        ("GET", f"/ack/{signed_token('ack', {'l': lead_id, 'r': huge}, bot)}", {}, {403}),
        (
            "GET",
            f"/charts/{signed_token('chart', {'t': huge, 'w': '2026-W47'}, bot)}.png",
            {},
            {403},
        ),
        (
            "GET",
            f"/charts/{signed_token('chart', {'t': team_id(bot), 'w': '9999-W52'}, bot)}.png",
            {},
            {400},
        ),
        (
            "GET",
            f"/charts/{signed_token('chart', {'t': team_id(bot), 'w': '0001-W01'}, bot)}.png",
            {},
            {400},
        ),
    ]
    expired = SIGNER.sign("ack", {"l": huge, "r": None}, bot.clock.now() - timedelta(seconds=1))
    cases.append(("GET", f"/ack/{expired}", {}, {410}))
    for method, path, options, allowed in cases:
        before = census(bot.engine)
        answer = bot.http.request(method, f"{bot.url}{path}", **options)
        assert answer.status_code in allowed, (
            method,
            path[:80],
            answer.status_code,
            answer.text[:200],
        )
        assert "Traceback" not in answer.text
        assert census(bot.engine) == before, (method, path[:80])
    assert listener_errors(bot) == 0
    assert_no_traceback(server_log)


@pytest.mark.parametrize(
    "change",
    [
        {"user_id": None},
        {"channel_id": None},
        {"response_url": None},
        {"response_url": "/ignorerate"},
        {"response_url": "C0123ABCD"},
        {"user_id": ""},
    ],
)
def test_a_signed_command_without_what_slack_always_sends_is_400(
    bot: Bot, server_log: _Records, change: dict[str, str | None]
) -> None:
    """A slash command lacking its user, channel or response URL was answered 200 and its
    listener then failed in the background ("Failed to run an internal function")."""
    fields = {
        "command": "/ignorerate",
        "text": "last-month",
        "user_id": "UA",
        "channel_id": "CELSEWHERE",
        "response_url": f"{bot.slack.url}/response/commands/0",
        "team_id": "T0001",
    }
    for key, value in change.items():
        if value is None:
            del fields[key]
        else:
            fields[key] = value
    answer = bot.slack_post(urlencode(fields), "application/x-www-form-urlencoded")
    assert answer.status_code == 400, answer.text
    assert listener_errors(bot) == 0
    failed = [r for r in server_log.records if r.levelno >= logging.ERROR]
    assert failed == [], [r.getMessage() for r in failed]


@pytest.mark.parametrize("user", [None, {}, {"id": ""}, {"name": "x"}, "UA"])
def test_a_signed_click_by_nobody_is_400_and_records_nothing(
    bot: Bot, server_log: _Records, user: object
) -> None:
    lead_id = new_lead(bot, "NOBODY-1")
    payload = bot.click_payload("UA", "lead.contacted.call", value=str(lead_id))
    if user is None:
        del payload["user"]
    else:
        payload["user"] = user
    before = census(bot.engine)
    assert bot.interact(payload).status_code == 400
    assert census(bot.engine) == before
    assert listener_errors(bot) == 0
    assert [r for r in server_log.records if r.levelno >= logging.ERROR] == []


# what a header value can carry over HTTP/1.1: no control characters, no edge blanks
HEADER = st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=80)


@settings(max_examples=40)
@given(
    sent=st.tuples(
        HEADER | st.integers(0, 10**400).map(str) | st.sampled_from(["١٢٣", "0x10"]),
        HEADER,
        HEADER | st.sampled_from(["application/json", "application/x-www-form-urlencoded"]),
    ),
    body=st.binary(max_size=200),
)
def test_any_unsigned_request_to_a_signed_door_is_refused_401(
    bot: Bot, server_log: _Records, sent: tuple[str, str, str], body: bytes
) -> None:
    """Any timestamp (hundreds of digits, other scripts' digits), any signature and
    content type: 401 at the Slack door, the webhooks and Teams' outgoing webhook."""
    timestamp, signature, content_type = sent
    before = census(bot.engine)
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
        "X-Ignorerate-Timestamp": timestamp,
        "X-Ignorerate-Signature": signature,
        "Authorization": f"HMAC {signature}",
    }
    encoded = [(k.encode(), v.strip().encode("utf-8")) for k, v in headers.items()]
    for path in ("/slack/events", "/hooks/handoff", "/hooks/action", "/teams/outgoing"):
        answer = bot.http.post(f"{bot.url}{path}", content=body, headers=encoded)
        assert answer.status_code == 401, (path, answer.status_code, answer.text[:200])
    assert census(bot.engine) == before
    assert listener_errors(bot) == 0
    assert_no_traceback(server_log)


def _containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    # a named function: hypothesis reads an `extend` lambda's source to check that it uses
    # its argument, and misread this one (split over lines) in some orders of the suite
    return st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3)


JSONISH: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(10**18, 10**40) | st.text(max_size=20),
    _containers,
    max_leaves=10,
)
SLACK_KEYS = st.sampled_from(
    ["type", "actions", "user", "team", "authorizations", "event", "command", "view", "enterprise"]
)
SLACK_OBJECT = st.dictionaries(SLACK_KEYS, JSONISH, max_size=4)


@settings(max_examples=40)
@given(
    kind=st.sampled_from(["payload", "json", "form", "raw"]),
    data=JSONISH | SLACK_OBJECT,
    raw=st.text(max_size=60),
)
def test_any_signed_slack_body_is_answered_without_a_500(
    bot: Bot, server_log: _Records, kind: str, data: Any, raw: str
) -> None:
    if kind == "payload":
        text, content_type = (
            urlencode({"payload": json.dumps(data)}),
            "application/x-www-form-urlencoded",
        )
    elif kind == "json":
        text, content_type = json.dumps(data), "application/json"
    elif kind == "form":
        text, content_type = raw, "application/x-www-form-urlencoded"
    else:
        text, content_type = raw, "text/plain"
    body = text.encode("utf-8", "surrogatepass")
    if not _utf8(body):
        return
    before = census(bot.engine)
    answer = bot.http.post(
        f"{bot.url}/slack/events",
        content=body,
        headers=slack_signed(body, content_type=content_type),
    )
    assert answer.status_code < 500, (answer.status_code, text[:200])
    assert census(bot.engine) == before
    assert listener_errors(bot) == 0
    assert_no_traceback(server_log)


def _utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@settings(max_examples=40)
@given(
    data=JSONISH
    | st.dictionaries(st.sampled_from(["text", "conversation", "from"]), JSONISH, max_size=3)
)
def test_any_signed_teams_activity_is_answered_without_a_500(
    bot: Bot, server_log: _Records, data: Any
) -> None:
    body = json.dumps(data).encode("utf-8", "surrogatepass")
    answer = bot.http.post(f"{bot.url}/teams/outgoing", content=body, headers=teams_signed(body))
    assert answer.status_code in (200, 400), (answer.status_code, answer.text[:200])
    assert_no_traceback(server_log)


@settings(max_examples=40)
@given(
    token=st.text(max_size=60),
    data=st.dictionaries(st.sampled_from(["l", "r", "t", "w"]), JSONISH, max_size=3),
    purpose=st.sampled_from(["ack", "chart"]),
)
def test_any_link_token_signed_or_not_is_answered_without_a_500(
    bot: Bot, server_log: _Records, token: str, data: dict[str, Any], purpose: str
) -> None:
    before = census(bot.engine)
    signed = signed_token(purpose, data, bot)
    for path in (
        f"/ack/{quote(token, safe='')}",
        f"/charts/{quote(token, safe='')}.png",
        f"/ack/{signed}",
        f"/charts/{signed}.png",
    ):
        for method in ("GET", "POST"):
            if method == "POST" and path.startswith("/charts"):
                continue
            answer = bot.http.request(method, f"{bot.url}{path}")
            assert answer.status_code < 500, (method, path[:80], answer.status_code)
    assert census(bot.engine) == before
    assert_no_traceback(server_log)


# ------------------------------------------------------------------ 10. /metrics


def test_metrics_need_the_bearer_token_when_one_is_set(database_url: str) -> None:
    token = "metrics-token-for-tests"
    with running_bot(database_url, env_extra={"IGNORERATE_METRICS_TOKEN": token}) as bot:
        url = f"{bot.url}/metrics"
        authorizations: list[bytes | None] = [
            None,
            b"Bearer wrong",
            f"Basic {token}".encode(),
            "Bearer \xe9".encode("latin-1"),
        ]
        for authorization in authorizations:
            headers = {} if authorization is None else {b"Authorization": authorization}
            refused = bot.http.get(url, headers=headers)
            assert refused.status_code == 401, authorization
            assert refused.headers["www-authenticate"].startswith("Bearer")
            assert "ignorerate_" not in refused.text
        allowed = bot.http.get(url, headers={"Authorization": f"Bearer {token}"})
        assert allowed.status_code == 200
        assert "ignorerate_handoffs_total" in allowed.text
        assert bot.http.get(f"{bot.url}/healthz").status_code == 200


def test_metrics_are_open_when_no_token_is_set(bot: Bot) -> None:
    assert bot.http.get(f"{bot.url}/metrics").status_code == 200


# ------------------------------------------------------------------ clicks


CLICK_IDS = st.sampled_from(
    ["lead.contacted.call", "lead.take", "lead.reject", "lead.snooze", "lead.reassign"]
)
VALUES = JSONISH | st.from_regex(r"-?[0-9]{1,25}(:[0-9]{0,20})?", fullmatch=True)


@settings(max_examples=30)
@given(
    action_id=CLICK_IDS,
    extra=st.fixed_dictionaries(
        {
            "value": VALUES,
            "selected_option": st.fixed_dictionaries({"value": VALUES}),
            "block_id": VALUES,
            "selected_user": VALUES,
        }
    ),
)
def test_any_signed_click_value_is_answered_privately_without_an_error(
    bot: Bot, server_log: _Records, action_id: str, extra: dict[str, Any]
) -> None:
    """No lead exists, so every click, whatever it carries, records nothing and tells the
    clicker exactly one thing privately (why nothing was recorded)."""
    told = len(bot.slack.called("chat.postEphemeral"))
    payload = bot.click_payload("UA", action_id, extra=extra)
    assert bot.interact(payload).status_code == 200
    bot.slack.wait_for("chat.postEphemeral", count=told + 1)
    assert census(bot.engine).actions == 0
    assert listener_errors(bot) == 0
    assert_no_traceback(server_log)


# ------------------------------------------------------------------ one-click forms


FORM_KEYS = st.sampled_from(["choice", "reason", "actor", "csrf"]) | st.text(max_size=6)
FORM_VALUES = st.sampled_from(["contacted:call", "snooze:60", "reject", "not_a_fit"]) | st.text(
    max_size=30
)


@pytest.fixture
def form_lead(bot: Bot) -> int:
    return new_lead(bot, "FORM-1")


@settings(max_examples=25)
@given(
    fields=st.lists(st.tuples(FORM_KEYS, FORM_VALUES), max_size=6),
    with_csrf=st.booleans(),
    sent=st.tuples(
        st.sampled_from(["application/x-www-form-urlencoded", "multipart/form-data"]) | HEADER,
        st.binary(max_size=100) | st.none(),
    ),
)
def test_any_one_click_form_is_answered_without_a_500(
    bot: Bot,
    form_lead: int,
    fields: list[tuple[str, str]],
    with_csrf: bool,
    sent: tuple[str, bytes | None],
) -> None:
    """Missing, repeated or unknown fields, wrong content types and bytes that are no form:
    the page answers 2xx or 4xx, never 5xx; at most the one action a link allows."""
    content_type, raw = sent
    url = f"{bot.url}/ack/{ack_token(SIGNER, form_lead, None, bot.clock.now())}"
    with httpx.Client(timeout=10) as browser:
        page = browser.get(url)
        assert page.status_code == 200
        csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        form = [*fields, ("csrf", csrf)] if with_csrf else fields
        body = raw if raw is not None else urlencode(form).encode()
        answer = browser.post(
            url, content=body, headers={b"Content-Type": content_type.strip().encode()}
        )
    assert answer.status_code < 500, (answer.status_code, answer.text[:200])
    assert "Traceback" not in answer.text
    assert census(bot.engine).actions <= 1
    assert listener_errors(bot) == 0
