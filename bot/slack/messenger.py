"""The Slack Web API, as the bot uses it. Built around one `WebClient` whose base URL
comes from `SLACK_API_URL` (tests point it at a local server that answers like Slack).

slack_sdk retries only connection errors by default; we add its own handlers for 429
(honouring Retry-After) and 500/503, which do the job well, so nothing is reinvented.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import RetryHandler
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

DEFAULT_API_URL = "https://slack.com/api/"


def make_client(
    token: str, base_url: str | None = None, timeout: int = 10, *, interactive: bool = True
) -> WebClient:
    """`interactive`: for listeners, where a person waits and a short retry inside the
    call is right. The outbox's client (interactive=False) retries only a dropped
    connection once: it owns 429 and 5xx itself, with its own clock and backoff."""
    handlers: list[RetryHandler] = [ConnectionErrorRetryHandler(max_retry_count=1)]
    if interactive:
        handlers += [
            RateLimitErrorRetryHandler(max_retry_count=3),
            ServerErrorRetryHandler(max_retry_count=2),
        ]
    return WebClient(
        token=token, base_url=base_url or DEFAULT_API_URL, timeout=timeout, retry_handlers=handlers
    )


@dataclass(frozen=True)
class SlackUser:
    id: str
    email: str | None
    timezone: str | None
    name: str | None


def _user(raw: dict[str, Any]) -> SlackUser:
    profile = raw.get("profile") or {}
    return SlackUser(
        id=raw["id"],
        email=(profile.get("email") or "").lower() or None,
        timezone=raw.get("tz"),
        name=profile.get("display_name") or profile.get("real_name") or raw.get("name"),
    )


class SlackMessenger:
    def __init__(self, client: WebClient) -> None:
        self.client = client

    def user_by_email(self, email: str) -> SlackUser | None:
        try:
            response = self.client.users_lookupByEmail(email=email)
        except SlackApiError as err:
            if err.response.get("error") == "users_not_found":
                return None
            raise
        return _user(response["user"])

    def user_by_id(self, user_id: str) -> SlackUser | None:
        try:
            response = self.client.users_info(user=user_id)
        except SlackApiError as err:
            if err.response.get("error") == "user_not_found":
                return None
            raise
        return _user(response["user"])

    def post(
        self,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
        key: str | None = None,
    ) -> tuple[str, str]:
        """Posts a message; returns (channel, ts). A user id as channel means the bot's DM
        with that user, and the channel returned is the DM's own id. `key`, the outbox
        key, rides along as message metadata: a message sent twice after a crash can be
        told apart in Slack from two messages."""
        metadata = {"event_type": "ignorerate_message", "event_payload": {"key": key}}
        response = self.client.chat_postMessage(
            channel=channel,
            text=text,
            blocks=blocks,
            thread_ts=thread_ts,
            metadata=metadata if key else None,
        )
        return str(response["channel"]), str(response["ts"])

    def update(self, channel: str, ts: str, text: str, blocks: list[dict[str, Any]]) -> None:
        self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)

    def ephemeral(self, channel: str, user: str, text: str) -> None:
        self.client.chat_postEphemeral(channel=channel, user=user, text=text)

    def open_view(self, trigger_id: str, view: dict[str, Any]) -> None:
        self.client.views_open(trigger_id=trigger_id, view=view)

    def publish_home(self, user_id: str, view: dict[str, Any]) -> None:
        self.client.views_publish(user_id=user_id, view=view)

    def upload_png(
        self,
        channel: str,
        filename: str,
        content: bytes,
        title: str,
        initial_comment: str | None = None,
    ) -> str:
        """Shares a PNG in `channel` (files.getUploadURLExternal, the upload itself, then
        files.completeUploadExternal, as slack_sdk's files_upload_v2 does); returns its id."""
        response = self.client.files_upload_v2(
            channel=channel,
            filename=filename,
            content=content,
            title=title,
            initial_comment=initial_comment,
        )
        return str(response["file"]["id"])
