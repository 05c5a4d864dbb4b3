"""schemathesis generates handoffs and actions from docs/openapi.yml, positive and
negative; each is signed over its exact bytes and posted to the running bot, which must
never answer 5xx and must answer every request in the shape the document promises.

Beyond the shapes, `handoff_contract` and `action_contract` check what the document says
in words: every item of the request is answered once (accepted or refused, by its index);
a key the schema forbids is never accepted; a repeat of an earlier item names it; no
accepted item lies outside the supported instants; an accepted action is of a kind the
document lists, about a lead handed off, not before its handoff; a body not sent as
application/json is 415."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import schemathesis
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from schemathesis.checks import CheckContext, not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from bot.app.fields import ACTION_KINDS
from metrics.instants import is_supported
from tests.e2e.conftest import Bot, sign_webhook
from tests.e2e.test_action_webhook import action
from tests.e2e.test_thin_path import lead

SPEC = Path(__file__).resolve().parents[2] / "docs" / "openapi.yml"
HANDOFF = schemathesis.openapi.from_path(SPEC)["/hooks/handoff"]["POST"]
ACTION = schemathesis.openapi.from_path(SPEC)["/hooks/action"]["POST"]
SCHEMAS = yaml.safe_load(SPEC.read_text(encoding="utf-8"))["components"]["schemas"]
LEAD_KEYS = frozenset(SCHEMAS["Lead"]["properties"])
ACTION_KEYS = frozenset(SCHEMAS["Action"]["properties"])
CASES = st.one_of(
    HANDOFF.as_strategy(GenerationMode.POSITIVE), HANDOFF.as_strategy(GenerationMode.NEGATIVE)
)
ACTION_CASES = st.one_of(
    ACTION.as_strategy(GenerationMode.POSITIVE), ACTION.as_strategy(GenerationMode.NEGATIVE)
)
MEDIA_TYPES = st.sampled_from(["application/json", "application/json; charset=utf-8"]) | (
    st.sampled_from(["text/plain", "application/x-www-form-urlencoded", "application/xml", ""])
)


def _items(body: Any, key: str = "leads") -> list[Any] | None:
    """The request's items as the document reads it; None for a body of no accepted shape."""
    if isinstance(body, dict) and key in body:
        items = body[key]
        if set(body) != {key} or not isinstance(items, list):
            return None
        return items
    return [body] if isinstance(body, dict) else None


def handoff_contract(_ctx: CheckContext, response: Any, case: Any) -> bool | None:
    sent = response.request.headers.get("content-type", "")
    if sent.split(";")[0].strip() != "application/json":
        assert response.status_code == 415, (sent, response.status_code)
        return None
    if response.status_code not in (202, 400):
        return None
    answer = response.json()
    items = _items(case.body)
    if items is None or not 1 <= len(items) <= 500:
        assert response.status_code == 400, "a body of no accepted shape was accepted"
        assert answer["accepted"] == [], answer
        assert answer["refused"] == [], answer
        return None
    accepted, refused = answer["accepted"], answer["refused"]
    indexes = sorted([a["index"] for a in accepted] + [r["index"] for r in refused])
    if indexes:  # a whole-body refusal (e.g. an item that is not an object) lists none
        assert indexes == list(range(len(items))), indexes
    assert response.status_code == (400 if refused or not indexes else 202)
    first: dict[tuple[str, str], dict[str, Any]] = {}
    for item in accepted:
        sent_item = items[item["index"]]
        forbidden = set(sent_item) - LEAD_KEYS
        assert not forbidden, f"item {item['index']} accepted with forbidden keys {forbidden}"
        moment = datetime.fromisoformat(str(sent_item["handed_off_at"]).strip())
        assert is_supported(moment), f"item {item['index']} accepted at {moment}"
        key = (item["source"], item["external_id"])
        if key in first:
            assert item.get("repeat_of") == first[key]["index"], item
            assert item["id"] == first[key]["id"], item
        else:
            assert "repeat_of" not in item, item
            first[key] = item
    return None


# the leads an action of the examples may be about, handed off before each is posted
KNOWN_LEADS = ("C-1", "C-2", "C-3")
HANDED_OFF = datetime.fromisoformat(lead("C-1")["handed_off_at"])


def action_contract(_ctx: CheckContext, response: Any, case: Any) -> bool | None:
    sent = response.request.headers.get("content-type", "")
    if sent.split(";")[0].strip() != "application/json":
        assert response.status_code == 415, (sent, response.status_code)
        return None
    if response.status_code not in (202, 400):
        return None
    answer = response.json()
    items = _items(case.body, "actions")
    if items is None or not 1 <= len(items) <= 500:
        assert response.status_code == 400, "a body of no accepted shape was accepted"
        assert answer["accepted"] == [], answer
        assert answer["refused"] == [], answer
        return None
    accepted, refused = answer["accepted"], answer["refused"]
    indexes = sorted([a["index"] for a in accepted] + [r["index"] for r in refused])
    assert indexes == list(range(len(items))), indexes
    assert response.status_code == (400 if refused else 202)
    first: dict[int, dict[str, Any]] = {}  # an action's id -> its first item's answer
    for item in accepted:
        sent_item = items[item["index"]]
        forbidden = set(sent_item) - ACTION_KEYS
        assert not forbidden, f"item {item['index']} accepted with forbidden keys {forbidden}"
        assert str(sent_item["kind"]).strip().lower() in ACTION_KINDS, item
        assert item["kind"] == str(sent_item["kind"]).strip().lower(), item
        assert (item["source"], item["external_id"]) in {("webinar", e) for e in KNOWN_LEADS}
        moment = datetime.fromisoformat(str(sent_item["at"]).strip())
        assert is_supported(moment), f"item {item['index']} accepted at {moment}"
        assert moment >= HANDED_OFF, f"item {item['index']} accepted before its handoff"
        if item["id"] in first:
            assert item.get("repeat_of") == first[item["id"]]["index"], item
            assert item["new"] == first[item["id"]]["new"], item
        else:
            assert "repeat_of" not in item, item
            first[item["id"]] = item
    return None


def _case(body: Any) -> Any:
    return HANDOFF.Case(body=body, media_type="application/json")


def _action_case(body: Any) -> Any:
    return ACTION.Case(body=body, media_type="application/json")


CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    handoff_contract,
]
ACTION_CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    action_contract,
]
OUT = "9999-12-31T23:59:59+00:00"


@settings(max_examples=60, suppress_health_check=list(HealthCheck))
@given(case=CASES, media_type=MEDIA_TYPES)
@example(case=_case({"leads": [lead("C-1"), lead("C-1")]}), media_type="application/json")
@example(case=_case({"leads": [lead("C-2")], "extra": 1}), media_type="application/json")
@example(case=_case({**lead("C-3"), "extra": 1}), media_type="application/json")
@example(
    case=_case({"leads": [lead("C-4"), lead("C-5", handed_off_at=OUT)]}),
    media_type="application/json",
)
@example(case=_case(lead("C-6")), media_type="text/plain")
def test_every_handoff_the_schema_allows_or_forbids_is_answered_as_documented(
    bot: Bot, case: Any, media_type: str
) -> None:
    response = _post(bot, "/hooks/handoff", case, media_type)
    case.validate_response(response, checks=CHECKS)
    assert response.status_code in (202, 400, 415), response.text[:300]


def _post(bot: Bot, path: str, case: Any, media_type: str) -> Any:
    # the exact bytes signed are the bytes sent
    if isinstance(case.body, bytes):
        raw = case.body
    elif isinstance(case.body, str | int | float | bool | list | dict) or case.body is None:
        raw = json.dumps(case.body).encode()
    else:  # no body at all
        raw = b""
    headers = sign_webhook(raw, int(bot.clock.now().timestamp()))
    headers["Content-Type"] = media_type
    return bot.http.post(f"{bot.url}{path}", content=raw, headers=headers)


@settings(max_examples=60, suppress_health_check=list(HealthCheck))
@given(case=ACTION_CASES, media_type=MEDIA_TYPES)
@example(case=_action_case(action("C-1")), media_type="application/json")
@example(
    case=_action_case({"actions": [action("C-1"), action("C-2", "comment"), action("C-1")]}),
    media_type="application/json",
)
@example(
    case=_action_case(
        {"actions": [action("C-3", "rejected", reason="duplicate"), action("NOBODY")]}
    ),
    media_type="application/json",
)
@example(case=_action_case({"actions": [action("C-1")], "extra": 1}), media_type="application/json")
@example(case=_action_case({**action("C-2"), "extra": 1}), media_type="application/json")
@example(case=_action_case({**action("C-2"), "at": OUT}), media_type="application/json")
@example(
    case=_action_case(action("C-2", at=HANDED_OFF - timedelta(seconds=1))),
    media_type="application/json",
)
@example(case=_action_case(action("C-3", "Contacted:Email")), media_type="application/json")
@example(case=_action_case(action("C-3")), media_type="text/plain")
def test_every_action_the_schema_allows_or_forbids_is_answered_as_documented(
    bot: Bot, case: Any, media_type: str
) -> None:
    assert bot.handoff({"leads": [lead(e) for e in KNOWN_LEADS]}).status_code == 202
    response = _post(bot, "/hooks/action", case, media_type)
    case.validate_response(response, checks=ACTION_CHECKS)
    assert response.status_code in (202, 400, 415), response.text[:300]
