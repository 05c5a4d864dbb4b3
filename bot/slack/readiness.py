"""Whether Slack can be used yet: the bot token checked with `auth.test` (and, in Socket
Mode, the socket opened) before Slack's requests are served and its messages sent.

A Slack outage must not take the rest of the bot down with it: the handoff webhook,
Teams and the one-click pages do not need Slack. So the first check runs at start and,
when Slack cannot be reached, the server starts all the same and the check goes on in
the background with exponential backoff until it passes. Meanwhile Slack's requests are
answered 503 with Retry-After (Slack retries events; a person sees "try again") rather
than half-served by listeners whose every Web API call would fail, and lead cards wait
in the outbox without spending their tries.

A token Slack refuses is another matter: no retry mends it, so it is fatal, at start or
whenever the background check first gets an answer, with one line naming the variable.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from typing import Literal

from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)

# what Slack answers for a token that will never work, however often it is sent
BAD_TOKEN = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "account_inactive",
        "not_allowed_token_type",
    }
)
BACKOFF_BASE = 1.0  # seconds before the second check
BACKOFF_CAP = 30.0  # and at most this long between two checks

Step = tuple[str, Callable[[], object]]  # the variable it depends on, and the call


class SlackTokenError(Exception):
    """Slack refused a token: one line naming the variable and Slack's error code."""


class SlackReadiness:
    """Runs `steps` in order until all have passed, each at most once after it passes.

    `start()` tries at once; if Slack cannot be reached, a thread owned by this object
    tries again with exponential backoff (jittered, capped) until it can, then calls
    `on_ready` (once, on that thread). A refused token stops the trying: `start()` raises
    SlackTokenError, or the thread sets `fatal` and calls `on_fatal`."""

    def __init__(
        self,
        steps: Sequence[Step],
        *,
        on_ready: Callable[[], None] = lambda: None,
        on_fatal: Callable[[SlackTokenError], None] = lambda _err: None,
        base: float = BACKOFF_BASE,
        cap: float = BACKOFF_CAP,
    ) -> None:
        self.steps = list(steps)
        self.results: dict[str, object] = {}  # what each step's call returned, by variable
        self.on_ready = on_ready
        self.on_fatal = on_fatal
        self.base = base
        self.cap = cap
        self.fatal: SlackTokenError | None = None
        self._passed = 0
        self._ready = threading.Event()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_try = 0.0

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    @property
    def state(self) -> Literal["ok", "unreachable"]:
        return "ok" if self.ready else "unreachable"

    def wait_ready(self, timeout: float) -> bool:
        return self._ready.wait(timeout)

    def attempt(self) -> str | None:
        """Runs the steps not passed yet: None when all have, else why not (one line,
        never a token). Raises SlackTokenError when Slack refuses a token."""
        self._last_try = time.monotonic()
        while self._passed < len(self.steps):
            variable, call = self.steps[self._passed]
            try:
                self.results[variable] = call()
            except SlackApiError as err:
                code = str(err.response.get("error") or f"HTTP {err.response.status_code}")
                if code in BAD_TOKEN:
                    raise SlackTokenError(
                        f"Slack refused {variable} ({code}): set it to a valid token "
                        "of this app and start again"
                    ) from None
                return f"Slack answered {code}"
            except Exception as err:  # unreachable, whichever way: refused, timed out, 5xx
                return f"{type(err).__name__}: {err}"
            self._passed += 1
        self._ready.set()
        return None

    def start(self) -> None:
        why = self.attempt()  # a refused token raises here, before anything is served
        if why is None:
            self.on_ready()
            return
        log.warning(
            "Slack cannot be reached (%s): serving everything else; Slack's requests get 503 "
            "and its messages wait in the outbox while the token is checked again in the "
            "background",
            why,
        )
        self._thread = threading.Thread(target=self._run, name="slack-readiness", daemon=True)
        self._thread.start()

    def nudge(self) -> None:
        """Check again soon: Slack just sent us a request, so it is likely back."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=30)

    def _run(self) -> None:
        delay = self.base
        while not self._stop.is_set():
            self._wake.wait(delay * random.uniform(0.8, 1.2))  # noqa: S311 (jitter)
            self._wake.clear()
            # a nudge comes with each Slack request: never more than a check a `base`
            spacing = self._last_try + self.base - time.monotonic()
            if spacing > 0 and self._stop.wait(spacing):
                return
            if self._stop.is_set():
                return
            try:
                why = self.attempt()
            except SlackTokenError as err:  # the process ends; `serve` prints it once
                self.fatal = err
                self.on_fatal(err)
                return
            if why is None:
                log.info("Slack is reachable: serving Slack's requests and sending its messages")
                self.on_ready()
                return
            log.info("Slack still cannot be reached (%s)", why)
            delay = min(delay * 2, self.cap)
