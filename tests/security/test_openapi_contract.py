"""schemathesis generates handoffs from docs/openapi.yml, positive and negative; each is
signed over its exact bytes and posted to the running bot, which must never answer 5xx
and must answer every request in the shape the document promises."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.conftest import Bot, sign_webhook

SPEC = Path(__file__).resolve().parents[2] / "docs" / "openapi.yml"
HANDOFF = schemathesis.openapi.from_path(SPEC)["/hooks/handoff"]["POST"]
CASES = st.one_of(
    HANDOFF.as_strategy(GenerationMode.POSITIVE), HANDOFF.as_strategy(GenerationMode.NEGATIVE)
)
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]


@settings(max_examples=60, suppress_health_check=list(HealthCheck))
@given(case=CASES)
def test_every_handoff_the_schema_allows_or_forbids_is_answered_as_documented(
    bot: Bot, case: Any
) -> None:
    # the exact bytes signed are the bytes sent
    if isinstance(case.body, bytes):
        raw = case.body
    elif isinstance(case.body, str | int | float | bool | list | dict) or case.body is None:
        raw = json.dumps(case.body).encode()
    else:  # no body at all
        raw = b""
    headers = sign_webhook(raw, int(bot.clock.now().timestamp()))
    response = bot.http.post(f"{bot.url}/hooks/handoff", content=raw, headers=headers)
    case.validate_response(response, checks=CHECKS)
    assert response.status_code in (202, 400), response.text[:300]
