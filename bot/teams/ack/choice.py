"""What the one-click form asks to record, read back from its fields."""

from __future__ import annotations

from dataclasses import dataclass

from bot.app.clicks import SNOOZE_MINUTES
from bot.config import Settings
from metrics.model import ActionKind, ContactChannel


@dataclass(frozen=True)
class Choice:
    kind: ActionKind
    channel: ContactChannel | None = None
    reason: str | None = None
    minutes: int | None = None

    @property
    def code(self) -> str:
        """The choice in the idempotency key: the same button twice is the same action."""
        detail = self.channel or self.reason or self.minutes
        return f"{self.kind.value}:{detail}"


class ChoiceError(Exception):
    """A form that asks for nothing we offer; `key` is the message saying so."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def read_choice(form: dict[str, str], settings: Settings) -> Choice:
    """The pressed button (`choice`) and, for a reject, the reason picked beside it."""
    what, _, detail = form.get("choice", "").partition(":")
    if what == "contacted" and detail in {c.value for c in ContactChannel}:
        return Choice(ActionKind.CONTACTED, channel=ContactChannel(detail))
    if what == "reject":
        reason = settings.reason(form.get("reason", "")) if form.get("reason") else None
        if reason is None:
            raise ChoiceError("reject.choose")
        return Choice(ActionKind.REJECTED, reason=reason.code)
    if what == "snooze" and detail.isdigit() and int(detail) in SNOOZE_MINUTES:
        return Choice(ActionKind.SNOOZED, minutes=int(detail))
    raise ChoiceError("ack.bad_choice")
