"""Errors the domain raises. Each carries a message a person can act on."""

from __future__ import annotations


class MetricsError(ValueError):
    """Base class: input that the counting rules cannot accept."""


class PeriodError(MetricsError):
    """A period text that is none of the accepted forms."""

    def __init__(self, text: str, accepted: tuple[str, ...], detail: str | None = None) -> None:
        self.text = text
        self.accepted = accepted
        self.detail = detail
        reason = f" ({detail})" if detail else ""
        super().__init__(f"unknown period {text!r}{reason}; accepted forms: " + ", ".join(accepted))


class CalendarError(MetricsError):
    """Business hours or holidays that describe no usable calendar."""
