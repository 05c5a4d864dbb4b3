"""Posting a card to a Teams channel through its Workflows webhook.

pymsteams carries the request: its synchronous `send()` accepts any 2xx (Workflows
answers 202 with an empty body) and keeps the answer in `last_http_response`. Its async
client expects the retired connectors' "200 + 1" and is not used.

A webhook URL's query string is its signature, a credential: it is never logged, nor put
in an error message; the host names which webhook it was.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import pymsteams

from bot.teams.cards import Card, envelope

log = logging.getLogger(__name__)
DEFAULT_TIMEOUT = 10.0


def host_of(url: str) -> str:
    """What may be said about a webhook URL: its host (and port)."""
    return urlsplit(url).netloc or "?"


class TeamsSendError(Exception):
    """Teams did not take the card. `status` None: no answer at all (refused, timed out),
    worth retrying; `retry_after` in seconds with a 429."""

    def __init__(self, message: str, status: int | None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after

    @property
    def permanent(self) -> bool:
        """A 4xx other than 408 and 429: the same card to the same URL fails again (a
        deleted workflow, a card Teams refuses)."""
        return (
            self.status is not None
            and 400 <= self.status < 500
            and self.status
            not in (
                408,
                429,
            )
        )


def _retry_after(headers: Any) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return max(1.0, float(value)) if value is not None else None
    except ValueError:
        return None


class TeamsMessenger:
    def __init__(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.timeout = timeout

    def post(self, url: str, card: Card) -> str:
        """Sends `card` to the webhook at `url`; returns a reference for the outbox row
        (Workflows answers no message id: the host and status are all there is)."""
        host = host_of(url)
        message = pymsteams.connectorcard(url, http_timeout=self.timeout)
        message.payload = envelope(card)
        try:
            message.send()
        except pymsteams.TeamsWebhookException:
            response = message.last_http_response
            status = int(response.status_code)
            retry = _retry_after(response.headers) if status == 429 else None
            raise TeamsSendError(
                f"Teams webhook at {host} answered {status}", status, retry
            ) from None
        except OSError as err:
            # requests' errors are OSErrors; their text names the URL, query included:
            # say only what kind
            raise TeamsSendError(
                f"Teams webhook at {host} unreachable: {type(err).__name__}", None
            ) from None
        status = int(message.last_http_response.status_code)
        log.debug("card posted to the Teams webhook at %s (%s)", host, status)
        return f"teams:{host}/{status}"
