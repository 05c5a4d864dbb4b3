"""The Slack readiness check on its own: retried with backoff until it passes, steps
that passed never run again, a refused token fatal, the thread gone after stop()."""

from __future__ import annotations

import threading
from urllib.error import URLError

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse
from slack_sdk.web.client import WebClient

from bot.slack.readiness import SlackReadiness, SlackTokenError


def _slack_error(code: str) -> SlackApiError:
    response = SlackResponse(
        client=WebClient(),
        http_verb="POST",
        api_url="http://127.0.0.1:1/api/auth.test",
        req_args={},
        data={"ok": False, "error": code},
        headers={},
        status_code=200,
    )
    return SlackApiError(code, response)  # type: ignore[no-untyped-call]  # untyped in slack_sdk


class Flaky:
    """Fails `times` times (Slack unreachable), then answers."""

    def __init__(self, times: int, error: Exception | None = None) -> None:
        self.left = times
        self.calls = 0
        self.error = error or URLError("[Errno 111] Connection refused")

    def __call__(self) -> str:
        self.calls += 1
        if self.left:
            self.left -= 1
            raise self.error
        return "answered"


def test_unreachable_is_retried_in_the_background_until_it_passes() -> None:
    token, socket = Flaky(3), Flaky(2)
    ready = threading.Event()
    check = SlackReadiness(
        [("SLACK_BOT_TOKEN", token), ("SLACK_APP_TOKEN", socket)],
        on_ready=ready.set,
        base=0.01,
        cap=0.02,
    )
    check.start()  # the first try fails: no exception, a thread goes on
    assert not check.ready
    try:
        assert ready.wait(10)
        assert check.state == "ok"
        assert (token.calls, socket.calls) == (4, 3)  # a step that passed is not run again
        assert check.results == {"SLACK_BOT_TOKEN": "answered", "SLACK_APP_TOKEN": "answered"}
    finally:
        check.stop()


def test_a_refused_token_at_start_raises_one_line_naming_the_variable() -> None:
    check = SlackReadiness([("SLACK_BOT_TOKEN", Flaky(1, _slack_error("token_revoked")))])
    with pytest.raises(SlackTokenError) as caught:
        check.start()
    assert str(caught.value) == (
        "Slack refused SLACK_BOT_TOKEN (token_revoked): set it to a valid token of this app "
        "and start again"
    )


def test_a_refused_token_found_in_the_background_is_fatal() -> None:
    answers = iter([URLError("refused"), _slack_error("invalid_auth")])

    def auth_test() -> None:
        raise next(answers)

    fatal = threading.Event()
    check = SlackReadiness(
        [("SLACK_BOT_TOKEN", auth_test)], on_fatal=lambda _err: fatal.set(), base=0.01
    )
    check.start()
    try:
        assert fatal.wait(10)
        assert "SLACK_BOT_TOKEN (invalid_auth)" in str(check.fatal)
        assert check.state == "unreachable"
    finally:
        check.stop()


def test_other_slack_errors_are_retried_not_fatal() -> None:
    ready = threading.Event()
    check = SlackReadiness(
        [("SLACK_BOT_TOKEN", Flaky(2, _slack_error("service_unavailable")))],
        on_ready=ready.set,
        base=0.01,
    )
    check.start()
    try:
        assert ready.wait(10)
        assert check.fatal is None
    finally:
        check.stop()


def test_stop_ends_the_background_thread() -> None:
    check = SlackReadiness([("SLACK_BOT_TOKEN", Flaky(10**6))], base=0.01, cap=0.01)
    check.start()
    names = {t.name for t in threading.enumerate()}
    assert "slack-readiness" in names
    check.stop()
    assert "slack-readiness" not in {t.name for t in threading.enumerate()}
    assert check.state == "unreachable"
